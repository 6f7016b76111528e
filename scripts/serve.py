"""Start the portal as `make run` does: `streamlit run app.py`, in this process, after making ready what
a first visitor needs.

    python -m scripts.serve [streamlit options, e.g. --server.port 8502]

Before the server listens:
  * with PORTAL_DATABASE_URL (several replicas), this replica's secrets are checked against those the
    others recorded in the shared state (core.shared_state.check_secrets): a replica with another
    ckm_secret or cookie key refuses to start;
  * the synthetic datasets are built if missing (core.data.store.ensure_built), and every dataset is
    loaded into the query engine with its codebook and public categories (the first visitor used to
    wait for this);
  * Streamlit's old multipage mode is switched off. A folder named `pages/` beside app.py puts a fresh
    server in that mode until some session has run st.navigation, and in it a link to a page that has
    no file in pages/ (a theme page, /smuggling) is first answered with Streamlit's "Page not found"
    pop-up. st.navigation switches the mode off by the same assignment made here; app.py's
    hand_to_router stays as the defence when the portal is started with plain `streamlit run app.py`.

Once it listens, a warm-up visits every public page of the default dataset in every language, as a
browser would (Streamlit's websocket protocol, one session per page), so that the first visitors find
the pages' modules imported and their figures in the process's cache (st.cache_data) instead of
waiting for them. PORTAL_WARM_UP=none skips it (the test suite's shared server, whose tests would
otherwise compete with it for the processor); a list of languages (PORTAL_WARM_UP=fr or en,fr) warms
those only, for a portal whose visitors read one or two of them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path

import websockets
from streamlit import config
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from core.auth.access import can_open
from core.auth.proxies import TRUSTED_PROXIES_ENV, trusted_proxies
from core.data import versions
from core.data.engine import get_engine, load_codebook
from core.data.store import ensure_built
from core.pages import PAGES
from core.settings import DATASETS, LANGUAGES, ROOT
from core.shared_state import check_secrets
from scripts.health import wait_healthy

log = logging.getLogger("portal.serve")
WARM_UP_ENV = "PORTAL_WARM_UP"


def warm() -> float:
    """Build and load what the first visitor needs; the seconds it took.

    The portal's modules are not imported here, though the server's first session pays 0.7 s for them:
    a components-v1 element declared before Streamlit's runtime exists (the sign-in's cookie manager,
    extra_streamlit_components) is never registered with it, and the login cookie was then never
    written (seen: make screenshots, signing in)."""
    began = time.perf_counter()
    check_secrets()  # several replicas: one set of secrets, or this one does not serve (SystemExit)
    ensure_built()
    engine = get_engine()
    for dataset in versions.datasets():
        engine.codebook(dataset)
        engine.dataset(dataset)
    return time.perf_counter() - began


def public_pages(dataset: str = DATASETS[0]) -> list[str]:
    """The URL paths of the pages an anonymous visitor may open ("" is the Overview), the dataset's theme
    pages included: the Overview and the theme pages first (what shared links open most), then the
    others."""
    listed = [page.id for page in PAGES if can_open(page.id, None)]
    return ["", *(theme.id for theme in load_codebook(dataset).themes), *listed[1:]]


async def _visit(base: str, page: str, lang: str) -> bool:
    """One anonymous session that runs `page` in `lang` to its end, as a browser's first run would."""
    async with websockets.connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=30) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = f"lang={lang}"
        ask.rerun_script.page_name = page
        await ws.send(ask.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=120))
            if message.WhichOneof("type") == "script_finished":
                return message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY


def warm_up(base: str, pages: list[str], languages=LANGUAGES, wait: float = 120.0) -> None:
    """Visit `pages` in `languages` once the server at `base` answers; log what it took."""
    try:
        wait_healthy(base, timeout=wait)
    except RuntimeError as e:
        log.warning("warm-up: %s", e)  # the visits below say what failed
    began, done = time.perf_counter(), 0
    for lang in languages:
        for page in pages:
            try:
                done += asyncio.run(_visit(base, page, lang))
            except (TimeoutError, OSError, websockets.WebSocketException) as e:
                log.warning("warm-up of /%s in %s failed: %s", page, lang, e)
    log.warning("warm-up: %d of %d page views in %.1f s", done, len(pages) * len(languages),
                time.perf_counter() - began)


# The line warm_up ends with in the server's log, as the benchmark and the tests read it.
WARM_UP_DONE = re.compile(r"warm-up: (\d+) of (\d+) page views")


def warm_up_done(log_file: Path, timeout: float = 300.0) -> re.Match | None:
    """The WARM_UP_DONE line of a server's log once it is there, None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = WARM_UP_DONE.search(log_file.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.2)  # a log file has no event to wait on
    return None


def main() -> None:
    languages = warm_up_languages(os.environ.get(WARM_UP_ENV))
    check_proxies()
    seconds = warm()
    print(f"Data ready in {seconds:.1f} s.", flush=True)
    PagesManager.uses_pages_directory = False  # as st.navigation does: see the docstring
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    if languages:
        threading.Thread(target=_warm_up_later, args=(languages,), daemon=True, name="portal-warm-up").start()
    sys.exit(cli.main())


def check_proxies() -> None:
    """PORTAL_TRUSTED_PROXIES read once before the server starts (a malformed list stops it with a
    message), and uvicorn's own X-Forwarded-For handling off: it trusts loopback peers by default
    (FORWARDED_ALLOW_IPS) and would rewrite the peer before the portal's throttle sees it, so that
    core.auth.proxies is the one place that decides whom the header is believed from."""
    try:
        trusted = trusted_proxies()
    except ValueError as e:
        raise SystemExit(str(e)) from None
    if os.environ.get("FORWARDED_ALLOW_IPS"):
        log.warning("FORWARDED_ALLOW_IPS is ignored: list the proxies in %s instead", TRUSTED_PROXIES_ENV)
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    if trusted:
        print("Client addresses from X-Forwarded-For when the peer is one of: "
              + ", ".join(map(str, trusted.networks)), flush=True)


def warm_up_languages(value: str | None) -> tuple[str, ...]:
    """The languages PORTAL_WARM_UP asks to warm: all of them by default, none for "none", else the
    comma-separated list; an unknown language is refused (SystemExit with a message)."""
    value = (value or "all").strip().lower()
    if value == "all":
        return tuple(LANGUAGES)
    if value == "none":
        return ()
    wanted = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    unknown = [v for v in wanted if v not in LANGUAGES]
    if unknown or not wanted:
        raise SystemExit(f"{WARM_UP_ENV} must be all, none or languages among {', '.join(LANGUAGES)} "
                         f"(e.g. en,fr), not {value!r}")
    return wanted


def _warm_up_later(languages: tuple[str, ...]) -> None:
    """The warm-up, at the address the server listens on: known once `streamlit run` has read its
    options and made its runtime (there is no hook for it, so this looks every tenth of a second)."""
    while not Runtime.exists():
        time.sleep(0.1)
    port = config.get_option("server.port")
    address = config.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if address in ("0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    path = (config.get_option("server.baseUrlPath") or "").strip("/")
    warm_up(f"http://{host}:{port}" + (f"/{path}" if path else ""), public_pages(), languages)


if __name__ == "__main__":
    main()
