"""The portal's pages, in one list: what every other part reads about a page. The router (app.py) builds
its navigation and menu from it, core.auth.access decides from it who may open a page, core.explainer.stories checks a
story step's page and link parameters against it, core.explainer.tour points at its pages, and the tests walk it
(every page x every role). No Streamlit here: the page's module (pages/<module>.py, with a `render()`)
is named, not imported.

Adding a page: one entry below and one module in pages/ (CONTRIBUTING.md walks through it).

Theme pages are not listed: there is one per theme of the chosen dataset's codebook, each taking
THEME_PARAMS, drawn by pages/themes.py.
"""

from __future__ import annotations

from dataclasses import dataclass

# Menu sections, in the menu's order; the chosen dataset's theme pages come after the first one
# (message keys "nav.section.<id>").
SECTIONS = ("explore", "research", "admin")


@dataclass(frozen=True)
class Page:
    id: str  # its URL path ("overview" is served at "/") and the id a story step or the tour names
    module: str  # pages/<module>.py, which has render()
    title: str  # message key of its name in the menu
    heading: str  # message key of its title (the page's one h1)
    icon: str
    section: str  # one of SECTIONS
    role: str | None = None  # the least role that may open it (core.auth.access.ROLES); None: public
    params: tuple[str, ...] = ()  # its own link parameters: kept in the link while it is open

    @property
    def default(self) -> bool:
        return self is PAGES[0]


PAGES: tuple[Page, ...] = (
    Page("overview", "overview", "nav.overview", "app.title", ":material/public:", "explore"),
    Page("map", "map", "nav.map", "map.title", ":material/map:", "explore",
         params=("flow", "layers", "incident", "perp")),
    Page("crosstab", "crosstab", "nav.crosstab", "crosstab.title", ":material/table_chart:", "explore",
         params=("rows", "cols", "filt", "fcat", "measure", "value", "view")),
    Page("stories", "stories", "nav.stories", "stories.title", ":material/auto_stories:", "explore"),
    Page("releases", "releases", "nav.releases", "nav.releases", ":material/history:", "explore"),
    Page("about", "about", "nav.about", "nav.about", ":material/menu_book:", "explore"),
    Page("access", "access", "nav.access", "access.title", ":material/how_to_reg:", "research"),
    Page("microdata", "microdata", "nav.microdata", "nav.microdata", ":material/table_rows:", "research",
         role="researcher"),
    Page("admin", "admin", "nav.admin", "nav.admin", ":material/manage_accounts:", "admin", role="admin"),
)
BY_ID = {page.id: page for page in PAGES}

# Every theme page's own link parameters: the breakdown, and one question alone.
THEME_PARAMS = ("by", "q")
THEME_ICON = ":material/bar_chart:"
# The map's layers (pages/map.py, core/figures/map_layers.py), and those only researchers may draw
# (finer than the public granularity, rule 8).
MAP_LAYERS = ("flows", "routes", "incidents", "interviews", "towns")
RESEARCHER_LAYERS = ("towns",)
# The crosstab's views of a table (pages/crosstab.py).
CROSSTAB_VIEWS = ("table", "heatmap", "stacked", "grouped")


def page(page_id: str) -> Page:
    """The page with this id; KeyError for one that is not a listed page (a theme page, a typo)."""
    return BY_ID[page_id]


def link_params(page_id: str) -> tuple[str, ...]:
    """The link parameters of the page with this id: a listed page's own, else a theme page's."""
    return BY_ID[page_id].params if page_id in BY_ID else THEME_PARAMS


def own_params() -> tuple[str, ...]:
    """Every link parameter that belongs to some page (listed or theme): not a filter, not unknown."""
    return tuple(dict.fromkeys(p for page in PAGES for p in (*page.params, *THEME_PARAMS)))
