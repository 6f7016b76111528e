"""Where things are, and the settings and secrets the core reads (no Streamlit here).

Secrets come from environment variables first, then from `.streamlit/secrets.toml` (git-ignored, made
by `make run`/`make test` when missing), so that a notebook and the portal see the same values.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
CODEBOOK_DIR = DATA_DIR / "codebooks"
DISCLOSURE_SETTINGS = DATA_DIR / "disclosure.toml"
# Generated data are git-ignored; PORTAL_DATA_DIR points elsewhere (benchmarks, tests, deployments).
GENERATED_DIR = Path(os.environ.get("PORTAL_DATA_DIR", DATA_DIR / "generated"))
SECRETS_FILE = Path(os.environ.get("PORTAL_SECRETS_FILE", ROOT / ".streamlit" / "secrets.toml"))

DATASETS = ("core", "covid", "returns")  # the built-in datasets, with synthetic data and codebooks of their own
LANGUAGES = ("en", "fr", "es")
# Where a visitor reports an accessibility barrier or a problem (the About page's statement): an e-mail
# address or a web address of the team that runs the portal.
CONTACT = os.environ.get("PORTAL_CONTACT", "")


# The recommended citation of a dataset's release (core/data/releases.py; README "Citing the data"). Read at
# call time, so that a test or a deployment can set them without a restart of the interpreter.
def organisation() -> str:
    """Who publishes the data, the citation's author (PORTAL_ORGANISATION)."""
    return os.environ.get("PORTAL_ORGANISATION", "").strip() or "Mixed Migration Centre"


def public_url() -> str:
    """The portal's public address (PORTAL_PUBLIC_URL), without a trailing slash; "" when unset."""
    return os.environ.get("PORTAL_PUBLIC_URL", "").strip().rstrip("/")


def doi(dataset: str, release: str | None = None) -> str:
    """The DOI set for a release (PORTAL_DOI_<DATASET>_<RELEASE>, e.g. PORTAL_DOI_CORE_V0003), else for
    the dataset (PORTAL_DOI_<DATASET>, e.g. PORTAL_DOI_CORE); "" when neither is set."""
    names = ([f"PORTAL_DOI_{dataset}_{release}".upper()] if release else []) + [f"PORTAL_DOI_{dataset}".upper()]
    return next((os.environ[n].strip() for n in names if os.environ.get(n, "").strip()), "")


# Where the state shared by replicas lives (core/shared_state.py): unset, the embedded default (the audit
# log's SQLite file, users.yaml, the throttle and idle registry in memory, current.json files); set to a
# PostgreSQL URL (e.g. postgresql://portal@/portal?host=/run/postgresql), all of it in that database, so
# that several replicas behind a load balancer share it (README, "Several replicas"). Read at call time.
DATABASE_ENV = "PORTAL_DATABASE_URL"


def database_url() -> str | None:
    """The PostgreSQL URL of the shared state (PORTAL_DATABASE_URL), None for the embedded default."""
    value = os.environ.get(DATABASE_ENV, "").strip()
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"{DATABASE_ENV} must be a postgresql:// URL, not {value[:40]!r}")
    return value


class MissingSecret(RuntimeError):
    """A secret the portal needs is not configured; the message says where to put it."""


def _secrets_file() -> dict:
    try:
        with SECRETS_FILE.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}


def secret(name: str, *, env: str) -> str:
    """A secret from the environment variable `env`, else `name` in the secrets file."""
    value = os.environ.get(env) or _secrets_file().get(name)
    if not value:
        raise MissingSecret(
            f"The secret {name!r} is not set: set the environment variable {env} or add "
            f"{name} = \"...\" to {SECRETS_FILE} (`python -m scripts.init_secrets` writes one)."
        )
    return str(value)


def ckm_secret() -> bytes:
    """The key of the record keys (design.md rule 1). Never leaves the server."""
    value = secret("ckm_secret", env="PORTAL_CKM_SECRET")
    if len(value) < 32:
        raise MissingSecret("The secret 'ckm_secret' must be at least 32 characters long.")
    return value.encode()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number


# Limits of a data load (core/ingest), checked before anything is parsed; README "Loading real data".
# Read as settings.NAME at call time, so that a test can lower one.
INGEST_MAX_FILE_MB = _env_int("PORTAL_INGEST_MAX_FILE_MB", 500)        # an export
INGEST_MAX_FORM_MB = _env_int("PORTAL_INGEST_MAX_FORM_MB", 20)         # an XLSForm or a mapping file
INGEST_MAX_ROWS = _env_int("PORTAL_INGEST_MAX_ROWS", 1_000_000)        # data rows of one export
INGEST_MAX_COLUMNS = _env_int("PORTAL_INGEST_MAX_COLUMNS", 5_000)      # columns of one export
# An .xlsx is a zip: refused before it is opened when its members would unpack to more than this in all,
# when one member would grow more than INGEST_MAX_ZIP_RATIO times (a zip bomb: Office XML grows 5 to
# 30 times), or when it has more members than a workbook has.
INGEST_MAX_UNZIPPED_MB = _env_int("PORTAL_INGEST_MAX_UNZIPPED_MB", 4_096)
INGEST_MAX_ZIP_RATIO = _env_int("PORTAL_INGEST_MAX_ZIP_RATIO", 200)
INGEST_MAX_ZIP_MEMBERS = _env_int("PORTAL_INGEST_MAX_ZIP_MEMBERS", 1_000)


# The portal's clock for dated decisions (access grants and their expiry, the audit log): UTC now, or the
# moment PORTAL_NOW names (ISO 8601, e.g. 2027-03-01T12:00:00Z), read at call time so that a test moves it.
NOW_ENV = "PORTAL_NOW"


def now():
    """The current time, timezone-aware UTC; PORTAL_NOW overrides it (tests, demonstrations)."""
    import datetime as dt

    value = os.environ.get(NOW_ENV)
    if not value:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{NOW_ENV} must be an ISO 8601 date or time, not {value!r}") from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
