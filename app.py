"""The router: page config, language, sign-in, the shared filters, and the navigation of the pages the
caller's role may open (a page left out is not routable at all). Pages draw; this file decides."""

import streamlit as st

from components import auth, shell
from components.filter_bar import filter_bar
from core.access import can_open, tier_for
from core.i18n import t
from core.settings import ROOT, MissingSecret
from core.store import ensure_built
from pages import about, admin, crosstab, microdata, overview, themes
from pages import map as map_page

# (page id, module, icon, menu section); the page id is also its URL path.
PAGES = [
    ("overview", overview, ":material/public:", "explore"),
    ("map", map_page, ":material/map:", "explore"),
    ("crosstab", crosstab, ":material/table_chart:", "explore"),
    ("about", about, ":material/menu_book:", "explore"),
    ("microdata", microdata, ":material/table_rows:", "research"),
    ("admin", admin, ":material/manage_accounts:", "admin"),
]
TITLES = {"overview": "nav.overview", "map": "nav.map", "crosstab": "nav.crosstab", "about": "nav.about", "microdata": "nav.microdata", "admin": "nav.admin"}
# A page's own link parameters (its module's URL_PARAMS): not reported as unknown, kept while it is open.
PAGE_PARAMS = {page_id: getattr(module, "URL_PARAMS", ()) for page_id, module, _, _ in PAGES}

lang = shell.choose_language()
st.set_page_config(page_title=t("app.title", lang), page_icon=str(ROOT / "assets" / "favicon.png"), layout="wide")

with st.spinner(t("app.building_data", lang)):
    st.cache_resource(show_spinner=False)(ensure_built)()  # once per process: files, not sessions

session = auth.current_session()
role = session.role if session else None
shell.language_picker(lang)
try:
    filters = filter_bar(lang, tier_for(role),
                         ignore=[p for params in [*PAGE_PARAMS.values(), themes.URL_PARAMS] for p in params])
except MissingSecret:
    st.error(t("app.not_configured", lang))
    st.stop()

# After "explore", the chosen dataset's theme pages, from its codebook, in a section named after it.
sections: dict[str, list] = {t("nav.section.explore", lang): [],
                             t(f"dataset.{filters.dataset}", lang): themes.pages(filters.dataset, lang)}
for page_id, module, icon, section in PAGES:
    if can_open(page_id, role):
        sections.setdefault(t(f"nav.section.{section}", lang), []).append(
            st.Page(module.render, title=t(TITLES[page_id], lang), icon=icon, url_path=page_id,
                    default=page_id == "overview"))
page = st.navigation(sections, expanded=True)  # every page in view: no "View more" fold

shell.write_url(lang, filters, keep=PAGE_PARAMS.get(page.url_path or "overview", themes.URL_PARAMS))
auth.sign_in_panel(lang)
shell.set_context(shell.PageContext(lang, session, filters))
shell.show_url_notes(lang, filters)
page.run()
