"""Start the portal as `make run` does: `streamlit run app.py`, in this process, after making ready what
a first visitor needs.

    python -m scripts.serve [streamlit options, e.g. --server.port 8502]

Before the server listens:
  * the synthetic datasets are built if missing (core.data.store.ensure_built), and every dataset is
    loaded into the query engine with its codebook and public categories (the first visitor used to
    wait for this);
  * Streamlit's old multipage mode is switched off. A folder named `pages/` beside app.py puts a fresh
    server in that mode until some session has run st.navigation, and in it a link to a page that has
    no file in pages/ (a theme page, /smuggling) is first answered with Streamlit's "Page not found"
    pop-up. st.navigation switches the mode off by the same assignment made here; app.py's
    hand_to_router stays as the defence when the portal is started with plain `streamlit run app.py`.
"""

from __future__ import annotations

import sys
import time

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from core.data import versions
from core.data.engine import get_engine
from core.data.store import ensure_built
from core.settings import ROOT


def warm() -> float:
    """Build and load what the first visitor needs; the seconds it took."""
    began = time.perf_counter()
    ensure_built()
    engine = get_engine()
    for dataset in versions.datasets():
        engine.codebook(dataset)
        engine.dataset(dataset)
    return time.perf_counter() - began


def main() -> None:
    seconds = warm()
    print(f"Data ready in {seconds:.1f} s.", flush=True)
    PagesManager.uses_pages_directory = False  # as st.navigation does: see the docstring
    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
