"""Benchmark of a data load, printed beside a plain pandas read of the same file in the same run.

    python -m scripts.bench_ingest                      # 200,000 rows, Kobo's default CSV layout
    python -m scripts.bench_ingest --rows 30000 --format xlsx    # `make bench` runs 30,000 rows of each format

The export is made once from the synthetic core data (core.ingest.kobo.write_sample: the codebook's form,
its mapping, XML values, multiple choice as one column and as 0/1 columns, group names in the headers)
into data/bench/ingest/ (git-ignored). Each measurement runs in a fresh process, so that its peak memory is
its own (and timed without tracemalloc, which slows Python down; the Python peak comes from a second,
traced run): the check alone (core.ingest.load.prepare: every cell read and checked, nothing written), the
whole load (check, then write the new version and read it back, core.ingest.load) and
pandas reading the same file with every cell as text (`pd.read_csv(dtype=str, keep_default_na=False)`, or
`pd.read_excel(dtype=str)`), which checks nothing and writes nothing. Printed: seconds, rows per second,
peak resident memory of the process (VmHWM, else ru_maxrss), and the peak of Python allocations (tracemalloc) and of
Arrow's memory pool (where the load keeps the export's cells). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

from core.settings import DATA_DIR

BENCH_DIR = DATA_DIR / "bench" / "ingest"


def sample(rows: int, fmt: str) -> tuple[Path, Path, Path]:
    """The benchmark's form, export and mapping, made once per size and format."""
    from core.data.codebook import builtin_codebook
    from core.data.store import DEFAULT_SEED
    from core.data.synthetic import generate
    from core.ingest.kobo import Layout, write_sample

    directory = BENCH_DIR / f"{rows}-{fmt}"
    stamp = directory / "made.json"
    files = (directory / "form.xlsx", directory / f"export.{fmt}", directory / "mapping.yaml")
    if stamp.exists() and all(f.exists() for f in files):
        return files
    print(f"writing a {rows:,}-row Kobo export into {directory} (once)...", file=sys.stderr)
    start = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    frame = generate("core", n=rows, seed=DEFAULT_SEED)
    made = write_sample(directory, builtin_codebook("core"), frame, Layout(format=fmt))
    stamp.write_text(json.dumps({"rows": rows, "format": fmt}))
    print(f"  written in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return made


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes: VmHWM (reset by exec, unlike ru_maxrss, which a
    spawned process inherits from its parent on Linux), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measure(task: str, files: list[str], traced: bool, out: multiprocessing.Queue) -> None:
    import pyarrow as pa

    form, export, mapping = map(Path, files)
    if traced:  # tracemalloc slows Python down: its run is not the timed one
        tracemalloc.start()
    start = time.perf_counter()
    if task == "check":
        from core.ingest import load

        rows = load.prepare(form, export, mapping, dataset="core", data_dir=BENCH_DIR / "data",
                            replace=True).report.total
    elif task == "portal":
        from core.ingest import load

        data_dir = BENCH_DIR / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        report = load.load(form, export, mapping, dataset="core", data_dir=data_dir, replace=True)
        rows = report.total
    else:
        import pandas as pd

        if export.suffix == ".xlsx":
            frame = pd.read_excel(export, dtype=str)
        else:
            frame = pd.read_csv(export, dtype=str, keep_default_na=False)
        rows = len(frame)
    seconds = time.perf_counter() - start
    python_peak = tracemalloc.get_traced_memory()[1] if traced else None
    out.put({"task": task, "rows": rows, "seconds": seconds, "python_peak": python_peak,
             "arrow_peak": pa.default_memory_pool().max_memory(), "rss_peak": _peak_rss()})


def _run(task: str, files: tuple[Path, ...], traced: bool) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(task, [str(f) for f in files], traced, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def measure(task: str, files: tuple[Path, ...]) -> dict:
    """Seconds, peak RSS and Arrow's peak from a plain run; the Python peak from a traced one."""
    result = _run(task, files, traced=False)
    result["python_peak"] = _run(task, files, traced=True)["python_peak"]
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    args = p.parse_args(argv)
    files = sample(args.rows, args.format)
    size = files[1].stat().st_size / 2**20
    print(f"\n== loading a Kobo export: {args.rows:,} rows, {files[1].name} ({size:.0f} MiB), vs pandas reading "
          "the same file as text (no checks, nothing written) ==")
    print(f"{'':>8} {'seconds':>8} {'rows/s':>9} {'peak RSS MiB':>13} {'Python peak MiB':>16} {'Arrow peak MiB':>15}")
    results = {}
    for task in ("check", "portal", "pandas"):
        r = results[task] = measure(task, files)
        print(f"{task:>8} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>9,.0f} {r['rss_peak'] / 2**20:>13.0f} "
              f"{r['python_peak'] / 2**20:>16.0f} {r['arrow_peak'] / 2**20:>15.0f}")
    ratio = results["portal"]["seconds"] / results["pandas"]["seconds"]
    print(f"ingest_rows_per_second={results['portal']['rows'] / results['portal']['seconds']:.0f} "
          f"check_seconds={results['check']['seconds']:.2f} load_seconds={results['portal']['seconds']:.2f} "
          f"time_vs_pandas_read={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
