"""The router: page config, language, sign-in, the shared filters, and the navigation of the pages the
caller's role may open (the URL of any other page runs only its sign-in request, never its module).
Pages draw; this file decides."""

import importlib
from functools import partial

import streamlit as st

from components import auth, grants, present, releases, shell, story, style, tour
from components.filter_bar import dataset_asked, filter_bar
from core.auth.access import can_open
from core.data.engine import dataset_name
from core.data.releases import RELEASE_PARAM
from core.data.store import ensure_built
from core.explainer.stories import EXPLAINER_PARAMS
from core.i18n import t
from core.pages import PAGES, link_params, own_params
from core.settings import ROOT, MissingSecret
from pages import themes

if shell.folder_mode():  # a freshly started server's first visit: see shell.hand_to_router
    shell.hand_to_router()
lang = shell.choose_language()
st.set_page_config(page_title=t("app.title", lang), page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")
style.apply()
menu = st.sidebar.container(key="menu")  # the first thing in the sidebar, filled once the pages are known

with st.spinner(t("app.building_data", lang)):
    st.cache_resource(show_spinner=False)(ensure_built)()  # once per process: files, not sessions

session = auth.current_session()
role = session.role if session else None
shell.language_picker(lang)
tour.start_button(lang)
pinned = releases.pin_for_run()  # a pinned link's release (?release=), read before any data
# A researcher's tier is per dataset (core.auth.grants): the filter bar is drawn at the tier of the
# dataset it will show.
asked = dataset_asked()
access = grants.current_access(session, asked)
try:
    filters = filter_bar(lang, access.tier, ignore=[*own_params(), *EXPLAINER_PARAMS, RELEASE_PARAM])
except MissingSecret:
    st.error(t("app.not_configured", lang))
    st.stop()
if filters.dataset != asked:  # not expected (the bar shows the dataset asked): never drawn at the wrong tier
    access, drawn_at = grants.current_access(session, filters.dataset), access.tier
    if access.tier != drawn_at:
        st.rerun()

# After "explore", the chosen dataset's theme pages, from its codebook, in a section named after it.
theme_pages = themes.pages(filters.dataset, lang)
sections: dict[str, list] = {t("nav.section.explore", lang): [], dataset_name(filters.dataset, lang): theme_pages}
routable = {p.url_path: p for p in theme_pages}
restricted = {}  # the URLs of pages this role may not open: they say what role is needed, and offer sign-in
for spec in PAGES:  # core/pages.py: the pages this role may open, in their sections
    if can_open(spec.id, role):
        module = importlib.import_module(f"pages.{spec.module}")
        routable[spec.id] = st.Page(module.render, title=t(spec.title, lang), icon=spec.icon, url_path=spec.id,
                                    default=spec.default)
        sections.setdefault(t(f"nav.section.{spec.section}", lang), []).append(routable[spec.id])
    else:
        restricted[spec.id] = st.Page(partial(auth.restricted_page, t(spec.heading, lang), spec.role, lang),
                                      title=t(spec.title, lang), url_path=spec.id, visibility="hidden")
# Streamlit's own menu is off (client.showSidebarNavigation in .streamlit/config.toml, so that a fresh
# server never shows its list of the files in pages/): the router draws the menu.
page = st.navigation({**sections, "": list(restricted.values())}, position="hidden")
page_id = page.url_path or PAGES[0].id
shell.menu(menu, sections)
shell.set_pages(routable)
shell.document_meta(lang, page.title)

shell.follow(page_id, routable)  # a story's or the tour's move to another page
shell.write_url(lang, filters, keep=(*link_params(page_id), *EXPLAINER_PARAMS))
releases.keep_in_url(pinned)
auth.sign_in_panel(lang, form=page_id not in restricted)
ctx = shell.PageContext(lang, session, filters, access, pins=((pinned.dataset, pinned.version),) if pinned else ())
shell.set_context(ctx)
share = st.sidebar.container(key="share_link")  # filled last: the link of the view the page ends with
present.switch(lang)
presenting = present.apply(lang)
shell.show_url_notes(lang, filters)
releases.pinned_note(pinned, filters.dataset, lang)
if (tour_step := tour.current(role)) is not None:
    tour.panel(ctx, tour_step)
grants.access_notice(lang, access, filters.dataset, session)
try:
    if grants.terms_gate(lang, session):  # a new grant's terms of use come before any page
        pass
    elif (step := story.current()) is not None and presenting:
        text, main = st.columns([1, 2.3], gap="large")  # the story's text beside its chart
        with text:
            story.panel(ctx, step, presenting=True)
        with main:
            page.run()
    else:
        if step is not None:
            story.panel(ctx, step, presenting=False)
        page.run()
finally:
    # After the page: a page writes its own choices into the link while it runs (shell.put_in_url).
    shell.share_link(share, lang, page.url_path, filters.dataset)
