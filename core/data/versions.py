"""Versions of a dataset loaded from real survey data (core/ingest), kept side by side, one of them current.

Layout in the data directory (settings.GENERATED_DIR, PORTAL_DATA_DIR):

    <dataset>.parquet             the built-in synthetic data (core/data/store.py): used while no version is current
    <dataset>/current.json        which version is current: {"version": "v0003", ...}
    <dataset>/versions/v0003/     one loaded version, never changed once written:
        data.parquet              the respondents (core.data.store.write_dataset)
        codebook.yaml             its codebook (the schema of data/codebooks/README.md)
        mapping.yaml              the mapping it was made with
        version.json              when, from which files (names, sizes, SHA-256), rows added, replaced, rejected
    <dataset>/staging-*/          a version being written, renamed into versions/ only when complete and checked

A load writes its version into a staging directory, checks it, renames it into versions/ (one rename), then
points current.json at it (written beside and renamed over: one atomic step). A reader sees the old version
or the new one, never half of one; a load that fails leaves current.json as it was. `restore` points
current.json at an earlier version, or back at the built-in data. The engine resolves the current version
on every query (`source`), so a running portal serves a new version from its next query on.

Writers take a lock per dataset (`locked`): the command-line tool and the admin page may load at the same
time without mixing their versions.

Several replicas (PORTAL_DATABASE_URL set, core/shared_state.py): the version directories stay files on the
storage every replica reads (PORTAL_DATA_DIR, mounted at the same path on each), and which version is current
lives in PostgreSQL's `data_versions` table, one row per data directory and dataset: the switch is one
committed UPDATE that every replica follows, reading it at most POINTER_SECONDS later (each replica keeps what
it read for that long, so that the engine's query per figure does not cost a round trip each). current.json
is still written beside, as a mirror for people and tools (and the pointer read while a data directory from
before the shared state has no row yet). The dataset's write lock is then also a PostgreSQL advisory lock,
held across machines.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.shared_state import Database

try:  # POSIX; elsewhere the in-process lock still serialises the portal's own loads
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

MANIFEST = "current.json"
VERSIONS = "versions"
DATA_FILE = "data.parquet"
CODEBOOK_FILE = "codebook.yaml"
MAPPING_FILE = "mapping.yaml"
INFO_FILE = "version.json"
_VERSION = re.compile(r"v\d{4,}")
_thread_lock = threading.Lock()


class VersionError(ValueError):
    """A version that does not exist, or nothing to restore. `code` is stable, for translated messages."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Source:
    """Where the engine reads a dataset from: a loaded version, or the built-in data (version None)."""
    dataset: str
    version: str | None
    parquet: Path
    codebook: Path | None  # None: the built-in codebook in settings.CODEBOOK_DIR


CREATED_FILE = "dataset.json"  # in <dataset>/: a dataset created from a form (no built-in data)
_DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


def datasets(data_dir: Path | None = None) -> tuple[str, ...]:
    """Every dataset the portal serves: the built-in ones, then those created from a survey's form
    (`python -m scripts.ingest create`), found in the data directory (by default GENERATED_DIR) on every
    call."""
    return settings.DATASETS + tuple(d for d in created(data_dir or settings.GENERATED_DIR)
                                     if d not in settings.DATASETS)


def created(data_dir: Path) -> list[str]:
    """The datasets created from a survey's form in `data_dir` (a `dataset.json` and a current version), in
    the order they were created."""
    found = []
    try:
        entries = list(os.scandir(data_dir))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.is_dir() and _DATASET_NAME.fullmatch(entry.name) and \
                os.path.exists(os.path.join(entry.path, CREATED_FILE)) and \
                os.path.exists(os.path.join(entry.path, MANIFEST)):
            found.append((os.stat(os.path.join(entry.path, CREATED_FILE)).st_mtime_ns, entry.name))
    return [name for _, name in sorted(found)]


def is_created(data_dir: Path, dataset: str) -> bool:
    return (dataset_dir(data_dir, dataset) / CREATED_FILE).exists()


def builtin_path(data_dir: Path, dataset: str) -> Path:
    return Path(data_dir) / f"{dataset}.parquet"


def dataset_dir(data_dir: Path, dataset: str) -> Path:
    return Path(data_dir) / dataset


def version_dir(data_dir: Path, dataset: str, version: str) -> Path:
    return dataset_dir(data_dir, dataset) / VERSIONS / version


# -- the pointer in PostgreSQL (several replicas) --------------------------------------------------------

POINTER_SECONDS = 1.0  # how long a replica keeps the pointers it read
_POINTERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_versions (
    data_dir   TEXT NOT NULL,
    dataset    TEXT NOT NULL,
    version    TEXT CHECK (version ~ '^v[0-9]{4,}$'),
    previous   TEXT,
    action     TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (data_dir, dataset)
);"""
# (url, data_dir) -> (read at, monotonic seconds; dataset -> version, None for the built-in data)
_POINTERS: dict[tuple[str, str], tuple[float, dict[str, str | None]]] = {}


def _shared_db() -> Database | None:
    url = settings.database_url()
    if url is None:
        return None
    db = Database(url)
    db.ensure("data_versions", lambda con: con.script(_POINTERS_SCHEMA))
    return db


def _shared_pointers(db: Database, data_dir: str) -> dict[str, str | None]:
    key = (db.url, data_dir)
    found = _POINTERS.get(key)
    now = time.monotonic()
    if found is None or now - found[0] > POINTER_SECONDS:
        with db.connect() as con:
            rows = con.execute("SELECT dataset, version FROM data_versions WHERE data_dir = ?", (data_dir,))
            found = (now, {dataset: version for dataset, version in rows})
        _POINTERS[key] = found
    return found[1]


def forget_pointers() -> None:
    """Read the pointers from PostgreSQL again at the next call (tests; a write does it for its own)."""
    _POINTERS.clear()


def current_version(data_dir: Path, dataset: str) -> str | None:
    """The current loaded version's id, or None when the built-in data are current."""
    if settings.database_url() is not None:
        directory = os.path.abspath(data_dir)
        pointers = _shared_pointers(_shared_db(), directory)
        if dataset in pointers:
            return pointers[dataset]
    # Plain strings, not pathlib: the engine asks on every query (a few microseconds).
    manifest = os.path.join(os.fspath(data_dir), dataset, MANIFEST)
    try:
        with open(manifest, encoding="utf-8") as f:
            version = json.load(f).get("version")
    except FileNotFoundError:
        return None
    if version is not None and not _VERSION.fullmatch(str(version)):
        raise ValueError(f"{manifest}: {version!r} is not a version id")
    return version


@functools.lru_cache(maxsize=256)
def _source(data_dir: str, dataset: str, version: str | None) -> Source:
    if version is None:
        return Source(dataset, None, builtin_path(Path(data_dir), dataset), None)
    folder = version_dir(Path(data_dir), dataset, version)
    return Source(dataset, version, folder / DATA_FILE, folder / CODEBOOK_FILE)


# Releases pinned for the running code (a shared link's `?release=`, core/data/releases.py): dataset ->
# version (None: the built-in data). A context variable, so that it holds for one Streamlit script run
# (one thread) and never for another visitor's.
_PINNED: contextvars.ContextVar[dict[str, str | None] | None] = contextvars.ContextVar("portal_pinned_releases",
                                                                                       default=None)


def pin(dataset: str, version: str | None) -> contextvars.Token:
    """Read `dataset` from `version` (None: the built-in data) instead of its current version, in this
    context, until `unpin` with the returned token. The caller checks that the version exists
    (core.data.releases.resolve)."""
    return _PINNED.set({**(_PINNED.get() or {}), dataset: version})


def unpin(token: contextvars.Token) -> None:
    _PINNED.reset(token)


@contextlib.contextmanager
def pinned(dataset: str, version: str | None) -> Iterator[None]:
    """`pin` for the length of a with block."""
    token = pin(dataset, version)
    try:
        yield
    finally:
        unpin(token)


def set_pins(found: dict[str, str | None]) -> None:
    """Pin exactly these releases in this context, replacing any pinned before (the router, at the start
    of each script run: Streamlit may rerun a session's script in the same thread)."""
    _PINNED.set(dict(found) or None)


def pins() -> dict[str, str | None]:
    """The releases pinned in this context: dataset -> version (None: the built-in data)."""
    return dict(_PINNED.get() or {})


def source(data_dir: Path, dataset: str) -> Source:
    """The files of the current version of `dataset` (current.json is read on every call: it is small,
    and a load may have swapped a new version in since), or of the version pinned in this context (`pin`)."""
    pinned_now = _PINNED.get()
    if pinned_now and dataset in pinned_now:
        return _source(os.fspath(data_dir), dataset, pinned_now[dataset])
    return _source(os.fspath(data_dir), dataset, current_version(data_dir, dataset))


def version_ids(data_dir: Path, dataset: str) -> list[str]:
    folder = dataset_dir(data_dir, dataset) / VERSIONS
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if _VERSION.fullmatch(p.name)), key=lambda v: int(v[1:]))


def info(data_dir: Path, dataset: str, version: str) -> dict:
    """What version.json records about one version, with its id."""
    path = version_dir(data_dir, dataset, version) / INFO_FILE
    try:
        with path.open(encoding="utf-8") as f:
            return {**json.load(f), "version": version}
    except FileNotFoundError:
        return {"version": version}


def history(data_dir: Path, dataset: str) -> list[dict]:
    """Every loaded version of `dataset`, oldest first, each with `current` set on the one in use."""
    current = current_version(data_dir, dataset)
    return [{**info(data_dir, dataset, v), "current": v == current} for v in version_ids(data_dir, dataset)]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json(path: Path, content: dict) -> None:
    """Write a small JSON file whole: beside its destination, flushed, then renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, ensure_ascii=False, default=str)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def locked(data_dir: Path, dataset: str) -> Iterator[None]:
    """Hold the dataset's write lock: threads of this process and, through flock, other processes; with
    PORTAL_DATABASE_URL, also a PostgreSQL advisory lock, which holds across machines."""
    folder = dataset_dir(data_dir, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    db = _shared_db()
    with _thread_lock, (folder / ".lock").open("a") as handle, \
            (db.connect() if db else contextlib.nullcontext()) as con:
        name = f"portal data version {os.path.abspath(data_dir)} {dataset}"
        if con is not None:
            con.execute("SELECT pg_advisory_lock(hashtext(?))", (name,))
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
            if con is not None:
                con.execute("SELECT pg_advisory_unlock(hashtext(?))", (name,))


def new_staging(data_dir: Path, dataset: str) -> Path:
    """An empty directory (mode 0700) to write a version into, beside the versions (same file system: one
    rename). Call under `locked`: any other staging directory is then what a killed load left behind."""
    folder = dataset_dir(data_dir, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("staging-*"):
        discard(stale)
    return Path(tempfile.mkdtemp(prefix="staging-", dir=folder))


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def _point_at(data_dir: Path, dataset: str, version: str | None, previous: str | None, action: str) -> None:
    changed_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    db = _shared_db()
    if db is not None:  # the switch every replica follows; the file below is its mirror
        directory = os.path.abspath(data_dir)
        with db.connect() as con:
            con.execute("INSERT INTO data_versions (data_dir, dataset, version, previous, action, changed_at) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (data_dir, dataset) DO UPDATE SET "
                        "version = EXCLUDED.version, previous = EXCLUDED.previous, action = EXCLUDED.action, "
                        "changed_at = EXCLUDED.changed_at",
                        (directory, dataset, version, previous, action, changed_at))
        _POINTERS.pop((db.url, directory), None)
    write_json(dataset_dir(data_dir, dataset) / MANIFEST, {
        "dataset": dataset, "version": version, "previous": previous, "action": action,
        "changed_at": changed_at,
    })


def commit(data_dir: Path, dataset: str, staging: Path) -> str:
    """Make a complete, checked staging directory the next version and the current one; its id.
    Call under `locked`."""
    ids = version_ids(data_dir, dataset)
    version = f"v{(int(ids[-1][1:]) + 1 if ids else 1):04d}"
    target = version_dir(data_dir, dataset, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = current_version(data_dir, dataset)
    os.rename(staging, target)
    _fsync_dir(target.parent)
    _point_at(data_dir, dataset, version, previous, "load")
    return version


def restore(data_dir: Path, dataset: str, version: str | None = None, *, builtin: bool = False) -> str | None:
    """Make an earlier version current again: `version`, else the one that was in use when the current one
    was loaded (its version.json's "previous"; the built-in data before the first), never a version that
    was itself rolled back and loaded over. `builtin=True` goes back to the built-in data. Returns the version now current
    (None: the built-in data). The versions themselves are kept."""
    with locked(data_dir, dataset):
        current = current_version(data_dir, dataset)
        ids = version_ids(data_dir, dataset)
        if builtin:
            target = None
        elif version is not None:
            if version not in ids:
                raise VersionError("unknown_version", f"{dataset} has no version {version!r}",
                                   version=version, known=", ".join(ids) or "-")
            target = version
        else:
            if current is None:
                raise VersionError("nothing_to_restore",
                                   f"{dataset} already uses its built-in data: there is no earlier version")
            recorded = info(data_dir, dataset, current)
            if "previous" in recorded:  # the version in use when the current one was loaded
                target = recorded["previous"] if recorded["previous"] in ids else None
            else:  # a version written before "previous" was recorded
                earlier = [v for v in ids if int(v[1:]) < int(current[1:])]
                target = earlier[-1] if earlier else None
        if target is None and is_created(data_dir, dataset):  # no built-in data to go back to
            raise VersionError("nothing_to_restore_created",
                               f"{dataset} was created from a form: there is no version before {current}",
                               version=current or "-")
        _point_at(data_dir, dataset, target, current, "restore")
        return target
