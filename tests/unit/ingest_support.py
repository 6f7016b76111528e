"""Shared by the ingest tests: the Kobo fixtures (tests/fixtures/make_fixtures.py), a data directory with a
version loaded, and a fingerprint of a data directory to show that a refused load changed nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.ingest import load

KOBO = Path(__file__).resolve().parents[1] / "fixtures" / "kobo"
FORM, FORM_V2 = KOBO / "form.xlsx", KOBO / "form_v2.xlsx"
MAPPING, MAPPING_V2 = KOBO / "mapping.yaml", KOBO / "mapping_v2.yaml"
EXPORTS = sorted(p.name for p in KOBO.glob("export_*"))
DEFAULT_EXPORT = KOBO / "export_xml_both.xlsx"
ROUND2 = KOBO / "round2_xml_both.xlsx"


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file under `directory` with a hash of its bytes (the lock file aside)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(directory).rglob("*")) if p.is_file() and p.name != ".lock"}


def main_sheet(frame):
    """The columns of a load of the Kobo fixtures that a CSV export holds: all but the repeat group's."""
    return frame.drop(columns=["companions"])


def load_first_round(data_dir: Path) -> load.Report:
    return load.load(FORM, DEFAULT_EXPORT, MAPPING, dataset="core", data_dir=data_dir)


def prepare(export: Path, data_dir: Path, form: Path = FORM, mapping: Path = MAPPING, **kwargs) -> load.Prepared:
    return load.prepare(form, export, mapping, dataset="core", data_dir=data_dir, **kwargs)
