"""The query engine: one in-memory DuckDB database shared by every session of the process.

Each dataset's Parquet file is loaded once into a DuckDB table whose categorical columns are ENUMs
(grouping on them is several times faster than on strings), plus the hidden `_rkey` column of record
keys. The dataset records each ENUM's dictionary, so that queries filter on positions (enum_code)
rather than on strings; all country columns share one dictionary, so that they compare on codes.
The table's rows are stored sorted on the place and the period of interview (CLUSTER), so that DuckDB
skips the row groups a region, country or period filter leaves out (each row group's min and max); no
figure depends on the rows' order (counts and sums; microdata are ordered explicitly).
A dataset is read from its current version (core/data/versions.py: a loaded version with its own codebook, else
the built-in file), resolved again on every call; a new version, or a changed built-in file, is loaded at
the next query, so a new release is picked up without a restart.
Only core/query/tables.py talks to this module; it builds the SQL from codebook names and codes that it has
validated, never from user text.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import settings
from core.data import versions
from core.data.codebook import DATASETS, Codebook, CodebookError, Variable, builtin_codebook, read_codebook
from core.disclosure import CellKeyPerturbation
from core.i18n import t

RKEY = "_rkey"  # record keys: server-side only, never selected into a result (rule 10)
SYNTHETIC_KEY = b"portal.synthetic"
# Table numbers run across the engines of a process, so that a table's name (the key of the query caches,
# components/figures.py data_version) never names two different loads, even when an engine is replaced.
_TABLE_NUMBERS = itertools.count(1)
# The stored table's sort order: the filter bar's place filters (a country lies in one region), then the
# period (quarters in time order, so that a year is a run of them too). A public query keeps one region,
# one country or one period, so on a large table it reads a fraction of the row groups (at 10 million rows,
# a region's filter reads about a fifth). Variables the codebook lacks are left out.
CLUSTER = ("region_of_interview", "country_of_interview", "interview_quarter")
# Releases of one dataset kept loaded at once (the current one and those pinned links open,
# core/data/releases.py); the least recently used beyond this are dropped, and loaded again when asked for.
KEEP_RELEASES = 3


class DataNotBuilt(FileNotFoundError):
    """The dataset's file is missing."""


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def dataset_path(data_dir: Path, dataset: str) -> Path:
    """The built-in (synthetic) data's file; loaded versions live beside it (core/data/versions.py)."""
    return versions.builtin_path(data_dir, dataset)


def source_codebook(source: versions.Source) -> Codebook:
    """The codebook a data source is read with: a loaded version's own, else the built-in one."""
    if source.codebook is not None:
        return read_codebook(source.codebook, source.dataset)
    return builtin_codebook(source.dataset)


@dataclass
class LoadedDataset:
    name: str
    codebook: Codebook
    table: str
    rows: int
    synthetic: bool
    mtime_ns: int
    version: str | None = None  # the loaded version (core/data/versions.py); None: the built-in file
    # The dictionary of each ENUM column, in stored order: a value's position is its enum_code(),
    # so that filters and groupings compare small integers instead of strings.
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Categories of each categorical variable as found in the whole dataset: code -> respondents.
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    # What the public tier may see of this version (core.query._Public), decided at its first public query.
    public: object | None = None
    # Public intervals of number questions whose codebook sets none (core.query.public_bins).
    bins: dict[str, list[float]] = field(default_factory=dict)


class Engine:
    def __init__(self, data_dir: Path | None = None, perturbation: CellKeyPerturbation | None = None):
        self.data_dir = Path(data_dir or settings.GENERATED_DIR)
        self._perturbation = perturbation
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        # (dataset, version) -> the loaded release; `_used` orders them by last use (KEEP_RELEASES).
        self._loaded: dict[tuple[str, str | None], LoadedDataset] = {}
        self._used: dict[tuple[str, str | None], int] = {}
        self._ticks = itertools.count()

    @property
    def perturbation(self) -> CellKeyPerturbation:
        # Built on first use, so that importing the engine needs no secret.
        if self._perturbation is None:
            self._perturbation = CellKeyPerturbation()
        return self._perturbation

    # --- loading --------------------------------------------------------------------------

    def codebook(self, name: str) -> Codebook:
        """The codebook of the dataset's current version (what load_codebook returns)."""
        return source_codebook(versions.source(self.data_dir, name))

    def dataset(self, name: str) -> LoadedDataset:
        source = versions.source(self.data_dir, name)
        try:
            mtime = source.parquet.stat().st_mtime_ns
        except FileNotFoundError:
            raise DataNotBuilt(
                f"No data for {name!r} at {source.parquet}: run `make run` or `python -m scripts.build_data`."
            ) from None
        key = (name, source.version)
        self._used[key] = next(self._ticks)
        loaded = self._loaded.get(key)
        if loaded is not None and loaded.mtime_ns == mtime:
            return loaded
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is None or loaded.mtime_ns != mtime:
                old = loaded
                loaded = self._load(name, source, mtime)
                self._loaded[key] = loaded
                self._used[key] = next(self._ticks)
                if old is not None:
                    self._con.execute(f"DROP TABLE IF EXISTS {ident(old.table)}")
                self._evict(name)
        return loaded

    def _evict(self, name: str) -> None:
        """Drop the least recently used releases of `name` beyond KEEP_RELEASES (under the lock)."""
        kept = sorted((k for k in self._loaded if k[0] == name), key=lambda k: self._used.get(k, -1))
        for key in kept[:max(0, len(kept) - KEEP_RELEASES)]:
            self._con.execute(f"DROP TABLE IF EXISTS {ident(self._loaded.pop(key).table)}")
            self._used.pop(key, None)

    def loaded_releases(self, name: str) -> list[str | None]:
        """The releases of `name` held in memory now (their versions; None: the built-in data)."""
        return [k[1] for k in self._loaded if k[0] == name]

    @staticmethod
    def _enums(codebook: Codebook, arrow: pa.Table) -> dict[str, tuple[str, ...]]:
        """The ENUM dictionary each categorical column is stored with (none: stored as VARCHAR).

        Every country column shares one dictionary, the countries found in any of them, so that
        columns can be compared and coalesced on their codes (route segments in flows())."""
        def found(name: str) -> set[str]:
            return {v for v in pc.unique(arrow.column(name).cast(pa.string())).to_pylist() if v}

        countries = tuple(sorted(set().union(*(found(v.name) for v in codebook.variables.values()
                                               if v.type == "country"))))
        enums = {}
        for var in codebook.variables.values():
            if var.type == "single":
                enums[var.name] = tuple(var.codes)
            elif var.type == "country":
                enums[var.name] = countries
            elif var.type in ("quarter", "year"):
                enums[var.name] = tuple(sorted(found(var.name) | set(codebook.period_codes(var))))
        return {name: values for name, values in enums.items() if values}

    @staticmethod
    def _column_sql(var: Variable, enum: tuple[str, ...] | None) -> str:
        name = ident(var.name)
        if enum:
            return f"CAST({name} AS ENUM({', '.join(lit(c) for c in enum)})) AS {name}"
        if var.type == "multiple":
            return f"CAST({name} AS BIGINT) AS {name}"
        if var.type == "number":
            return f"CAST({name} AS DOUBLE) AS {name}"
        if var.type == "date":
            return f"CAST({name} AS DATE) AS {name}"
        return f"CAST({name} AS VARCHAR) AS {name}"

    def _load(self, name: str, source: versions.Source, mtime: int, cluster: bool = True) -> LoadedDataset:
        codebook = source_codebook(source)
        path = source.parquet
        parquet = pq.ParquetFile(path)
        arrow = parquet.read()
        missing = [v for v in codebook.variables if v not in arrow.column_names]
        if missing:
            raise ValueError(f"{path} lacks the codebook's variables: {', '.join(missing)}")
        keys = self.perturbation.record_keys(arrow.column("respondent_id").to_pylist())
        arrow = arrow.select(list(codebook.variables)).append_column(RKEY, pa.array(keys, pa.int64()))
        enums = self._enums(codebook, arrow)
        columns = [self._column_sql(v, enums.get(v.name)) for v in codebook.variables.values()]
        table = f"{name}_v{next(_TABLE_NUMBERS)}"
        order = [ident(c) for c in CLUSTER if c in codebook.variables and c in enums] if cluster else []
        order_by = f" ORDER BY {', '.join(order)}" if order else ""
        cursor = self._con.cursor()
        cursor.register("incoming", arrow)
        try:
            cursor.execute(f"CREATE TABLE {ident(table)} AS SELECT {', '.join(columns)}, {RKEY} FROM incoming"
                           f"{order_by}")
        except duckdb.ConversionException as e:
            raise ValueError(f"{path}: a value is not in the codebook: {e}") from None
        finally:
            cursor.unregister("incoming")
            cursor.close()
        metadata = parquet.schema_arrow.metadata or {}
        return LoadedDataset(
            name=name, codebook=codebook, table=table, rows=arrow.num_rows,
            synthetic=metadata.get(SYNTHETIC_KEY, b"false") == b"true", mtime_ns=mtime,
            version=source.version, enums=enums,
        )

    def check(self, source: versions.Source) -> LoadedDataset:
        """Load a source as queries would (codebook, columns, ENUM casts, record keys) and drop it again:
        how a new version is checked before it is made current. Raises what loading would raise."""
        loaded = self._load(source.dataset, source, source.parquet.stat().st_mtime_ns, cluster=False)
        self._con.execute(f"DROP TABLE IF EXISTS {ident(loaded.table)}")
        return loaded

    # --- querying -------------------------------------------------------------------------

    def query(self, sql: str) -> pd.DataFrame:
        """Run one SELECT on a cursor of its own (a DuckDB connection is not thread-safe)."""
        cursor = self._con.cursor()
        try:
            return cursor.execute(sql).df()
        finally:
            cursor.close()

    def query_arrays(self, sql: str) -> dict[str, np.ndarray]:
        """Run one SELECT, its columns as NumPy arrays (cheaper than a DataFrame for small results;
        a column with NULLs comes as a masked array)."""
        cursor = self._con.cursor()
        try:
            return cursor.execute(sql).fetchnumpy()
        finally:
            cursor.close()

    def category_sizes(self, ds: LoadedDataset, var: Variable) -> dict[str, int]:
        """Respondents per category over the whole dataset (rule 8 decides on these)."""
        if var.name not in ds.sizes:
            col = ident(var.name)
            if var.type == "multiple":
                sums = ", ".join(
                    f"count(*) FILTER (WHERE ({col} >> {i}) & 1 = 1) AS {ident(code)}"
                    for i, code in enumerate(var.codes)
                )
                row = self.query(f"SELECT {sums} FROM {ident(ds.table)}").iloc[0]
                found = {code: int(row[code]) for code in var.codes}
            else:
                df = self.query(f"SELECT {col}::VARCHAR AS code, count(*) AS n FROM {ident(ds.table)} "
                                f"WHERE {col} IS NOT NULL GROUP BY 1")
                found = dict(zip(df["code"], df["n"].astype(int)))
            self.set_category_sizes(ds, var, found)
        return ds.sizes[var.name]

    @staticmethod
    def set_category_sizes(ds: LoadedDataset, var: Variable, found: dict[str, int]) -> None:
        """Record a variable's respondents per category (counted by the caller), in display order: the
        codebook's for choices, the largest first for countries, time order for quarters and years."""
        if var.type in ("single", "multiple"):
            order = var.codes
        elif var.type in ("quarter", "year"):
            order = sorted(set(found) | set(ds.codebook.period_codes(var)))
        else:
            order = sorted(found, key=lambda c: (-found[c], c))
        ds.sizes[var.name] = {code: int(found.get(code, 0)) for code in order}


_default: Engine | None = None
_default_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine: every session shares its tables."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Engine()
    return _default


def load_codebook(dataset: str) -> Codebook:
    """The codebook of `dataset` as the portal shows it: that of the data the engine reads (a loaded
    version's own codebook, core/data/versions.py; else the built-in one). Read files are cached by
    core.data.codebook.read_codebook (clear that cache after editing a codebook file)."""
    return get_engine().codebook(dataset)


def dataset_name(dataset: str, lang: str) -> str:
    """A dataset's name as menus show it: a built-in one's from the catalogues, a created one's title."""
    if dataset in DATASETS:
        return t(f"dataset.{dataset}", lang)
    try:
        return load_codebook(dataset).title(lang)
    except (FileNotFoundError, CodebookError, KeyError):
        return dataset


def set_engine(engine: Engine | None) -> None:
    """Point the API at another engine (benchmarks at other sizes, tests on other data)."""
    global _default
    _default = engine
