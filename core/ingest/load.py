"""A load, in two steps that the command-line tool and the admin page share: `prepare` reads and checks
everything and says what would change (a dry run: nothing is written), `commit` writes the new version
beside the current one, checks it as the engine will read it, and swaps it in (core/data/versions.py).

A new round is appended to the current version: respondents already loaded are recognised by their id
and replaced by their new row (never counted twice), new ones are added. Record keys, the cell-key
method's per-respondent secret (core/disclosure.py), are a keyed hash of the respondent id: the same id
keeps the same key in every version, so a respondent's protected counts stay consistent between releases.
`replace=True` starts the dataset again from this export alone.

By default any error refuses the whole load. With `skip_invalid=True`, rows with errors are left out and
listed as rejected; problems with the files themselves still refuse it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from core import settings
from core.data import versions
from core.data.codebook import Codebook, CodebookError, parse_codebook, read_codebook
from core.data.engine import dataset_name
from core.data.store import write_dataset
from core.i18n import t
from core.ingest import files, repeats
from core.ingest.build import Plan, build_plan, codebook_dict
from core.ingest.mapping import DATASET_NAME, read_mapping
from core.ingest.problems import ERROR, INFO, WARNING, IngestError, Problem, errors, refuse
from core.ingest.reader import read_rows, to_column
from core.ingest.xlsform import read_form

REJECTED_LISTED = 200  # rejected rows kept in the report by row number and id
# Problems of a whole column or sheet: refused even with skip_invalid (leaving rows out would not mend
# them); the FORCEABLE ones load with force=True, as warnings, the values missing.
FATAL = ("column_missing", "column_missing_mapped", "column_mostly_unknown", "repeat_sheet_missing",
         "repeat_link_missing")
FORCEABLE = ("column_missing_mapped", "column_mostly_unknown", "repeat_sheet_missing")


@dataclass
class Report:
    """What a load does (after `prepare`) or did (after `commit`: `version` is set)."""
    dataset: str
    mode: str                         # "new": the dataset starts again; "append": a round added to `base`
    base: str | None                  # the version appended to (None: none)
    files: dict[str, dict]            # "form", "export", "mapping" -> name, bytes, sha256
    rows_read: int = 0
    added: int = 0
    replaced: int = 0
    rejected: int = 0
    total: int = 0                    # respondents in the new version
    rejected_rows: list[dict] = field(default_factory=list)   # {"row", "id"} of the first rejected rows
    period: tuple[str, str] | None = None
    layout: dict[str, str] = field(default_factory=dict)      # headers, multiple, delimiter, encoding, sheet
    problems: list[Problem] = field(default_factory=list)     # warnings and notes (errors refuse the load)
    version: str | None = None
    created: bool = False             # a new dataset, made from the form (`create`)

    def summary(self, lang: str) -> list[tuple[str, str]]:
        """(label, value) lines in `lang`: what a person checks before and after loading."""
        def n(x):
            return t("ingest.report.count", lang, n=x)

        lines = [
            (t("ingest.report.dataset", lang), self.dataset if self.created else dataset_name(self.dataset, lang)),
            (t("ingest.report.mode", lang), t(f"ingest.report.mode_{self.mode}", lang, base=self.base or "-")),
            (t("ingest.report.rows_read", lang), n(self.rows_read)),
            (t("ingest.report.added", lang), n(self.added)),
            (t("ingest.report.replaced", lang), n(self.replaced)),
            (t("ingest.report.rejected", lang), n(self.rejected)),
            (t("ingest.report.total", lang), n(self.total)),
        ]
        if self.period:
            lines.append((t("ingest.report.period", lang), f"{self.period[0]} – {self.period[1]}"))
        if self.version:
            lines.append((t("ingest.report.version", lang), self.version))
        return lines

    def messages(self, lang: str, levels=(WARNING, INFO)) -> list[tuple[str, str]]:
        return [(p.level, p.message(lang)) for p in self.problems if p.level in levels]

    def as_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["problems"] = [{**dataclasses.asdict(p), "message": p.message("en")} for p in self.problems]
        return out


@dataclass
class Prepared:
    """A checked load, not yet written: `commit` writes it."""
    report: Report
    frame: pd.DataFrame
    codebook: dict
    mapping_text: str
    data_dir: Path
    current: str | None  # the version current when it was checked: commit refuses if it changed since


def _file_info(path: Path, name: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return {"name": name, "bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def _canonical(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The plan's columns in one dtype per type, so that an earlier version's rows and the new ones concat."""
    out = {}
    n = len(frame)
    for v in plan.variables:
        column = frame[v.name] if v.name in frame else None
        if column is None:
            column = to_column(v, None, n, v.codes)
        if v.type in ("id", "country", "quarter", "year"):
            out[v.name] = pd.Series(column, dtype="string[pyarrow]").array
        elif v.type == "single":
            series = pd.Series(column)
            if not isinstance(series.dtype, pd.CategoricalDtype):
                series = series.astype("category")
            out[v.name] = series.cat.set_categories(v.codes).array
        elif v.type == "multiple":
            out[v.name] = pd.Series(column).astype("Int64").array
        elif v.type == "number":
            out[v.name] = pd.Series(column).astype("Int64" if v.integer else "Float64").array
        elif v.type == "date":
            out[v.name] = pd.Series(column).astype("datetime64[us]").array
    return pd.DataFrame(out)


def _base(source: versions.Source, replace: bool) -> tuple[str | None, Codebook | None]:
    """The version a round is appended to, and its codebook (None: the dataset starts from this export)."""
    if replace or source.version is None:
        return None, None
    return source.version, read_codebook(source.codebook, source.dataset)


def prepare(form_path: Path, export_path: Path, mapping_path: Path, *, dataset: str,
            data_dir: Path | None = None, replace: bool = False, skip_invalid: bool = False,
            encoding: str | None = None, sheet: str | None = None, names: dict[str, str] | None = None,
            force: bool = False, create: bool = False) -> Prepared:
    """Read and check a form, an export and a mapping for `dataset`: what loading them would give.
    Raises IngestError (with every error found) and changes nothing. `names` are the files' names as the
    user knows them ("form", "export", "mapping"), for messages; by default the paths' names."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    names = {"form": Path(form_path).name, "export": Path(export_path).name, "mapping": Path(mapping_path).name,
             **(names or {})}
    if create:  # a new dataset of its own name, made from the form
        if not DATASET_NAME.fullmatch(dataset or ""):
            raise refuse("dataset_name", dataset=str(dataset))
        if dataset in settings.DATASETS or versions.current_version(data_dir, dataset) is not None:
            raise refuse("dataset_exists", dataset=dataset)
        replace = True
    elif dataset not in versions.datasets(data_dir):
        raise refuse("dataset_unknown", dataset=dataset, known=", ".join(versions.datasets(data_dir)))
    form = read_form(form_path, names["form"])
    mapping = read_mapping(mapping_path, form, names["mapping"], dataset)
    current = versions.source(data_dir, dataset)  # read once: commit refuses if it is no longer current
    base_version, base_codebook = _base(current, replace)
    # A CSV export holds the main sheet only: the plan leaves repeat groups out, and says so.
    xlsx = files.export_format(export_path, names["export"]) == "xlsx"
    plan = build_plan(form, mapping, base_codebook, repeats=xlsx)
    raw = files.read_export(export_path, names["export"], encoding=encoding, sheet=sheet)
    if raw.num_rows == 0:
        raise refuse("no_rows", file=raw.file, sheet=raw.sheet)
    in_repeats = [v.repeat for v in plan.summaries()]
    sheets = repeats.read_sheets(export_path, names["export"], form, in_repeats, raw.sheet) if in_repeats else None
    result = read_rows(raw, form, plan, force=force, sheets=sheets)
    new = result.frame
    problems = [*plan.problems, *result.problems]
    bad = result.bad
    fatal = [p for p in errors(problems) if p.key in FATAL]
    if fatal or (errors(problems) and not skip_invalid) or bad.all():
        raise IngestError(errors(problems) or [Problem("no_rows", {}, file=raw.file, sheet=raw.sheet)])
    rejected_rows = []
    if bad.any():
        ids = new["respondent_id"]
        for i in np.nonzero(bad)[0][:REJECTED_LISTED]:
            rejected_rows.append({"row": int(result.row_numbers[i]),
                                  "id": None if pd.isna(ids.iloc[i]) else str(ids.iloc[i])})
        problems = [dataclasses.replace(p, level=WARNING) if p.level == ERROR else p for p in problems]
        problems.insert(0, Problem("rows_rejected", {"n": int(bad.sum())}, file=raw.file, level=WARNING))
        new = new[~bad].reset_index(drop=True)
    new = _canonical(new, plan)

    replaced = 0
    if base_version is not None:
        old = _canonical(pd.read_parquet(current.parquet), plan)
        again = old["respondent_id"].isin(new["respondent_id"]).to_numpy()
        replaced = int(again.sum())
        frame = pd.concat([old[~again], new], ignore_index=True)
    else:
        frame = new
    period = mapping.period or _data_period(frame)
    raw_codebook = codebook_dict(plan, mapping, form, period)
    try:
        parse_codebook(raw_codebook, dataset)
    except CodebookError as e:
        raise refuse("codebook_invalid", file=names["mapping"], detail=str(e)) from None
    report = Report(
        dataset=dataset, mode="append" if base_version else "new", base=base_version, created=create,
        files={"form": _file_info(form_path, names["form"]), "export": _file_info(export_path, names["export"]),
               "mapping": _file_info(mapping_path, names["mapping"])},
        rows_read=raw.num_rows, added=len(new) - replaced, replaced=replaced, rejected=int(bad.sum()),
        total=len(frame), rejected_rows=rejected_rows, period=(period[0].isoformat(), period[1].isoformat()),
        layout={"headers": result.columns.mode, "multiple": result.multiple_layout, "delimiter": raw.delimiter or "",
                "encoding": raw.encoding or "", "sheet": raw.sheet or "", "hxl": "yes" if raw.hxl else "no"},
        problems=problems)
    return Prepared(report=report, frame=frame, codebook=raw_codebook,
                    mapping_text=Path(mapping_path).read_text(encoding="utf-8-sig"), data_dir=data_dir,
                    current=current.version)


def _data_period(frame: pd.DataFrame) -> tuple[dt.date, dt.date]:
    dates = frame["interview_date"].dropna()
    return dates.min().date(), dates.max().date()


NOTES_MAX_CHARS = 4000  # the release notes an admin writes at load time (core/data/releases.py shows them)


def commit(prepared: Prepared, by: str | None = None, notes: str | None = None) -> Report:
    """Write the prepared version beside the current one, check it as queries will read it, and make it
    current. Refused, with nothing changed, when another load changed the dataset since `prepare`. `by`:
    who loaded it (an admin's username, or the server account of the command line), kept in version.json;
    `notes`: the release notes the admin wrote (public, on the Data releases page), kept there too."""
    report = prepared.report
    data_dir, dataset = prepared.data_dir, report.dataset
    with versions.locked(data_dir, dataset):
        if versions.current_version(data_dir, dataset) != prepared.current:
            raise refuse("changed_meanwhile", dataset=dataset)
        staging = versions.new_staging(data_dir, dataset)
        try:
            write_dataset(prepared.frame, staging / versions.DATA_FILE, synthetic=False,
                          provenance={"loaded_by": "core.ingest", "files": report.files, "base": report.base})
            with open(staging / versions.CODEBOOK_FILE, "w", encoding="utf-8") as f:
                f.write("# Written by core/ingest from the form and the mapping.yaml beside it; schema: data/codebooks/README.md\n")
                yaml.safe_dump(prepared.codebook, f, allow_unicode=True, sort_keys=False, width=120)
            (staging / versions.MAPPING_FILE).write_text(prepared.mapping_text, encoding="utf-8")
            _check_written(staging, dataset, len(prepared.frame))
            # "previous": the version in use before this one, where a plain `restore` goes back to.
            info = {"created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "by": by,
                    "previous": prepared.current, "notes": (notes or "").strip()[:NOTES_MAX_CHARS],
                    **_info(report)}
            versions.write_json(staging / versions.INFO_FILE, info)
            if report.created:
                if versions.current_version(data_dir, dataset) is not None:
                    raise refuse("dataset_exists", dataset=dataset)
                versions.write_json(versions.dataset_dir(data_dir, dataset) / versions.CREATED_FILE, {
                    "dataset": dataset, "created_at": info["created_at"], "by": by,
                    "form": report.files.get("form", {}).get("name")})
            report.version = versions.commit(data_dir, dataset, staging)
        except BaseException:
            versions.discard(staging)
            raise
    _audit("load", dataset, by, report.version)
    return report


def _audit(action: str, dataset: str, by: str | None, version: str | None) -> None:
    """A load or restore in the audit log (core.auth.audit), beside the microdata views and the grants."""
    from core.auth.audit import AuditLog

    AuditLog().event(action, username=by or "command line", role="admin", dataset=dataset,
                     detail=f"version {version}" if version else "built-in synthetic data")


def _info(report: Report) -> dict:
    return {k: v for k, v in report.as_json().items() if k not in ("problems", "rejected_rows", "version")} | {
        "warnings": [p.message("en") for p in report.problems if p.level == WARNING][:50]}


def _check_written(staging: Path, dataset: str, rows: int) -> None:
    """Read the written files back as the engine will (codebook, columns, types, record keys)."""
    from core.data.engine import Engine  # the engine imports core.data.store, which this module uses

    source = versions.Source(dataset, "staging", staging / versions.DATA_FILE, staging / versions.CODEBOOK_FILE)
    loaded = Engine(staging).check(source)  # reads the codebook file back too
    if loaded.rows != rows:
        raise refuse("check_failed", detail=f"{loaded.rows} rows read back, {rows} written")


def load(form_path: Path, export_path: Path, mapping_path: Path, by: str | None = None, notes: str | None = None,
         **kwargs) -> Report:
    """prepare, then commit: the command-line tool's `load`."""
    return commit(prepare(form_path, export_path, mapping_path, **kwargs), by=by, notes=notes)


def restore(dataset: str, version: str | None = None, *, builtin: bool = False,
            data_dir: Path | None = None, by: str | None = None) -> str | None:
    """Make an earlier version current again (see core.data.versions.restore); built-in synthetic data are built
    first when they are restored and missing. `by`: who restored it, for the audit log."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    target = versions.restore(data_dir, dataset, version, builtin=builtin)
    if target is None:
        from core.data.store import ensure_built

        ensure_built(data_dir, [dataset])
    _audit("restore", dataset, by, target)
    return target


def describe_versions(dataset: str, lang: str, data_dir: Path | None = None) -> list[dict]:
    """The versions of `dataset`, newest first, as a table shows them."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    rows = []
    for info in reversed(versions.history(data_dir, dataset)):
        rows.append({"version": info["version"], "current": info["current"],
                     "created": (info.get("created_at") or "")[:19].replace("T", " "),
                     "mode": t(f"ingest.report.mode_{info.get('mode', 'new')}", lang, base=info.get("base") or "-"),
                     "by": info.get("by") or "",
                     "respondents": info.get("total"), "added": info.get("added"), "replaced": info.get("replaced"),
                     "rejected": info.get("rejected"),
                     "export": (info.get("files") or {}).get("export", {}).get("name", "")})
    return rows


def current_text(dataset: str, lang: str, data_dir: Path | None = None) -> str:
    """Which data of `dataset` are in use, in words."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    version = versions.current_version(data_dir, dataset)
    if version is None:
        return t("ingest.current_builtin", lang)
    return t("ingest.current_version", lang, version=version)

