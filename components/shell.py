"""What the router decides once per rerun and every page reads: the language, the signed-in session,
the data tier and the shared filters (`PageContext`), and the link that carries them (the URL).

The URL and the sidebar's widgets are kept in step one way at a time: on a browser session's first run
the link's `?lang=` and filter parameters seed the widgets (what cannot be used is dropped, and the page
says so); on every later run the widgets are the truth and the URL is rewritten from them, which also
puts the parameters back after a page switch (Streamlit's navigation clears them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import streamlit as st

from core.auth.access import can_open, tier_for
from core.auth.grants import Access
from core.auth.sessions import Session
from core.data import versions
from core.i18n import language_name, negotiate_language, t
from core.query.filters import FilterState
from core.settings import LANGUAGES

LANG_PARAM = "lang"
# Parameters that Streamlit itself reads: never reported as unknown, never rewritten.
STREAMLIT_PARAMS = ("embed", "embed_options")
_CONTEXT = "portal_context"
_SEEDED = "portal_url_seeded"
_NOTES = "portal_url_notes"
_URL_KEYS = "portal_url_keys"  # the state keys a page seeded from the link (read again by a guided move)
_HANDED_OVER = "portal_handed_over"  # hand_to_router ran in this session
_GOTO = "portal_goto"  # a guided move (story, tour) asked for by a callback: (page id, link parameters)
_PAGES = "portal_pages"  # page id -> st.Page of this rerun's navigation (for links to a page)
LANG_KEY = "ui_lang"
SHARE_KEY = "share_open"  # "Share this view" is open


@dataclass(frozen=True)
class PageContext:
    lang: str
    session: Session | None
    filters: FilterState
    access: Access | None = None  # the caller's access to the chosen dataset (core.auth.grants)
    # The releases pinned for this session's runs (a pinned link, components.releases.pin_for_run):
    # (dataset, version) pairs, pinned again by `context()` for a fragment's run (below).
    pins: tuple[tuple[str, str | None], ...] = ()

    @property
    def role(self) -> str | None:
        return self.session.role if self.session else None

    @property
    def tier(self) -> str:
        """The data tier of the chosen dataset: a researcher's is "researcher" only under an unexpired
        grant of it (components.grants.current_access), the public tier otherwise."""
        return self.access.tier if self.access is not None else tier_for(self.role)


def set_context(ctx: PageContext) -> None:
    st.session_state[_CONTEXT] = ctx


def context(page: str | None = None) -> PageContext | None:
    """The context the router set for this rerun, for the page `page`. None when the page must draw
    nothing: run without the router, or (internal pages check the role again) not open to this role,
    which is then told so.

    It also pins the context's releases (core.data.versions.pin) for the code that runs now: a fragment's
    own run (st.fragment: the crosstab builder, the map) does not run the router, and when the session
    was idle Streamlit runs it in a new thread, where nothing is pinned: a pinned link's crosstab showed
    the current release's figures after its first choice."""
    ctx = st.session_state.get(_CONTEXT)
    if ctx is not None:
        versions.set_pins(dict(ctx.pins))
    if ctx is not None and page is not None and not can_open(page, ctx.role):
        st.error(t("auth.forbidden", ctx.lang))
        return None
    return ctx


def url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def first_run() -> bool:
    """True on the first run of a browser session: the only time the link is read."""
    return _SEEDED not in st.session_state


def choose_language() -> str:
    """The language of this rerun: the picker's value, seeded on the first run from `?lang=`, else the
    browser's locale, else English. An unsupported `?lang=` is dropped with a note."""
    s = st.session_state
    if LANG_KEY not in s:
        asked = st.query_params.get(LANG_PARAM)
        s[LANG_KEY] = negotiate_language(asked, st.context.locale)
        if asked and asked != s[LANG_KEY]:
            add_notes([(LANG_PARAM, asked)])
    return s[LANG_KEY]


def language_picker(lang: str) -> None:
    st.sidebar.selectbox(t("language.label", lang), LANGUAGES, key=LANG_KEY, format_func=language_name,
                         help=t("language.help", lang))


def add_notes(dropped: list[tuple[str, str]]) -> None:
    st.session_state.setdefault(_NOTES, []).extend(dropped)


def write_url(lang: str, filters: FilterState, keep: Sequence[str] = ()) -> None:
    """Rewrite the link from the state of this rerun, on every rerun. `keep`: the current page's own
    parameters (its module's URL_PARAMS), which the page writes itself.

    Written even when the link this rerun came with already says the same: that link is the one the
    browser had when it asked for the rerun, and a run interrupted by a quicker choice may still have
    rewritten it since (a choice, then Escape, which clears a drop-down, left the link of the view
    before). The last run's link is then the browser's."""
    wanted: dict[str, list[str]] = {LANG_PARAM: [lang], **filters.to_params()}
    current = url_params()
    for name in (*STREAMLIT_PARAMS, *keep):
        if name in current:
            wanted[name] = current[name]
    st.query_params.from_dict(wanted)


def seed_from_url(param: str, key: str, options: Sequence[str], lang: str, multiple: bool = False) -> None:
    """A page's own choice (its module's URL_PARAMS) read from the link: the first time the widget
    `key` is drawn in this browser session, the link's value (all its values when `multiple`) seeds
    it; a value that is not one of `options` is dropped with a note (shown now, and by show_url_notes
    until the filters change)."""
    from_link(key)
    if key in st.session_state or param not in st.query_params:
        return
    values = st.query_params.get_all(param) if multiple else [st.query_params.get(param)]
    unknown = [(param, v) for v in values if v not in options]
    if multiple:
        st.session_state[key] = [v for v in options if v in values]
    elif not unknown:
        st.session_state[key] = values[0]
    add_notes(unknown)
    for _, value in unknown:
        st.warning(t("filters.dropped", lang, param=param, value=value), icon=":material/link_off:")


def from_link(key: str) -> None:
    """Mark the state key `key` as seeded from the link: a guided move (`go_to`) forgets it, so that
    the page reads it from the new link again."""
    st.session_state.setdefault(_URL_KEYS, set()).add(key)


def go_to(page: str, params: dict[str, list[str]]) -> None:
    """Open `page` (its id, i.e. its URL path) with exactly the view the link `params` describes:
    filters, the page's own choices, the story step or tour step. For a widget's callback: the link is
    written now, and the next run reads everything from it as on a first visit (`reread_link`), then
    moves to the page (`follow`) once the navigation for the link's dataset is built."""
    st.query_params.from_dict(params)
    st.session_state[_GOTO] = (page, params)
    reread_link()


def reread_link() -> None:
    """Forget what was seeded from the link (language, filters, pages' choices, notes): the next run
    reads the link again. The language too: in a browser, after a move on the same page the sidebar's
    language picker was seen sending its default ("en") with the click, which would win otherwise."""
    s = st.session_state
    for key in (_SEEDED, _NOTES, LANG_KEY, *s.get(_URL_KEYS, ())):
        s.pop(key, None)


def follow(current: str, pages: dict) -> None:
    """After st.navigation: carry out a move asked for by `go_to` (pages: page id -> st.Page of this
    run). A page the caller may not open is not in `pages`: the move then stays where it is."""
    move = st.session_state.pop(_GOTO, None)
    if move is None:
        return
    target, params = move
    if target != current and target in pages:
        st.switch_page(pages[target], query_params=params)


def set_pages(pages: dict) -> None:
    """The router's pages of this rerun (page id -> st.Page), for `link_to`."""
    st.session_state[_PAGES] = pages


def link_to(page: str, label: str, icon: str | None = None, where=st) -> None:
    """A link to one of the portal's pages (by id), when this visitor may open it; nothing otherwise."""
    target = st.session_state.get(_PAGES, {}).get(page)
    if target is not None:
        where.page_link(target, label=label, icon=icon)


def put_in_url(param: str, value: str | Sequence[str], default: str | Sequence[str]) -> None:
    """Write a page's own choice to the link; the default is left out, to keep links short."""
    values = [value] if isinstance(value, str) else list(value)
    if values == ([default] if isinstance(default, str) else list(default)):
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get_all(param) != values:
        st.query_params[param] = values


def origin() -> str:
    """The scheme and host the visitor used ("https://portal.example.org"), or "" when unknown."""
    if st.context.url:
        parts = urlsplit(st.context.url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ""


def share_link(where, lang: str, path: str, dataset: str) -> None:
    """"Share this view", drawn into `where` (the sidebar's slot for it): the link of what is on screen
    (page, language, filters, the page's choices, story step, presentation view), to copy. The same
    link is in the address bar. Drawn after the page has run, so that the choices the page itself
    writes into the link in this run (put_in_url) are in it: drawn before, it showed the view before
    the last choice. Then the pinned link of the view (the same, naming the release of `dataset` shown:
    it opens that release for ever) and the release's citation (components.releases).

    Its content is drawn only while it is open, by the run its opening causes: a choice inside a
    fragment (the crosstab's, the map's) reruns only the fragment and writes the link, and the link
    drawn by the full run before it would be out of date by then."""
    from components.releases import share_extras
    from core.data.releases import RELEASE_PARAM

    with where:
        popover = st.popover(t("share.label", lang), icon=":material/share:", width="stretch", key=SHARE_KEY,
                             on_change="rerun")
    if not popover.open:
        return
    params = {k: v for k, v in url_params().items() if k != RELEASE_PARAM}
    query = urlencode(params, doseq=True)
    with popover:
        st.caption(t("share.help", lang))
        st.code(f"{origin()}/{path}{'?' if query else ''}{query}", language=None, wrap_lines=True)
        share_extras(dataset, lang, params, path)


def show_url_notes(lang: str, filters: FilterState) -> None:
    """Say which values of the link were not used, until the user changes the filters. Ends the first
    run: from here on the widgets, not the link, hold the view."""
    s = st.session_state
    if first_run():
        s[_SEEDED] = filters
    elif s[_SEEDED] != filters:
        s.pop(_NOTES, None)
    from core.data.releases import RELEASE_PARAM

    for param, value in s.get(_NOTES, []):
        if param == RELEASE_PARAM:  # a pinned link to a release that does not exist (components.releases)
            st.warning(t("pin.unknown", lang, release=value), icon=":material/link_off:")
        else:
            st.warning(t("filters.dropped", lang, param=param, value=value), icon=":material/link_off:")


def menu(where, sections: dict[str, list]) -> None:
    """The menu of the pages this visitor may open, by section (drawn into `where`, the top of the
    sidebar). Streamlit's own menu is switched off (.streamlit/config.toml), see hand_to_router."""
    with where:
        for section, pages in sections.items():
            if pages:
                st.caption(section)
                for page in pages:
                    st.page_link(page)


# The only script the portal adds to the page, run in the page itself (components v2: no iframe):
# - <html lang> is set to the chosen language, for screen readers' pronunciation and the browser's
#   translation offer: Streamlit leaves it "en".
# - On a phone, a tap on a link of the menu closes the sidebar, which otherwise stays open over the page
#   just opened. Streamlit's own page menu does this (on a phone's user agent), but it is switched off
#   (`menu`, below), and st.page_link has no such behaviour nor any setting for it. The sidebar is closed
#   with Streamlit's own "Collapse sidebar" button, so that Streamlit keeps its state (and remembers it);
#   "a phone" is a window narrower than Streamlit's breakpoint md (768 px), where Streamlit itself
#   collapses the sidebar and draws it over the page.
_DOCUMENT_JS = """
const MENU_LINK = "[data-testid=stSidebar] [data-testid=stPageLink-NavLink]";
export default function(c) {
    document.documentElement.lang = c.data.lang;
    const close = (event) => {
        if (window.innerWidth >= 768 || !(event.target instanceof Element) || !event.target.closest(MENU_LINK)) return;
        document.querySelector("[data-testid=stSidebarCollapseButton] button")?.click();
    };
    document.addEventListener("click", close);
    return () => document.removeEventListener("click", close);
}
"""
_DOCUMENT = st.components.v2.component("portal_document_language", html="", js=_DOCUMENT_JS)


def document_meta(lang: str, page_title: str) -> None:
    """The browser tab's title (the page's own, then the portal's name), the document's language, and the
    menu that closes after a tap on a phone (_DOCUMENT_JS)."""
    app_title = t("app.title", lang)
    title = app_title if page_title in ("", app_title) else f"{page_title} · {app_title}"
    st.set_page_config(page_title=title)
    with st.sidebar.container(key="document_meta", height=1, border=False):
        _DOCUMENT(data={"lang": lang}, key="document_language", height=1)


def _draw_nothing() -> None:
    pass


def folder_mode() -> bool:
    """True while the server is still in Streamlit's old multipage mode (see hand_to_router). Streamlit
    1.67 keeps it on a private class attribute with no public way to ask; it is only read here."""
    from streamlit.runtime.pages_manager import PagesManager

    return bool(getattr(PagesManager, "uses_pages_directory", False))


def _path_asked() -> str:
    """The page the browser asked for: the last part of its URL's path ("" for "/"). On the server's first
    visit app.py runs for a link such as /smuggling too (a theme page has no file in pages/), and the
    navigation of hand_to_router must name that page, or Streamlit tells the visitor it does not exist."""
    path = urlsplit(st.context.url or "").path.rstrip("/")
    return path.rsplit("/", 1)[-1]


def hand_to_router(path: str | None = None) -> None:
    """Draw nothing and rerun as the router, on a server still in Streamlit's old multipage mode.

    A folder named `pages/` beside app.py puts a freshly started Streamlit server in its old multipage
    mode until some session has run st.navigation: a URL such as /crosstab then runs pages/crosstab.py
    directly, past the router and its sign-in check (reference/streamlit-notes.md 1.1; Streamlit 1.67
    decides this from the folder's name alone, with no setting to turn it off). Its list of those files
    is hidden by client.showSidebarNavigation = false.

    A page module calls this when Streamlit runs its file as a script (`if __name__ == "__main__"`,
    `path` its file), and app.py at its top when it is run in that mode itself (`path` None: the
    server's first visit to "/", or to a page with no file in pages/, such as a theme page's link). That first run would otherwise draw the sidebar's widgets
    as a page of the old mode, under other widget ids than every later run: a choice made before it
    ends was applied but shown unmade (the pill still off), and a link copied then missed it.

    It runs st.navigation once (which ends that mode for the whole server, as the router's would) and
    reruns, and the rerun is the router's, for the same URL: it opens the page asked for if this
    visitor may see it (a shared link works on a fresh server too) and the Overview otherwise."""
    if st.session_state.get(_HANDED_OVER):  # run again in this session, but not in that mode (a test)
        return
    st.session_state[_HANDED_OVER] = True
    # The page asked for, and a default page beside it: a page that is the only one is the default, and
    # the browser would be told that its URL names no page.
    pages = [st.Page(_draw_nothing, title="-", default=True)]
    asked = Path(path).stem if path is not None else _path_asked()
    if asked:
        pages.append(st.Page(_draw_nothing, url_path=asked))
    st.navigation(pages, position="hidden")
    st.rerun()
