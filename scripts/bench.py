"""Benchmarks, printed side by side with a plain pandas baseline measured in the same run.

    python -m scripts.bench                 # 120 thousand, 1 million and 10 million core rows
    python -m scripts.bench --sizes 120k 1m
    python -m scripts.bench --benches microdata --sizes 10m

The query: a two-variable public crosstab (nationality x gender) with two filters (region of interview
and age band), protected for the public tier, through the same API the pages use. The baseline: the
same table, unprotected, with `pandas.crosstab` on the same rows already in memory as a DataFrame.

The researchers' microdata explorer (issue 7): its first page of rows under filters (gender and
region of interview, the period), server side: the count of matching rows, the page of 50 rows of the
default columns (plus a multiple-choice question) cut by DuckDB, in respondent order and sorted on age,
and the labels put on them. The size printed is what st.dataframe sends to the browser for that page
(Arrow IPC bytes), beside what sending every matching row would take. The baseline: pandas filters the
same columns already in memory, sorts and takes the first 50.

The crosstab builder's table (pages/crosstab.py, issue 6): three variables (region of interview and
gender in the rows, age band in the columns) with one filter (interview year), public tier, as the
builder computes it (core.query.pivot.build: the protected cells, their row and column totals and the grand
total, row percentages), beside the same table with margins from `pandas.crosstab(..., margins=True,
normalize="index")` on rows in memory, unprotected. Aims: under 200 ms at 1 million rows, under 1 s at
10 million.

    python -m scripts.bench --benches builder --sizes 1m 10m

Data for 1m and 10m are built once into data/bench/ (git-ignored). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd

from core.data.engine import Engine, dataset_path, set_engine
from core.data.store import build_synthetic, ensure_built, is_stale_synthetic
from core.query import crosstab, pivot
from core.settings import DATA_DIR, GENERATED_DIR

SIZES = {"120k": None, "1m": 1_000_000, "10m": 10_000_000}
# Public filters keep one answer each (rule 12).
FILTERS = {"region_of_interview": ["north_africa"], "age_band": ["25_34"]}
ROWS, COLUMNS = ["nationality"], ["gender"]


def data_dir(size: str) -> Path:
    if SIZES[size] is None:
        ensure_built()
        return GENERATED_DIR
    directory = DATA_DIR / "bench" / size
    path = dataset_path(directory, "core")
    if not path.exists() or is_stale_synthetic(path, "core"):  # made before its codebook changed
        print(f"building {size} core rows into {directory} (once)...", file=sys.stderr)
        start = time.perf_counter()
        build_synthetic("core", n=SIZES[size], data_dir=directory)
        print(f"  built in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return directory


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median seconds over `repeat` runs after one warm-up, and peak Python-allocated MiB of one run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def pandas_baseline(df: pd.DataFrame):
    keep = pd.Series(True, index=df.index)
    for name, codes in FILTERS.items():
        keep &= df[name].isin(codes)
    sub = df[keep]
    return pd.crosstab(sub[ROWS[0]], sub[COLUMNS[0]])


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_crosstab(sizes: list[str], repeat: int) -> dict[str, float]:
    print("\n== public crosstab: nationality x gender, 2 filters, protected (median of "
          f"{repeat} runs) vs pandas.crosstab, unprotected ==")
    print(f"{'rows':>10} {'portal ms':>10} {'pandas ms':>10} {'speedup':>8} "
          f"{'portal MiB':>11} {'pandas MiB':>11} {'process peak MiB':>17}")
    speedups = {}
    for size in sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        portal_s, portal_mib = timed(lambda: crosstab("core", ROWS, COLUMNS, FILTERS, tier="public"), repeat)
        df = pd.read_parquet(dataset_path(directory, "core"), columns=[*ROWS, *COLUMNS, *FILTERS])
        pandas_s, pandas_mib = timed(lambda df=df: pandas_baseline(df), max(3, repeat // 4))
        speedups[size] = pandas_s / portal_s
        print(f"{rows:>10,} {portal_s * 1000:>10.1f} {pandas_s * 1000:>10.1f} {speedups[size]:>7.1f}x "
              f"{portal_mib:>11.1f} {pandas_mib:>11.1f} {rss_mib():>17.0f}")
        del df, engine
        set_engine(None)
        gc.collect()
    return speedups


BUILDER = pivot.Layout(rows=("region_of_interview", "gender"), columns=("age_band",),
                       filters={"interview_year": ("2024",)})


def pandas_builder_baseline(df: pd.DataFrame):
    sub = df[df["interview_year"].isin(BUILDER.filters["interview_year"])]
    return pd.crosstab([sub[r] for r in BUILDER.rows], sub[BUILDER.columns[0]], margins=True, normalize="index")


def bench_builder(sizes: list[str], repeat: int) -> None:
    print("\n== crosstab builder: region x gender by age band, 1 filter, row % with totals, public, "
          f"protected (median of {repeat} runs) vs pandas.crosstab with margins, unprotected ==")
    print(f"{'rows':>10} {'builder ms':>11} {'cells ms':>9} {'pandas ms':>10} {'aim ms':>7}")
    aims = {"1m": 200, "10m": 1000}
    for size in sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        builder_s, _ = timed(lambda: pivot.build("core", BUILDER, "row_pct", "public"), repeat)
        filters = BUILDER.query_filters()
        cells_s, _ = timed(lambda f=filters: crosstab("core", BUILDER.rows, BUILDER.columns, f, tier="public"), repeat)
        year = pd.read_parquet(dataset_path(directory, "core"), columns=[*BUILDER.dims, "interview_year"])
        pandas_s, _ = timed(lambda df=year: pandas_builder_baseline(df), max(3, repeat // 4))
        aim = aims.get(size)
        print(f"{rows:>10,} {builder_s * 1000:>11.1f} {cells_s * 1000:>9.1f} {pandas_s * 1000:>10.1f} "
              f"{aim if aim else '-':>7}")
        del year, engine
        set_engine(None)
        gc.collect()



MICRO_FILTERS = {"gender": ["woman"], "region_of_interview": ["north_africa", "east_africa"],
                 "interview_quarter": [f"{y}Q{q}" for y in range(2021, 2025) for q in range(1, 5)]}
MICRO_COLUMNS = ["respondent_id", "interview_date", "country_of_interview", "interview_town", "nationality", "gender",
                 "age", "drivers"]
MICRO_PAGE = 50


def arrow_bytes(df: pd.DataFrame) -> int:
    """Bytes of the Arrow IPC stream st.dataframe would send for `df` (lists and all)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().size


def explorer_page(sort: str | None):
    from core.data.engine import load_codebook
    from core.query import microdata, total
    from core.query.extract import for_screen

    total("core", MICRO_FILTERS, tier="researcher")
    rows = microdata("core", MICRO_COLUMNS, filters=MICRO_FILTERS, tier="researcher", limit=MICRO_PAGE,
                     sort=sort, descending=sort is not None)
    return for_screen(rows, load_codebook("core"), "en", labels=True)


def pandas_page(df: pd.DataFrame, sort: str | None) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    for name, codes in MICRO_FILTERS.items():
        keep &= df[name].isin(codes)
    sub = df[keep]
    n = len(sub)
    if sort is None:
        return sub.sort_values("respondent_id").head(MICRO_PAGE).assign(_n=n)
    return sub.sort_values([sort, "respondent_id"], ascending=[False, True]).head(MICRO_PAGE).assign(_n=n)


def bench_microdata(sizes: list[str], repeat: int) -> None:
    print(f"\n== researchers' explorer: first page of {MICRO_PAGE} rows under 3 filters, labelled (median of "
          f"{repeat} runs) vs pandas filter + sort + head, rows in memory ==")
    print(f"{'rows':>10} {'matching':>10} {'order':>14} {'portal ms':>10} {'pandas ms':>10} "
          f"{'page sent KiB':>14} {'all rows KiB':>13}")
    for size in sizes:
        directory = data_dir(size)
        engine = Engine(directory)
        set_engine(engine)
        rows = engine.dataset("core").rows
        df = pd.read_parquet(dataset_path(directory, "core"), columns=list(dict.fromkeys(
            [*MICRO_COLUMNS, *MICRO_FILTERS])))
        for sort in (None, "age"):
            portal_s, _ = timed(lambda sort=sort: explorer_page(sort), repeat)
            pandas_s, _ = timed(lambda df=df, sort=sort: pandas_page(df, sort), max(3, repeat // 4))
            page = explorer_page(sort)
            matching = int(pandas_page(df, sort)["_n"].iloc[0])
            # What sending every matching row would weigh: the page's bytes per row, times the rows.
            all_kib = arrow_bytes(page) / len(page) * matching / 1024
            print(f"{rows:>10,} {matching:>10,} {'respondent' if sort is None else 'age, desc':>14} "
                  f"{portal_s * 1000:>10.1f} {pandas_s * 1000:>10.1f} {arrow_bytes(page) / 1024:>14.1f} "
                  f"{all_kib:>13,.0f}")
        del df, engine
        set_engine(None)
        gc.collect()



def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    p.add_argument("--repeat", type=int, default=21)
    p.add_argument("--benches", nargs="+", choices=["crosstab", "builder", "microdata"],
                   default=["crosstab", "builder", "microdata"])
    args = p.parse_args(argv)
    if "crosstab" in args.benches:
        speedups = bench_crosstab(args.sizes, args.repeat)
        if "10m" in speedups:
            print(f"speedup_vs_pandas_10m={speedups['10m']:.1f}")
    if "builder" in args.benches:
        bench_builder([s for s in args.sizes if s in ("1m", "10m")] or args.sizes, max(5, args.repeat // 2))
    if "microdata" in args.benches:
        bench_microdata(args.sizes, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
