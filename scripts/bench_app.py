"""Pages' server-side time, for an anonymous visitor, measured with AppTest, beside a plain pandas
baseline computing the same figures in the same run.

    python -m scripts.bench_app                 # every page below, at 120 thousand core rows (the default
                                                # data) and 1 million
    python -m scripts.bench_app --pages map --sizes 1m --repeat 9

Two portal figures per size:
  rerun      a rerun of the same view (a widget touched, a chart hovered): query results come from the
             process-wide cache, so this is the router, the filter bar and the drawing;
  cold view  the same run with the query cache emptied first: what the first visitor of a new view waits.
The pandas baseline computes the page's figures, unprotected, from the rows already in memory as a
DataFrame: for the Overview the total, countries, nationalities and region x year; for the route map
(all four public layers) the links nationality -> country of interview, the route segments, incidents
and interviews by country. Times are medians; AppTest's own overhead (a script thread per run) is
included. Nothing here asserts a time.

Theme pages: every theme page of the core survey is rerun, and the slowest is reported with its cold
view; its pandas baseline computes the same figures unprotected (shares per answer, multiple choice
decoded from the bit masks, quartiles and intervals of numbers, respondents per period, the
age-gender pyramid).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core.data.codebook import questions
from core.data.engine import Engine, dataset_path, load_codebook, set_engine
from core.figures.question import has_pyramid
from core.query import public_bins
from core.query.tables import ROUTE
from core.settings import ROOT
from scripts.bench import data_dir

SIZES = ("120k", "1m")
APP = str(ROOT / "app.py")


def overview_in_pandas(df: pd.DataFrame) -> None:
    len(df)
    df["country_of_interview"].nunique()
    df["nationality"].nunique()
    pd.crosstab(df["region_of_interview"], df["interview_year"])


def map_in_pandas(df: pd.DataFrame) -> None:
    df.groupby(["nationality", "country_of_interview"], observed=True).size()
    chain = df[list(ROUTE)].astype(object)
    legs = []
    for i, a in enumerate(ROUTE[:-1]):
        b = chain[ROUTE[-1]]
        for later in reversed(ROUTE[i + 1:-1]):  # the next country named after a
            b = chain[later].where(chain[later].notna(), b)
        legs.append(pd.DataFrame({"rid": chain.index, "a": chain[a], "b": b}))
    segments = pd.concat(legs).dropna()
    segments = segments[segments["a"] != segments["b"]].drop_duplicates()
    segments.groupby(["a", "b"]).size()
    df["incident_country"].value_counts()
    df["country_of_interview"].value_counts()


def theme_in_pandas(df: pd.DataFrame, theme: str) -> None:
    """The figures of a theme page, unprotected, in pandas: what the page shows, without the rules."""
    book = load_codebook("core")
    shown = questions(book, theme, "public")
    if has_pyramid(book, theme, "public"):
        pd.crosstab(df["age_band"], df["gender"])
    for var in shown:
        col = df[var.name]
        if var.type == "multiple":
            asked = col.dropna().astype(np.int64).to_numpy()
            [((asked >> i) & 1).mean() for i in range(len(var.codes))]
        elif var.type == "number":
            values = col.dropna()
            values.quantile([0.25, 0.5, 0.75])
            values.mean()
            cuts = public_bins("core", var.name)  # the fixed public intervals (rule 12)
            pd.cut(values, [*cuts, np.inf], right=False).value_counts(sort=False)
        else:
            col.value_counts(normalize=True)


# page: (its URL path, its link's parameters, the columns and figures of the pandas baseline)
PAGES = {
    "overview": ("", {}, ["country_of_interview", "nationality", "region_of_interview", "interview_year"],
                 overview_in_pandas),
    "map": ("map", {"layers": ["flows", "routes", "incidents", "interviews"]},
            ["nationality", *ROUTE, "incident_country"], map_in_pandas),
}


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cold_view(at: AppTest, repeat: int) -> float:
    """The median time of the same run with the query cache emptied first."""

    def cold():
        st.cache_data.clear()
        at.run()

    return _median(cold, max(3, repeat // 3))


def _bench_page(page: str, sizes, repeat: int) -> None:
    path, params, columns, in_pandas = PAGES[page]
    print(f"\n== {page} page, anonymous visitor, server side (AppTest, median of {repeat} runs) "
          "vs the same figures in pandas ==")
    print(f"{'rows':>10} {'rerun ms':>9} {'cold view ms':>13} {'pandas ms':>10}")
    for size in sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        at = AppTest.from_file(APP, default_timeout=120)
        at._page_hash = calc_hash(path)  # opened by its link, as tests/app/conftest.py does
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        rerun = _median(at.run, repeat)
        cold_s = _cold_view(at, repeat)
        df = pd.read_parquet(dataset_path(directory, "core"), columns=columns)
        pandas_s = _median(lambda df=df: in_pandas(df), repeat)
        print(f"{rows:>10,} {rerun * 1000:>9.1f} {cold_s * 1000:>13.1f} {pandas_s * 1000:>10.1f}")
        set_engine(None)
        st.cache_data.clear()


def _bench_themes(sizes, repeat: int) -> None:
    """Rerun every theme page of the core survey; the slowest one's rerun, cold view and pandas time."""
    print(f"\n== Heaviest theme page of the core survey, anonymous visitor, server side (AppTest, median of "
          f"{repeat} runs) vs the same figures in pandas ==")
    print(f"{'rows':>10} {'page':>14} {'charts':>7} {'rerun ms':>9} {'cold view ms':>13} {'pandas ms':>10}")
    book = load_codebook("core")
    for size in sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        reruns = {}
        for theme in book.themes:
            at._page_hash = calc_hash(theme.id)
            at.run()
            assert not at.exception, at.exception
            reruns[theme.id] = _median(at.run, max(5, repeat // 2))
        heaviest = max(reruns, key=reruns.get)
        at._page_hash = calc_hash(heaviest)
        at.run()
        rerun = _median(at.run, repeat)
        charts = len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart"))
        cold_s = _cold_view(at, repeat)
        names = [v.name for v in questions(book, heaviest, "public")] + ["age_band", "gender"]
        df = pd.read_parquet(dataset_path(directory, "core"), columns=list(dict.fromkeys(names)))
        pandas_s = _median(lambda df=df, theme=heaviest: theme_in_pandas(df, theme), repeat)
        print(f"{rows:>10,} {heaviest:>14} {charts:>7} {rerun * 1000:>9.1f} {cold_s * 1000:>13.1f} "
              f"{pandas_s * 1000:>10.1f}")
        set_engine(None)
        st.cache_data.clear()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", nargs="+", choices=[*PAGES, "themes"], default=[*PAGES, "themes"])
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    # As on a server that has served one visit: the router, not pages/ files, runs (tests/app/conftest.py).
    init = PagesManager.__init__

    def after_first_visit(self, *a, **k):
        init(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = after_first_visit

    for page in args.pages:
        if page == "themes":
            _bench_themes(args.sizes, args.repeat)
        else:
            _bench_page(page, args.sizes, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
