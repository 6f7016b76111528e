"""Screenshots of every page, on a laptop (1366×768) and a phone (390×844), full page, into
docs/screenshots/<page>_<desktop|phone>.jpg: the public pages, Microdata as a signed-in researcher
and Admin as an administrator. `make screenshots`.

It starts its own portal the way the browser tests do (tests/e2e/conftest.py: a `streamlit run` on a
free port, users in a temporary file, the tests' fixed perturbation secret unless one is set) and
Debian's Chromium (PORTAL_CHROMIUM to use another). JPEG at quality 70, and only the first two theme
pages (one function draws them all): 18 pictures, about 3.4 MiB; --themes 8 for all of the core survey's
(30 pictures, 6.8 MiB), --png for lossless pictures (8.7 MiB for all).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from core.pages import PAGES
from core.settings import ROOT

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
MAX_HEIGHT = 8000


def full_page(page, path: Path, png: bool) -> Path:
    """Streamlit scrolls inside its own main container: the viewport is made as tall as the content for
    the shot, then put back."""
    size = page.viewport_size
    height = page.evaluate("""() => Math.max(window.innerHeight, ...[...document.querySelectorAll(
        "[data-testid='stMain'], [data-testid='stMainBlockContainer']")].map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, MAX_HEIGHT)})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # A resize draws every widget as a grey skeleton for a moment.
    page.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", polling=100)
    page.wait_for_timeout(500)  # charts resize to the new height; a picture, not an assertion
    path = path.with_suffix(".png" if png else ".jpg")
    page.screenshot(path=str(path), full_page=True, **({} if png else {"type": "jpeg", "quality": 70}))
    page.set_viewport_size(size)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", action="store_true", help="PNG instead of JPEG (quality 70)")
    parser.add_argument("--themes", type=int, default=2, help="how many theme pages (the menu's first ones)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("PORTAL_CKM_SECRET", "test-only-ckm-secret-0123456789-abcdefghijklmnop")

    from playwright.sync_api import sync_playwright

    from scripts.health import RUNS_JS
    from tests.e2e.conftest import CAROL, DRAWN_JS, ROOT_ADMIN, Portal, Server, _make_users, find_chromium

    chromium = find_chromium()
    if not chromium:
        print("Chromium not found: apt-get install chromium (or set PORTAL_CHROMIUM)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.yaml"
        _make_users(users)
        server = Server(Path(tmp), users)
        portal = Portal(server)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

                def new_context(**options):
                    context = browser.new_context(**options)
                    context.add_init_script(RUNS_JS)  # what Portal.settle waits on
                    return context

                anon = new_context(viewport=DESKTOP)
                page = portal.open(anon.new_page(), "/")
                # The menu's links, once drawn: read before, the list was empty and only the two signed-in
                # pages were taken, without a word (seen once).
                page.locator(".st-key-menu a").first.wait_for(timeout=60_000)
                hrefs = page.eval_on_selector_all(".st-key-menu a", "links => links.map(a => a.getAttribute('href'))")
                cookies = {}
                for account in (CAROL, ROOT_ADMIN):
                    signed = portal.open(new_context(viewport=DESKTOP).new_page(), "/")
                    cookies[account.role] = portal.sign_in(signed, account)
                fixed = {"", *(spec.id for spec in PAGES)}  # overview is "" in the menu; the rest: theme pages
                themes = [href for href in hrefs if href not in fixed][:args.themes]
                shots = [(href or "overview", href, None) for href in hrefs if href in fixed or href in themes]
                if not themes or "map" not in hrefs:
                    raise SystemExit(f"the menu's links are not the portal's pages: {hrefs}")
                shots += [("microdata", "microdata", "researcher"), ("admin", "admin", "admin")]
                for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                    extra = {"is_mobile": True, "has_touch": True} if device == "phone" else {}
                    contexts = {}
                    for name, href, role in shots:
                        if role not in contexts:
                            contexts[role] = new_context(viewport=viewport, **extra)
                            if role:
                                contexts[role].add_cookies([cookies[role]])
                        start = time.monotonic()
                        page = portal.open(contexts[role].new_page(), "/" + href)
                        page.wait_for_function(DRAWN_JS, polling=100, timeout=60_000)
                        path = full_page(page, args.out / f"{name}_{device}", args.png)
                        page.close()
                        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB  "
                              f"{time.monotonic() - start:.1f} s")
                browser.close()
        finally:
            server.stop()
    total = sum(f.stat().st_size for f in args.out.iterdir() if f.suffix in (".png", ".jpg"))
    print(f"{total / 1024 / 1024:.1f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
