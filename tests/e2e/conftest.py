"""End-to-end set-up: Debian's Chromium, real `streamlit run` servers, users, and the helpers the tests
share, as fixtures: `portal` (the session's server) and `fresh_portal` (a server of the test's own,
on which no page has been requested yet).

Browsers: `page` and `new_context()` give each test a browser of its own state (no cookie, no storage, no
permission, no page of another test), but not a cold one. Each is a Chromium profile (a persistent
context) kept by the worker between tests and emptied of all that a test leaves (`WarmProfiles`): its HTTP
cache and V8's code cache stay, so Streamlit's JavaScript (about 5 MB, immutable hashed files) is fetched
and compiled once per profile, not at every new context. A page load costs about a quarter less processor
time that way. A test may hold several at once (one per user of a journey); they are kept per set of
options (a phone's, a locale's).

Chromium is looked for at $PORTAL_CHROMIUM if set, else Debian's headless shell
(/usr/bin/chromium-headless-shell: the same Blink, V8 and Skia without the browser's windowing and with
software compositing; the browser tests cost about 16 % less processor time with it, measured on three test
files run in turn with each), else /usr/bin/chromium, then on PATH. Without any the e2e tests are skipped,
unless PORTAL_REQUIRE_E2E=1 (CI) is set: then they fail and say why.

Waiting, on what the page shows, never on time: Streamlit runs the script after every interaction.
`Portal.settle` waits until every rerun the page has asked for has run to its end and been drawn: each
profile counts, per page, the reruns it asks for and the runs its server starts and finishes, from the
messages on Streamlit's websocket (scripts/health.py RUNS_JS and SETTLED_JS). A widget change, a page link
and a page load ask at once, so a settle after the action cannot miss its rerun. The sign-in's cookie
manager (an iframe) reports `true` once it has written the cookie, which asks for one more: `sign_in` waits
for that report and its rerun. (Not for a rerun asked by a page holding the cookie: a cookie written in an
iframe reaches the page's document.cookie some time later, and under load after the report's request had
left, so that wait failed a CI run on a busy machine.) Assertions then use `expect()` with its own polling.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from scripts.health import RUNS_JS, SETTLED_JS, wait_healthy

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parents[1]
SCREENSHOTS = E2E_DIR / "screenshots"
FAILURES = SCREENSHOTS / "failures"
REQUIRE_ENV = "PORTAL_REQUIRE_E2E"
SCREENSHOTS_ENV = "PORTAL_E2E_SCREENSHOTS"
CHROMIUM_ENV = "PORTAL_CHROMIUM"
COOKIE_NAME = "portal_login_28800s"
START_TIMEOUT = 60.0
# The sign-in throttle's first wait on the test servers (PORTAL_THROTTLE_FIRST_WAIT_SECONDS; 2 s by
# default): long enough that the attempt after five failures arrives within it on any machine.
THROTTLE_FIRST_WAIT = 60
# expect()'s default is 5 s; a first run (data loading, caches cold) on a busy 2-core runner takes longer.
expect.set_options(timeout=20_000)


HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


def find_chromium() -> str | None:
    """PORTAL_CHROMIUM if set (another build, or a missing path to try the skip), else Debian's headless
    shell, else Debian's Chromium."""
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for path in HEADLESS_SHELL, "/usr/bin/chromium":
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium-headless-shell") or shutil.which("chromium")


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    name: str


# One user per concern, so that one test's logout (which revokes every session of the user) or
# throttle state cannot leak into another test sharing the server.
ALICE = Account("alice", "Researcher-pass-2026!x", "researcher", "Alice Martin")  # sign in / out
ROOT_ADMIN = Account("root", "Admin-pass-2026!Qz7w", "admin", "Ada Admin")  # admin page
BOB = Account("bob", "Throttled-key-2026!Kp9", "researcher", "Bob Brown")  # throttling
CAROL = Account("carol", "Fourth-user-2026!Tm4w", "researcher", "Carol Chen")  # researcher vs /admin
DAVE = Account("dave", "Fifth-user-2026!Rx5v", "researcher", "Dave Diallo")  # slow cookie iframe
ERIN = Account("erin", "Sixth-user-2026!Wq8z", "researcher", "Erin Evans")  # microdata downloads
ACCOUNTS = (ALICE, ROOT_ADMIN, BOB, CAROL, DAVE, ERIN)
# What must never show to someone not entitled to it: display names (and a username unlikely to
# appear in any public text), and respondent ids.
PRIVATE_TEXT = (*(a.name for a in ACCOUNTS), "alice")
RESPONDENT_ID = re.compile(r"CORE-\d{7}")


# -- Chromium: skip or fail ----------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed e2e test's report ends with its server's log (tracebacks of the app land there), and the
    pages it had open are saved as screenshots in tests/e2e/screenshots/failures/ (taken here, for failed
    tests only: pytest-playwright's --screenshot option shoots every page of every test and throws the
    shots of the passing ones away)."""
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        for name in ("portal", "fresh_portal", "fresh_served_portal"):
            portal = funcargs.get(name)
            if isinstance(portal, Portal):
                report.sections.append((f"streamlit log ({name}, last lines)", portal.server.log_tail()))
        profiles = funcargs.get("_warm_lease")
        if isinstance(profiles, Lease):
            shots = profiles.screenshot(FAILURES / re.sub(r"[^\w.-]+", "_", item.nodeid)[-150:])
            if shots:
                report.sections.append(("screenshots", "\n".join(str(s) for s in shots)))
    return report


@pytest.fixture(scope="session", autouse=True)
def chromium_path() -> str:
    path = find_chromium()
    if path:
        return path
    where = os.environ.get(CHROMIUM_ENV) or f"neither {HEADLESS_SHELL}, /usr/bin/chromium nor `chromium` on PATH"
    message = (f"Chromium was not found ({where}); the end-to-end tests need it: apt-get install "
               "chromium-headless-shell "
               f"(or set {CHROMIUM_ENV} to a Chromium binary).")
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} {REQUIRE_ENV}=1 is set, so the e2e tests are required, not skipped.",
                    pytrace=False)
    pytest.skip(f"{message} (Set {REQUIRE_ENV}=1 to make this a failure.)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path):
    # Debian's chromium, not a Playwright-downloaded browser (no network); root needs --no-sandbox.
    return {**browser_type_launch_args, "executable_path": chromium_path, "args": ["--no-sandbox"]}


# -- browsers: warm profiles ---------------------------------------------------------------------


# What a profile keeps of an origin, emptied between tests (the HTTP cache is not among them: CDP's
# Storage.clearDataForOrigin).
STORAGE_TYPES = "cookies,local_storage,indexeddb,websql,service_workers,cache_storage,file_systems"


class WarmProfiles:
    """The worker's Chromium profiles (persistent contexts, each its own user data directory), kept from
    test to test, per set of context options. A test leases them (`Lease`) and gives them back emptied."""

    def __init__(self, browser_type, launch_args: dict, context_args: dict, root: Path):
        self.browser_type, self.launch_args, self.context_args, self.root = browser_type, launch_args, context_args, root
        self.idle: dict[str, list[BrowserContext]] = {}
        self.keepers: dict[BrowserContext, Page] = {}
        self.keys: dict[BrowserContext, str] = {}
        self._ids = itertools.count()

    def take(self, options: dict) -> BrowserContext:
        key = json.dumps(options, sort_keys=True, default=str)
        idle = self.idle.setdefault(key, [])
        if idle:
            return idle.pop()
        context = self.browser_type.launch_persistent_context(
            self.root / f"profile-{next(self._ids)}", **self.launch_args, **{**self.context_args, **options})
        context.add_init_script(RUNS_JS)  # what Portal.settle waits on
        # A blank tab that stays: a profile whose last tab closes may end its browser.
        self.keepers[context] = context.pages[0] if context.pages else context.new_page()
        self.keys[context] = key
        return context

    def give_back(self, context: BrowserContext, origins: set[str]) -> None:
        """Empty the profile of what the test left, all but the cache: its tabs, cookies, permissions and
        the storage of the portal's origins (localStorage, IndexedDB, ...). A profile that fails to be
        emptied is closed, not reused."""
        keeper = self.keepers[context]
        try:
            for page in context.pages:
                if page is not keeper:
                    page.close()
            context.clear_cookies()
            context.clear_permissions()
            cdp = context.new_cdp_session(keeper)
            for origin in origins:
                cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": STORAGE_TYPES})
            cdp.detach()
        except Exception:
            self.keepers.pop(context, None)
            self.keys.pop(context, None)
            context.close()
            raise
        self.idle[self.keys[context]].append(context)

    def close(self) -> None:
        for context in list(self.keepers):
            context.close()
        self.keepers.clear()
        self.keys.clear()
        self.idle.clear()


class Lease:
    """The profiles one test holds: `new(**options)` gives one more (a browser of its own: cookies and
    storage are not shared with the test's other ones), all given back when the test ends."""

    def __init__(self, profiles: WarmProfiles):
        self.profiles, self.held = profiles, []

    def new(self, **options) -> BrowserContext:
        context = self.profiles.take(options)
        self.held.append(context)
        return context

    def screenshot(self, stem: Path) -> list[Path]:
        paths = []
        for i, context in enumerate(self.held):
            for j, page in enumerate(p for p in context.pages if p is not self.profiles.keepers.get(context)):
                path = stem.parent / f"{stem.name}-{i + 1}-{j + 1}.png"
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(path), timeout=5000)
                    paths.append(path)
                except Exception:  # a closed or hung page: the report says what failed anyway
                    pass
        return paths

    def give_back(self) -> None:
        errors = []
        for context in self.held:
            try:
                self.profiles.give_back(context, ORIGINS)
            except Exception as e:  # noqa: BLE001  (the next profile is still given back)
                errors.append(e)
        self.held.clear()
        if errors:
            raise errors[0]


# The origins of the servers the tests started: their storage is emptied when a profile is given back.
ORIGINS: set[str] = set()


@pytest.fixture(scope="session")
def _warm_profiles(playwright, browser_type_launch_args, browser_context_args):
    root = Path(tempfile.mkdtemp(prefix="portal-e2e-profiles-"))
    profiles = WarmProfiles(playwright.chromium, browser_type_launch_args, browser_context_args, root)
    yield profiles
    profiles.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def _warm_lease(_warm_profiles):
    lease = Lease(_warm_profiles)
    yield lease
    lease.give_back()


@pytest.fixture
def new_context(_warm_lease):
    """pytest-playwright's `new_context`, from the worker's warm profiles: each call a browser of its own."""
    return _warm_lease.new


@pytest.fixture
def context(new_context) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


# -- servers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_users(path: Path) -> None:
    from core.auth.users import UserStore

    store = UserStore(path, bcrypt_cost=4)
    for a in ACCOUNTS:
        store.add_user(a.username, a.password, role=a.role, name=a.name)


# How a server is started: as `make run` starts it (scripts/serve.py: data made ready and Streamlit's old
# multipage mode off before it listens), or with plain `streamlit run app.py`, as an operator might.
MAKE_RUN = [sys.executable, "-m", "scripts.serve"]
STREAMLIT_RUN = [sys.executable, "-m", "streamlit", "run", "app.py"]


class Server:
    """One portal process, its log in a file (a pipe nobody reads would fill up)."""

    def __init__(self, workdir: Path, users_file: Path, command: list[str] = MAKE_RUN, warm_up: str | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ORIGINS.add(self.url)
        self.log_path = workdir / f"streamlit-{self.port}.log"
        self.audit_path = workdir / f"audit-{self.port}.sqlite3"  # the server's own audit log
        env = {**os.environ,
               "PORTAL_USERS_FILE": str(users_file),
               "PORTAL_AUDIT_DB": str(self.audit_path),
               "PORTAL_COOKIE_KEY": "e2e-" + secrets.token_urlsafe(48),
               "PORTAL_TEST_BCRYPT_COST": "4",
               "PORTAL_THROTTLE_FIRST_WAIT_SECONDS": str(THROTTLE_FIRST_WAIT),
               # scripts/serve.py's warm-up visits every public page in three languages (20 s of processor
               # time): left out where the tests would compete with it; the server that tests it warms the
               # pages in one language (the list form of the setting), a third of the work
               "PORTAL_WARM_UP": warm_up or "none",
               "PYTHONUNBUFFERED": "1"}
        assert env.get("PORTAL_CKM_SECRET"), "tests/conftest.py sets PORTAL_CKM_SECRET"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*command, f"--server.port={self.port}",
             "--server.address=127.0.0.1", "--server.headless=true", "--browser.gatherUsageStats=false",
             "--server.fileWatcherType=none"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        try:
            wait_healthy(self.url, self.proc, START_TIMEOUT)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{self.log_tail()}") from None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


# -- the helpers tests use -----------------------------------------------------------------------

# The page has drawn what a check of its markup or layout must see (axe, the phone's overflow): its title, no element left from the last run, every chart
# (Vega-Lite, deck.gl) and the field picker (a components-v2 element, drawn by its own script).
DRAWN_JS = """() => {
    const main = document.querySelector("[data-testid='stMain']");
    if (!main || !main.querySelector('h1') || document.querySelector("[data-stale='true']")) return false;
    for (const c of main.querySelectorAll("[data-testid='stVegaLiteChart']"))
        if (!c.querySelector('svg, canvas')) return false;
    for (const c of main.querySelectorAll("[data-testid='stDeckGlJsonChart']"))
        if (!c.querySelector('canvas')) return false;
    for (const c of main.querySelectorAll("[data-testid='stBidiComponentIsolated']")) {
        const picker = c.shadowRoot && c.shadowRoot.querySelector('.picker');
        if (picker && !picker.querySelector('li.field')) return false;
    }
    return true;
}"""

# For page.wait_for_function(EXPANDED_JS, arg=<an stExpander element>): the expander is open, its content takes
# clicks (not `inert`), and its height is its own again: no height animation running, none pinned in its style.
EXPANDED_JS = """expander => {
    const details = expander && expander.querySelector('details');
    const content = details && details.querySelector("[data-testid='stExpanderDetails']");
    return !!(content && details.open && !content.hasAttribute('inert') && !details.style.height
              && !details.getAnimations().some(a => a.playState === 'running'));
}"""

# What a settle that timed out saw: the run counts, the requests' and the components' reports' seqs, the
# app's states, the page's cookies (names) and the component iframes on the page.
_RUNS_STATE_JS = """() => {
    const runs = window.__runs, app = document.querySelector("[data-testid='stApp']");
    return {seq: runs.seq, request: runs.request, start: runs.start, finish: runs.finish,
            requests: runs.requests, reports: runs.reports,
            connection: app && app.getAttribute('data-test-connection-state'),
            script: app && app.getAttribute('data-test-script-state'),
            cookies: document.cookie.split('; ').map(c => c.split('=')[0]),
            iframes: [...document.querySelectorAll('iframe')].map(f => f.title)};
}"""

# The sign-in form's submission has been handled: its password field is empty again, or gone.
_SUBMITTED_JS = """() => {
    const input = document.querySelector("[data-testid='stSidebar'] input[type='password']");
    return !input || input.value === "";
}"""


@dataclass
class Portal:
    """A running portal and what tests do with it."""

    server: Server
    accounts: tuple[Account, ...] = field(default=ACCOUNTS)
    cookie_name: str = COOKIE_NAME

    @property
    def base(self) -> str:
        return self.server.url

    def url(self, path: str = "/", params: dict | list | None = None) -> str:
        query = f"?{urlencode(params, doseq=True)}" if params else ""
        return f"{self.base}{path}{query}"

    # waiting

    @staticmethod
    def settle(page: Page, since: int | None = None, report: str | None = None, timeout_ms: int = 30_000) -> None:
        """Wait until every rerun the page has asked for so far has run to its end and been drawn
        (scripts/health.py SETTLED_JS, on what the page's context counts with RUNS_JS): a widget change, a
        page link or a page load asks at once, so after the action that caused it. With `since` (from
        `runs`, read before an action) the page must also have asked for one after it; with `report` (a
        kind of value, "true"), a component must also have reported such a value since, and the page asked
        for the rerun that report causes."""
        try:
            page.wait_for_function(SETTLED_JS, arg=[since, report], timeout=timeout_ms, polling=50)
        except PlaywrightTimeoutError:
            if not page.evaluate("() => !!window.__runs"):
                raise AssertionError("the page counts no script runs: its context needs "
                                     "add_init_script(scripts.health.RUNS_JS)") from None
            raise AssertionError(f"the page did not settle (since={since}, report={report}): "
                                 f"{page.evaluate(_RUNS_STATE_JS)}") from None

    @staticmethod
    def runs(page: Page) -> int:
        """The page's count of run events so far (a mark for `settle(since=...)`)."""
        return page.evaluate("() => window.__runs.seq")

    @staticmethod
    def wait_for_url(page: Page, pattern: str, present: bool = True, timeout_ms: int = 20_000) -> str:
        """Wait until the address bar matches the regular expression `pattern` (or, with `present`
        False, no longer does) and return it. Streamlit writes the link with history.pushState, which
        Playwright's page.url (and so expect(page).to_have_url) only sees at the next navigation event:
        it lags one interaction behind, so the link is read from the page itself."""
        page.wait_for_function("([p, want]) => new RegExp(p).test(location.href) === want", arg=[pattern, present],
                               timeout=timeout_ms, polling=50)
        return page.evaluate("location.href")

    def open(self, page: Page, path: str = "/", params: dict | list | None = None) -> Page:
        page.goto(self.url(path, params))
        self.settle(page)
        return page

    # page parts

    @staticmethod
    def sidebar(page: Page):
        return page.get_by_test_id("stSidebar")

    @staticmethod
    def main(page: Page):
        return page.get_by_test_id("stMain")

    @staticmethod
    def expand(page: Page, label: str) -> None:
        """Open the first expander whose label holds `label` and wait until it stands still (EXPANDED_JS). A
        click inside it before then can be lost: Streamlit animates an expander's height (overflow hidden)
        as it opens, and again whenever its content's height changes (a widget's code arriving late), so
        under load a press can land on a button and its release elsewhere, which is no click at all (seen
        in 3 of 15 approvals of an access request beside three busy loops)."""
        expander = page.get_by_test_id("stExpander").filter(has=page.locator("summary", has_text=label)).first
        expander.locator("summary").click()
        page.wait_for_function(EXPANDED_JS, arg=expander.element_handle(), timeout=20_000, polling="raf")

    @staticmethod
    def current(page: Page):
        """The elements of the latest run. During a rerun, Streamlit keeps the last run's elements
        (marked stale) beside the new ones until the run ends: those are left out."""
        return page.locator("[data-testid='stElementContainer']:not([data-stale='true'])")

    @classmethod
    def title(cls, page: Page):
        """The page's title (st.title, the one h1 of the main area)."""
        return cls.current(cls.main(page)).get_by_role("heading", level=1)

    @classmethod
    def metric(cls, page: Page, label: str):
        """The value element of the metric with this label."""
        box = cls.current(page).get_by_test_id("stMetric").filter(
            has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
        return box.get_by_test_id("stMetricValue")

    @classmethod
    def filter_box(cls, page: Page, label: str):
        """The text box of a filter of the sidebar: for the public's single choice, its value is the
        answer chosen ("" for all)."""
        return cls.sidebar(page).get_by_role("combobox", name=label, exact=True)

    @classmethod
    def choose(cls, page: Page, label: str, option: str) -> None:
        """Choose one answer in a drop-down of the sidebar. The list closes by itself; no Escape after
        it, which would clear the choice."""
        box = cls.filter_box(page, label)
        box.click()
        box.press_sequentially(option[:4])  # a long list draws only what fits: narrow it first
        page.get_by_role("option", name=option, exact=True).click()

    @classmethod
    def pill(cls, page: Page, label: str):
        """A pill of the sidebar: a toggle button (several answers) or a radio (the public, one answer)."""
        sidebar = cls.sidebar(page)
        return sidebar.get_by_role("button", name=label, exact=True).or_(
            sidebar.get_by_role("radio", name=label, exact=True))

    @staticmethod
    def chosen(single: bool = True) -> str:
        """The attribute that says a pill is chosen: aria-checked for one answer, aria-pressed for several."""
        return "aria-checked" if single else "aria-pressed"

    @classmethod
    def nav_link(cls, page: Page, label: str):
        # The accessible name is the icon's ligature then the title: "table_rows Microdata".
        return cls.sidebar(page).get_by_role("link", name=label)

    @classmethod
    def glide_cells(cls, page: Page):
        """The cells of st.dataframe grids (a canvas; its accessible table holds the visible cells' text)."""
        return page.get_by_test_id("stDataFrame").locator("td")

    # account

    def account(self, username: str) -> Account:
        return next(a for a in self.accounts if a.username == username)

    def submit_sign_in(self, page: Page, username: str, password: str) -> None:
        """Fill and submit the sign-in form; returns once the submission's rerun has drawn: the form's
        callback empties the password field, or the form is gone (signed in)."""
        sb = self.sidebar(page)
        sb.get_by_role("textbox", name="Username").fill(username)
        sb.get_by_role("textbox", name="Password").fill(password)
        sb.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_function(_SUBMITTED_JS, polling=50, timeout=30_000)
        self.settle(page)

    def sign_in(self, page: Page, account: Account, *, cookie: bool = True) -> dict | None:
        """Sign in through the form; returns the login cookie (unless `cookie` is False). Waiting for
        the cookie matters: the cookie manager (an iframe) writes it some time after the page says
        "Signed in as", and a reload or a new tab before that is not signed in. The cookie manager reports
        `true` once it has written the cookie, which asks for a rerun of its own: that rerun is waited for too."""
        since = self.runs(page)
        self.submit_sign_in(page, account.username, account.password)
        expect(self.sidebar(page).get_by_text(f"Signed in as {account.name}")).to_be_visible()
        if not cookie:
            return None
        found = self.wait_for_login_cookie(page)
        self.settle(page, since=since, report="true")
        return found

    @staticmethod
    def wait_for_login_cookie(page: Page, timeout_ms: int = 10_000) -> dict:
        """The login cookie, once the cookie manager (asynchronously, from its iframe) has set it."""
        try:
            page.wait_for_function(
                f"() => document.cookie.split('; ').some(c => c.startsWith('{COOKIE_NAME}='))",
                timeout=timeout_ms, polling=100)
        except PlaywrightTimeoutError:
            pytest.fail(f"The login cookie {COOKIE_NAME} was not written within {timeout_ms / 1000:g} s of "
                        "signing in: the page says 'Signed in as', but a reload or a new tab would not be. "
                        "Known app race: see test_login_cookie_survives_a_slow_cookie_iframe.", pytrace=False)
        cookies = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
        assert len(cookies) == 1, cookies
        return cookies[0]

    @staticmethod
    def wait_for_no_login_cookie(page: Page) -> None:
        page.wait_for_function(f"() => !document.cookie.split('; ').some(c => c.startsWith('{COOKIE_NAME}='))")
        assert COOKIE_NAME not in [c["name"] for c in page.context.cookies()]

    # checks

    def assert_nothing_internal(self, page: Page, viewer: Account | None = None,
                                headings: tuple[str, ...] = ("Microdata", "Admin", "Users")) -> None:
        """No internal page's heading, no respondent id, no user's name (but the viewer's own, in
        "Signed in as"), anywhere in the page, including the text behind st.dataframe's canvas.
        Anonymous (viewer None): nobody is signed in either."""
        for heading in headings:
            expect(page.get_by_role("heading", name=heading, exact=True)).to_have_count(0)
        html = page.content()
        if viewer is None or viewer.role not in ("researcher", "admin"):
            assert not RESPONDENT_ID.search(html), "respondent ids are in the page"
        for text in PRIVATE_TEXT:
            if viewer is None or text not in (viewer.name, viewer.username):
                assert text not in html, f"{text!r} is in the page"
        if viewer is None:
            expect(self.sidebar(page).get_by_text("Signed in as")).to_have_count(0)

    def assert_restricted(self, page: Page, heading: str, viewer: Account | None = None) -> None:
        """The URL of a page this visitor may not open shows only its heading, what role it needs and,
        to a visitor not signed in, the sign-in form: nothing of the page itself."""
        expect(self.title(page)).to_have_text(heading)
        needs = "This page needs the role" if viewer else "This page is for signed-in users with the role"
        expect(self.main(page).get_by_text(needs)).to_be_visible()
        form = self.main(page).get_by_role("button", name="Sign in", exact=True)
        expect(form).to_have_count(0 if viewer else 1)
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
        self.assert_nothing_internal(page, viewer=viewer, headings=("Users",))

    def screenshot(self, page: Page, name: str) -> Path | None:
        """A full-page screenshot, taken only when PORTAL_E2E_SCREENSHOTS=1: it is evidence to look at,
        not an assertion, and its resizing and redrawing cost `make test` about half a minute. (`make
        screenshots` draws every page at both sizes; a failed test's own shot is pytest-playwright's
        `--screenshot only-on-failure`.) Streamlit scrolls inside its own containers, so the viewport is
        made as tall as the content for the shot, then put back."""
        if os.environ.get(SCREENSHOTS_ENV) != "1":
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size or {"width": 1280, "height": 720}
        height = page.evaluate("""() => Math.max(window.innerHeight, ...[...document.querySelectorAll(
            "[data-testid='stMain'], [data-testid='stSidebarContent'], [data-testid='stSidebarUserContent']")]
            .map(e => e.scrollHeight))""")
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 6000)})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.wait_for_timeout(300)  # let charts finish resizing; the shot is evidence, not an assertion
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return path


@pytest.fixture(scope="session")
def users_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("portal-users") / "users.yaml"
    _make_users(path)
    return path


@pytest.fixture(scope="session")
def portal(tmp_path_factory, users_file, chromium_path):
    """The server most tests share, stopped at the end of the session."""
    server = Server(tmp_path_factory.mktemp("portal-server"), users_file)
    yield Portal(server)
    server.stop()


@pytest.fixture
def fresh_portal(tmp_path_factory, users_file, chromium_path):
    """A server of its own, started with plain `streamlit run app.py`, stopped right after the test: no
    session has run app.py on it yet (the pages/ folder trap, see test_fresh_server.py)."""
    server = Server(tmp_path_factory.mktemp("portal-fresh"), users_file, STREAMLIT_RUN)
    yield Portal(server)
    server.stop()


@pytest.fixture
def fresh_served_portal(tmp_path_factory, users_file, chromium_path):
    """A server of its own started as `make run` starts it, on which no page has been requested yet."""
    server = Server(tmp_path_factory.mktemp("portal-served"), users_file, warm_up="fr")
    yield Portal(server)
    server.stop()
