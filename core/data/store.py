"""Dataset files: building the synthetic data and writing them where the engine reads them.

A dataset is one Parquet file per name in the data directory. Its file metadata carries the
"synthetic" flag, so that whatever reads the file knows, and every page can say so.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.data import versions
from core.data.engine import SYNTHETIC_KEY, dataset_path
from core.settings import DATASETS, GENERATED_DIR

DEFAULT_SEED = 4141


def write_dataset(frames, path: Path, *, synthetic: bool, provenance: dict) -> Path:
    """Write one DataFrame, or an iterable of DataFrames (chunks of one dataset), as Parquet.

    The file is written beside its destination and renamed over it only when complete, so a reader
    never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(frames, "columns"):
        frames = [frames]
    metadata = {SYNTHETIC_KEY: b"true" if synthetic else b"false",
                b"portal.provenance": json.dumps(provenance).encode()}
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    writer = None
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                schema = table.schema.with_metadata({**(table.schema.metadata or {}), **metadata})
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            raise ValueError("no data to write")
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_synthetic(dataset: str, *, n: int | None = None, seed: int = DEFAULT_SEED,
                    data_dir: Path = GENERATED_DIR) -> Path:
    from core.data import synthetic  # the generator is only needed when building

    frames = synthetic.generate_chunks(dataset, n=n, seed=seed)
    return write_dataset(frames, dataset_path(data_dir, dataset), synthetic=True,
                         provenance={"generator": "core.data.synthetic", "seed": seed, "n": n})


def is_stale_synthetic(path: Path, dataset: str) -> bool:
    """A synthetic file made before its codebook gained a variable: rebuilt rather than refused.
    Real data are never rebuilt; the engine names what they lack."""
    from core.data.codebook import builtin_codebook

    schema = pq.read_schema(path)
    synthetic = (schema.metadata or {}).get(SYNTHETIC_KEY) == b"true"
    return synthetic and not set(builtin_codebook(dataset).variables) <= set(schema.names)


def ensure_built(data_dir: Path = GENERATED_DIR, datasets=DATASETS) -> list[str]:
    """Build the default synthetic datasets that are missing or out of date with their codebook;
    return the names built. A dataset with a loaded version current (real data, core/data/versions.py) is left
    alone: its synthetic file is built when the built-in data are restored."""
    built = []
    for name in datasets:
        if versions.current_version(data_dir, name) is not None:
            continue
        path = dataset_path(data_dir, name)
        if not path.exists() or is_stale_synthetic(path, name):
            build_synthetic(name, data_dir=data_dir)
            built.append(name)
    return built
