"""Build the synthetic datasets.

    python -m scripts.build_data                 # the three default datasets, only those missing
    python -m scripts.build_data --force         # rebuild them
    python -m scripts.build_data --dataset core --rows 1000000 --out data/bench/1m
"""

import argparse
import sys
import time
from pathlib import Path

from core.data.engine import dataset_path
from core.data.store import DEFAULT_SEED, build_synthetic
from core.settings import DATASETS, GENERATED_DIR


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=DATASETS, action="append", help="default: all three")
    p.add_argument("--rows", type=int, help="number of respondents (default: the dataset's size)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=GENERATED_DIR, help="directory of the Parquet files")
    p.add_argument("--force", action="store_true", help="rebuild files that exist")
    args = p.parse_args(argv)
    for name in args.dataset or DATASETS:
        path = dataset_path(args.out, name)
        if path.exists() and not args.force:
            continue
        start = time.perf_counter()
        build_synthetic(name, n=args.rows, seed=args.seed, data_dir=args.out)
        print(f"built {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
