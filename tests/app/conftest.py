"""AppTest set-up: the real router (app.py) with a users file of our own, a cookie key, and helpers to
open a page, sign in and read what the app drew.

What a server keeps per process stays warm from test to test, as on a server: the query engine (its
loaded tables) and the query caches (st.cache_data, keyed by the loaded table, so never stale). A test
that swaps the engine (other data, another secret) has it put back when it ends; the caches stay, since
no other engine's table has the shared one's name. The session manager (st.cache_resource) is made again for each test: it holds the test's own
users file and throttle.

One shim, of AppTest's own making: AppTest forgets before every run that the router has run
(it resets PagesManager.uses_pages_directory), so from the second run on it would run the page files in
`pages/` in Streamlit's old multipage mode instead of the router. A real server leaves that mode for
good at its first st.navigation (a case the browser tests cover on a fresh server); here the flag is
switched off after AppTest sets it, as on a server that has served one visit. The portal itself uses
no private class of Streamlit. And two savings, of work a server does once and AppTest again and again:
it scans the installed packages for Streamlit components for every new AppTest, and it compiles app.py
(with Streamlit's "magic") for every run; here each is done once per test process.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from components.auth import session_manager
from core import settings
from core.auth.users import UserStore
from core.data import engine

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
COOKIE_KEY = "test-only-cookie-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORDS = {"alice": "Researcher-pass-2026!x", "root": "Admin-pass-2026-xyz!q", "bob": "Bob-the-builder-2026!"}
ROLES = {"alice": "researcher", "root": "admin", "bob": "researcher"}
# who plays each role in the tests: None is the anonymous public
ROLE_USERS = {None: None, "researcher": "alice", "admin": "root"}


@pytest.fixture(scope="session", autouse=True)
def _components_scanned_once():
    """A server looks for installed Streamlit components (every installed distribution's metadata) once, at
    start-up; AppTest does it again for each new AppTest, which cost ~0.1 CPU-s each, a few hundred times
    here. The installed packages do not change during a test run: the scan's answer is kept for the process."""
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", functools.cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture(scope="session", autouse=True)
def _script_compiled_once():
    """A server compiles a script once and keeps its bytecode (ScriptCache); AppTest makes a new ScriptCache
    for every run, so app.py was parsed, given Streamlit's magic and compiled again at each of the
    thousands of runs here (~7 ms each). The bytecode is kept for the process, per file and its
    modification time (a code object is immutable)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    compiled = {}
    original = ScriptCache.get_bytecode

    def get_bytecode(self, script_path):
        path = Path(script_path).resolve()
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in compiled:
            compiled[key] = original(self, script_path)
        return compiled[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ScriptCache, "get_bytecode", get_bytecode)
        yield


@pytest.fixture(autouse=True)
def _router_after_first_visit(monkeypatch):
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="session")
def _users_file(tmp_path_factory) -> Path:
    """The test users, written once per process (hashing and three synced writes); each test gets a copy."""
    path = tmp_path_factory.mktemp("users") / "users.yaml"
    store = UserStore(path, bcrypt_cost=4)
    for name, password in PASSWORDS.items():
        store.add_user(name, password, role=ROLES[name], name=name.title())
    return path


@pytest.fixture(autouse=True)
def users(_users_file, tmp_path, monkeypatch) -> UserStore:
    path = tmp_path / "users.yaml"
    shutil.copy2(_users_file, path)
    store = UserStore(path, bcrypt_cost=4)
    monkeypatch.setenv("PORTAL_USERS_FILE", str(path))
    monkeypatch.setenv("PORTAL_AUDIT_DB", str(tmp_path / "audit.sqlite3"))  # each test's own audit log
    monkeypatch.setenv("PORTAL_TEST_BCRYPT_COST", "4")
    monkeypatch.setenv("PORTAL_COOKIE_KEY", COOKIE_KEY)
    # A message or placeholder missing in a language raises instead of showing its key.
    monkeypatch.setenv("PORTAL_I18N_STRICT", "1")
    return store


@pytest.fixture(autouse=True)
def _process_state():
    warm = engine.get_engine()
    session_manager.clear()  # the users file, policy and throttle of this test
    yield
    session_manager.clear()
    if engine.get_engine() is not warm:  # the test worked on other data: back to the shared engine
        # The query caches stay: their entries are keyed by the loaded table's name, new at every load in
        # the process (core.data.engine), so the other engine's entries are never taken for the shared
        # one's, and the shared one's are still right (clearing them cost the next tests their warm-up).
        engine.set_engine(warm)


def open_app(query: dict | None = None, locale: str | None = None, page: str | None = None) -> AppTest:
    """A first visit to the portal with the link's query parameters, on the page `page` (its URL path,
    as a deep link would open it; the Overview by default)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at._page_hash = calc_hash(page)  # how st.Page names a page registered by its url_path
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if locale:
        at.context["locale"] = locale
    return at.run()


def pages(at: AppTest) -> dict[str, str]:
    """url path -> page hash of the pages this session may open ("" is Overview): those the router
    registered and lists in its menu. (It registers the URLs of the others too, as hidden pages that
    show only a sign-in request: `restricted_pages`.)"""
    menu = {link.value for link in at.sidebar.page_link}
    return {info.get("url_pathname") or "overview": page_hash for page_hash, info in at._registered_pages.items()
            if info.get("page_name") in menu}


def restricted_pages(at: AppTest) -> set[str]:
    """The URL paths the router registered but does not list: pages this session's role may not open."""
    return {info.get("url_pathname") for info in at._registered_pages.values()} - set(pages(at))


def go(at: AppTest, page: str) -> AppTest:
    """Open a page through the navigation, as its menu link would; KeyError if it is not routable."""
    at._page_hash = pages(at)[page]  # AppTest.switch_page only knows file-based pages
    return at.run()


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    # The form is in the sidebar, or on the page itself where the page asks for a sign-in.
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(PASSWORDS.get(username, "") if password is None else password)
    submit = next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:signin"))
    return submit.click().run()


def as_role(role: str | None, query: dict | None = None, page: str | None = None) -> AppTest:
    at = open_app(query, page=page)
    if ROLE_USERS[role]:
        sign_in(at, ROLE_USERS[role])
    return at


def texts(at: AppTest) -> str:
    """Everything the app wrote as text, to search in."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                  "error", "success") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def open_downloads(at: AppTest, *keys: str) -> AppTest:
    """The app with the download menus of these figures open (components.downloads.download_menu): their
    buttons are drawn by the run the opening causes."""
    from components.downloads import menu_key

    for key in keys:
        at.session_state[menu_key(key)] = True
    return at.run()


def open_tables(at: AppTest) -> AppTest:
    """The app with every table under a chart open (components.figures.table_box): a closed one is not
    drawn, so a check of what a page sends must open them first."""
    from components.figures import table_key

    opened = [k for k in at.session_state.keys() if str(k).startswith(table_key(""))]
    for key in opened:
        at.session_state[key] = True
    return at.run() if opened else at


def link(at: AppTest) -> dict[str, list[str]]:
    """The page's URL query parameters after the run, each as a list of values."""
    return {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def module_data(tmp_path_factory, build) -> tuple[Path, engine.Engine]:
    """`own_data_dir` for a module whose tests only read: the directory made once, `build(directory, tmp)`
    writing the module's datasets into it (the settings pointing at it, an audit log of its own), and one
    engine over it for the module's tests, which load each dataset once, as a server would. The module's
    autouse fixture hands it to each test with `use_module_data`."""
    tmp = tmp_path_factory.mktemp("module_data")
    directory = tmp / "data"
    directory.mkdir()
    for name in settings.DATASETS:
        engine.dataset_path(directory, name).symlink_to(engine.dataset_path(settings.GENERATED_DIR, name))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "GENERATED_DIR", directory)
        patch.setenv("PORTAL_AUDIT_DB", str(tmp / "audit.sqlite3"))
        build(directory, tmp)
    return directory, engine.Engine(directory)


def use_module_data(built: tuple[Path, engine.Engine], monkeypatch) -> Path:
    """For one test: the settings pointed at the module's data directory (`module_data`), its engine set
    (`_process_state` puts the shared one back after the test)."""
    directory, module_engine = built
    monkeypatch.setattr(settings, "GENERATED_DIR", directory)
    engine.set_engine(module_engine)
    return directory


def own_data_dir(tmp_path, monkeypatch) -> Path:
    """A data directory of the test's own, holding the built-in synthetic files (links to the built ones),
    which the next engine reads: for tests that load, create or restore versions."""
    directory = tmp_path / "data"
    directory.mkdir()
    for name in settings.DATASETS:
        engine.dataset_path(directory, name).symlink_to(engine.dataset_path(settings.GENERATED_DIR, name))
    monkeypatch.setattr(settings, "GENERATED_DIR", directory)
    engine.set_engine(None)
    return directory
