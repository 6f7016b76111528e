"""The Overview page's and the heaviest theme page's server-side time, for an anonymous visitor,
measured with AppTest, beside a plain pandas baseline computing the same figures in the same run.

    python -m scripts.bench_app                 # 120 thousand core rows (the default data) and 1 million
    python -m scripts.bench_app --sizes 1m --repeat 9

Two portal figures per size:
  rerun      a rerun of the same view (a widget touched, a chart hovered): query results come from the
             process-wide cache, so this is the router, the filter bar and the drawing;
  cold view  the same run with the query cache emptied first: what the first visitor of a new view waits.
The pandas baseline computes the page's figures (total, countries, nationalities, region x year),
unprotected, from the rows already in memory as a DataFrame. Times are medians; AppTest's own overhead
(a script thread per run) is included. Nothing here asserts a time.

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

from components import question
from core.codebook import load_codebook
from core.engine import Engine, dataset_path, set_engine
from core.settings import ROOT
from scripts.bench import data_dir

SIZES = ("120k", "1m")
APP = str(ROOT / "app.py")


def overview_in_pandas(df: pd.DataFrame) -> None:
    len(df)
    df["country_of_interview"].nunique()
    df["nationality"].nunique()
    pd.crosstab(df["region_of_interview"], df["interview_year"])


def theme_in_pandas(df: pd.DataFrame, theme: str) -> None:
    """The figures of a theme page, unprotected, in pandas: what the page shows, without the rules."""
    book = load_codebook("core")
    shown = question.questions(book, theme, "public")
    if question.has_pyramid(book, theme, "public"):
        pd.crosstab(df["age_band"], df["gender"])
    for var in shown:
        col = df[var.name]
        if var.type == "multiple":
            asked = col.dropna().astype(np.int64).to_numpy()
            [((asked >> i) & 1).mean() for i in range(len(var.codes))]
        elif var.type == "number":
            values = col.dropna()
            p75 = values.quantile([0.25, 0.5, 0.75]).iloc[2]
            values.mean()
            cuts = question.edges(var, float(p75))
            if cuts:
                pd.cut(values, [*cuts, np.inf], right=False).value_counts(sort=False)
        else:
            col.value_counts(normalize=True)


def _page(at: AppTest, url_path: str) -> AppTest:
    from streamlit.util import calc_hash

    at._page_hash = calc_hash(url_path)  # as the router's st.Page(url_path=...) is known
    return at.run()


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    # As on a server that has served one visit: the router, not pages/ files, runs (tests/app/conftest.py).
    init = PagesManager.__init__

    def after_first_visit(self, *a, **k):
        init(self, *a, **k)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = after_first_visit

    print(f"\n== Overview page, anonymous visitor, server side (AppTest, median of {args.repeat} runs) "
          "vs the same figures in pandas ==")
    print(f"{'rows':>10} {'rerun ms':>9} {'cold view ms':>13} {'pandas ms':>10}")
    results = []
    for size in args.sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        rerun = _median(at.run, args.repeat)

        def cold(at=at):
            st.cache_data.clear()
            at.run()

        cold_s = _median(cold, max(3, args.repeat // 3))
        df = pd.read_parquet(dataset_path(directory, "core"),
                             columns=["country_of_interview", "nationality", "region_of_interview", "interview_year"])
        pandas_s = _median(lambda df=df: overview_in_pandas(df), args.repeat)
        print(f"{rows:>10,} {rerun * 1000:>9.1f} {cold_s * 1000:>13.1f} {pandas_s * 1000:>10.1f}")
        results.append(theme_bench(at, directory, rows, args.repeat))
        set_engine(None)
        st.cache_data.clear()

    print(f"\n== Heaviest theme page of the core survey, anonymous visitor, server side (AppTest, median of "
          f"{args.repeat} runs) vs the same figures in pandas ==")
    print(f"{'rows':>10} {'page':>14} {'charts':>7} {'rerun ms':>9} {'cold view ms':>13} {'pandas ms':>10}")
    for line in results:
        print(line)
    return 0


def theme_bench(at: AppTest, directory, rows: int, repeat: int) -> str:
    """Rerun every theme page of the core survey; the slowest one's rerun, cold view and pandas time."""
    reruns = {}
    for theme in load_codebook("core").themes:
        _page(at, theme.id)
        assert not at.exception, at.exception
        reruns[theme.id] = _median(at.run, max(5, repeat // 2))
    heaviest = max(reruns, key=reruns.get)
    _page(at, heaviest)
    rerun = _median(at.run, repeat)
    charts = len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart"))

    def cold(at=at):
        st.cache_data.clear()
        at.run()

    cold_s = _median(cold, max(3, repeat // 3))
    book = load_codebook("core")
    names = [v.name for v in question.questions(book, heaviest, "public")] + ["age_band", "gender"]
    df = pd.read_parquet(dataset_path(directory, "core"), columns=list(dict.fromkeys(names)))
    pandas_s = _median(lambda: theme_in_pandas(df, heaviest), repeat)
    return f"{rows:>10,} {heaviest:>14} {charts:>7} {rerun * 1000:>9.1f} {cold_s * 1000:>13.1f} {pandas_s * 1000:>10.1f}"


if __name__ == "__main__":
    sys.exit(main())
