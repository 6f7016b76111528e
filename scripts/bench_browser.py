"""Time to the first chart, as a visitor sees it: Chromium opens a page of a freshly started server, and
the clock stops when the page's first chart (or the map, or the crosstab's table) is drawn.

    python -m scripts.bench_browser                # both ways of starting the server, side by side
    python -m scripts.bench_browser --repeat 9

Two ways of starting the server are compared in one run:
  streamlit run   the plain `streamlit run app.py` (the baseline: how the portal was started before);
  make run        `python -m scripts.serve`, what `make run` starts: the data loaded into the engine
                  before the server listens, and Streamlit's old multipage mode off.
For each: the server's very first visit (a deep link to a theme page: the worst case), median over
`--restarts` fresh servers; then warm visits of the Overview, a theme page, the crosstab and the map,
by a new visitor (a new browser context: Streamlit's 5 MB of scripts downloaded and parsed) and by a
returning one (the scripts in the browser's cache). Times are medians in seconds, from the request to
the chart drawn. Nothing here asserts a time.

The map counts as drawn when its canvas shows the country outlines and its layer (MAP_DRAWN_JS, in
scripts/health.py), not when its canvas is on the page: deck.gl puts an empty canvas there first, and
the outlines, fetched once deck.gl's chunk has loaded, arrive after it (seconds after, on a busy machine).

Then, beside them, Streamlit alone (scripts/bench_alone.py, a plain `streamlit run` of a page with one
figure and nothing else: no sidebar, no filters): one small Vega-Lite chart, and the map page's own
default deck. What the portal's page takes beyond these is ours (the page around the figure); these
are Streamlit's frontend, Vega and deck.gl (in Chromium without a GPU: SwiftShader draws the map).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from core.figures.map_layers import LAND
from core.settings import ROOT
from scripts.health import MAP_CANVAS, MAP_DRAWN_JS, wait_healthy
from scripts.replicas import free_port
from scripts.serve import warm_up_done

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
# What "the first chart" is on each page: a Vega-Lite chart drawn (its canvas or SVG), the map drawn (its
# canvas, then MAP_DRAWN_JS: outlines and layer), the crosstab's table.
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
MAP = MAP_CANVAS
VISITS = {
    "overview": ("/?lang=en", CHART),
    "theme page": ("/smuggling?lang=en", CHART),
    "crosstab": ("/crosstab?lang=en&rows=age_band&cols=region_of_interview", "[data-testid='stDataFrame'], [data-testid='stTable'], " + CHART),
    "map": ("/map?lang=en", MAP),
}
# Streamlit alone: one figure on an empty page (scripts/bench_alone.py), served from a folder of its own
# that links the portal's static/ (Streamlit serves the static/ beside the main script: the outlines).
ALONE = {"one Vega chart": ("/?figure=vega", CHART), "the map's deck": ("/?figure=deck", MAP)}
FIRST = "theme page"  # the server's first visit: a shared link to a theme page
SERVERS = {
    "streamlit run": [sys.executable, "-m", "streamlit", "run", "app.py"],
    "make run": [sys.executable, "-m", "scripts.serve"],
}
FLAGS = ["--server.headless=true", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"]


def start(command: list[str], log: Path) -> tuple[subprocess.Popen, str, float]:
    """Start a server; return it, its URL, and the seconds until it answered its health check."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    proc = subprocess.Popen([*command, f"--server.port={port}", *FLAGS], cwd=ROOT, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, proc, timeout=120)
    except RuntimeError as e:
        proc.kill()
        raise RuntimeError(f"{command}: {e}: {log.read_text()[-2000:]}") from None
    return proc, url, time.perf_counter() - began


_RETURNING: dict = {}  # the browser context of a returning visitor: Streamlit's scripts in its cache


def visit(browser, url: str, selector: str, keep: bool = False) -> float:
    """Seconds from the request to the first `selector` visible: in a new browser context (a new visitor,
    who downloads Streamlit's 5 MB of scripts), or with `keep` in one kept across visits (a returning
    visitor: the scripts come from the browser's cache, Streamlit marks them immutable)."""
    if keep and browser not in _RETURNING:
        _RETURNING[browser] = browser.new_context(viewport={"width": 1366, "height": 768})
    context = _RETURNING[browser] if keep else browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    began = time.perf_counter()
    page.goto(url)
    page.locator(selector).first.wait_for(state="visible", timeout=120_000)
    if selector == MAP:  # the map drawn: its outlines and its layer, not only its canvas
        page.wait_for_function(MAP_DRAWN_JS, arg=[MAP, list(LAND)], timeout=120_000, polling=100)
    elapsed = time.perf_counter() - began
    page.close()
    if not keep:
        context.close()
    return elapsed


def measure(browser, name: str, command: list[str], repeat: int, restarts: int, workdir: Path) -> dict[str, float]:
    """Median figures of one way of starting: start-up and first visit over `restarts` fresh servers,
    warm visits `repeat` times each on the last one."""
    ready, first, figures = [], [], {}
    for n in range(restarts):
        proc, url, seconds = start(command, workdir / f"{name.replace(' ', '_')}-{n}.log")
        try:
            ready.append(seconds)
            path, selector = VISITS[FIRST]
            first.append(visit(browser, url + path, selector))
            if n == restarts - 1:
                # warm visits on a server no longer busy warming itself
                if "scripts.serve" in command and not warm_up_done(workdir / f"{name.replace(' ', '_')}-{n}.log"):
                    raise RuntimeError(f"{name}: no warm-up line in the server's log")
                for page, (path, selector) in VISITS.items():
                    figures.update(new_and_returning(browser, page, url + path, selector, repeat))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"server ready": statistics.median(ready), "first visit": statistics.median(first), **figures}


def new_and_returning(browser, name: str, url: str, selector: str, repeat: int) -> dict[str, float]:
    """The median of `repeat` visits to `url` by a new visitor (`name`) and by a returning one (`name, cached`)."""
    return {name: statistics.median(visit(browser, url, selector) for _ in range(repeat)),
            f"{name}, cached": statistics.median(visit(browser, url, selector, keep=True) for _ in range(repeat))}


def measure_alone(browser, repeat: int, workdir: Path) -> dict[str, float]:
    """Median figures of Streamlit alone (scripts/bench_alone.py): each figure by a new and a returning visitor."""
    folder = workdir / "alone"
    folder.mkdir()
    (folder / "bench_alone.py").symlink_to(ROOT / "scripts" / "bench_alone.py")
    (folder / "static").symlink_to(ROOT / "static")
    proc, url, _ = start([sys.executable, "-m", "streamlit", "run", str(folder / "bench_alone.py")],
                         workdir / "alone.log")
    figures = {}
    try:
        for name, (path, selector) in ALONE.items():
            visit(browser, url + path, selector, keep=True)  # the server's first run of it, not timed
            figures.update(new_and_returning(browser, name, url + path, selector, repeat))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        _RETURNING.pop(browser).close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="warm visits per page (median)")
    parser.add_argument("--restarts", type=int, default=3, help="fresh servers for the first visit (median)")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, command in SERVERS.items():
            results[name] = measure(browser, name, command, args.repeat, args.restarts, Path(tmp))
            _RETURNING.pop(browser).close()
        alone = measure_alone(browser, args.repeat, Path(tmp))
        browser.close()
    names = list(SERVERS)
    print(f"\nTime to the first chart in Chromium, seconds (warm visits: median of {args.repeat})")
    print(f"{'':38}" + "".join(f"{n:>16}" for n in names))
    rows = ["server ready", "first visit", *VISITS, *(f"{page}, cached" for page in VISITS)]
    labels = {"server ready": "server answers (start-up)", "first visit": f"first visit ({FIRST}, deep link)",
              **{page: f"new visitor: {page}" for page in VISITS},
              **{f"{page}, cached": f"returning visitor: {page}" for page in VISITS}}
    print(f"(start-up and first visit: median of {args.restarts} fresh servers)")
    for row in rows:
        label = labels[row]
        print(f"{label:38}" + "".join(f"{results[n][row]:>16.2f}" for n in names))
    print(f"\nStreamlit alone, a page with one figure and nothing else (scripts/bench_alone.py), seconds, medians of "
          f"{args.repeat}")
    print(f"{'':38}{'new visitor':>16}{'returning':>16}")
    for name in ALONE:
        print(f"{name:38}{alone[name]:>16.2f}{alone[f'{name}, cached']:>16.2f}")


if __name__ == "__main__":
    main()
