"""The router: page config, language, sign-in, the shared filters, and the navigation of the pages the
caller's role may open (a page left out is not routable at all). Pages draw; this file decides."""

import streamlit as st

from components import auth, present, shell, story, tour
from components.filter_bar import filter_bar
from core.access import can_open, tier_for
from core.codebook import dataset_name
from core.i18n import t
from core.settings import ROOT, MissingSecret
from core.store import ensure_built
from core.stories import EXPLAINER_PARAMS
from pages import about, admin, crosstab, microdata, overview, stories, themes
from pages import map as map_page

# (page id, module, icon, menu section); the page id is also its URL path.
PAGES = [
    ("overview", overview, ":material/public:", "explore"),
    ("map", map_page, ":material/map:", "explore"),
    ("crosstab", crosstab, ":material/table_chart:", "explore"),
    ("stories", stories, ":material/auto_stories:", "explore"),
    ("about", about, ":material/menu_book:", "explore"),
    ("microdata", microdata, ":material/table_rows:", "research"),
    ("admin", admin, ":material/manage_accounts:", "admin"),
]
TITLES = {"overview": "nav.overview", "map": "nav.map", "crosstab": "nav.crosstab", "stories": "nav.stories",
          "about": "nav.about", "microdata": "nav.microdata", "admin": "nav.admin"}
# A page's own link parameters (its module's URL_PARAMS): not reported as unknown, kept while it is open.
PAGE_PARAMS = {page_id: getattr(module, "URL_PARAMS", ()) for page_id, module, _, _ in PAGES}

lang = shell.choose_language()
st.set_page_config(page_title=t("app.title", lang), page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")

with st.spinner(t("app.building_data", lang)):
    st.cache_resource(show_spinner=False)(ensure_built)()  # once per process: files, not sessions

session = auth.current_session()
role = session.role if session else None
shell.language_picker(lang)
tour.start_button(lang)
try:
    filters = filter_bar(lang, tier_for(role), ignore=[p for params in [*PAGE_PARAMS.values(), themes.URL_PARAMS,
                                                                        EXPLAINER_PARAMS] for p in params])
except MissingSecret:
    st.error(t("app.not_configured", lang))
    st.stop()

# After "explore", the chosen dataset's theme pages, from its codebook, in a section named after it.
theme_pages = themes.pages(filters.dataset, lang)
sections: dict[str, list] = {t("nav.section.explore", lang): [], dataset_name(filters.dataset, lang): theme_pages}
routable = {p.url_path: p for p in theme_pages}
for page_id, module, icon, section in PAGES:
    if can_open(page_id, role):
        routable[page_id] = st.Page(module.render, title=t(TITLES[page_id], lang), icon=icon, url_path=page_id,
                                    default=page_id == "overview")
        sections.setdefault(t(f"nav.section.{section}", lang), []).append(routable[page_id])
page = st.navigation(sections, expanded=True)  # every page in view: no "View more" fold
page_id = page.url_path or "overview"

shell.follow(page_id, routable)  # a story's or the tour's move to another page
shell.write_url(lang, filters, keep=(*PAGE_PARAMS.get(page_id, themes.URL_PARAMS), *EXPLAINER_PARAMS))
auth.sign_in_panel(lang)
ctx = shell.PageContext(lang, session, filters)
shell.set_context(ctx)
shell.share_link(lang, page.url_path)
present.switch(lang)
presenting = present.apply(lang)
shell.show_url_notes(lang, filters)
if (tour_step := tour.current(role)) is not None:
    tour.panel(ctx, tour_step)
if (step := story.current()) is not None and presenting:
    text, main = st.columns([1, 2.3], gap="large")  # the story's text beside its chart
    with text:
        story.panel(ctx, step, presenting=True)
    with main:
        page.run()
else:
    if step is not None:
        story.panel(ctx, step, presenting=False)
    page.run()
