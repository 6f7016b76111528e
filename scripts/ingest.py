"""Load survey data exported from KoBoToolbox or ODK, with its XLSForm, into the portal.

    python -m scripts.ingest create NAME FORM.xlsx EXPORT.csv [--mapping mapping.yaml] [--check]
    python -m scripts.ingest propose-mapping FORM.xlsx [--dataset NAME] [--out mapping.yaml]
    python -m scripts.ingest check FORM.xlsx EXPORT.csv --mapping mapping.yaml --dataset core
    python -m scripts.ingest load FORM.xlsx EXPORT.xlsx --mapping mapping.yaml --dataset core [--notes "..."]
    python -m scripts.ingest versions --dataset core
    python -m scripts.ingest restore --dataset core [VERSION | --builtin]
    python -m scripts.ingest template --dataset core FORM.xlsx

`create` makes a new dataset NAME from a form and its export (its codebook from the form, its mapping the
proposal as it stands, or --mapping FILE for an edited one); later rounds go in with `load --dataset NAME`.
`check` reads and checks everything and reports what `load` would do, writing nothing. `load` appends the
export as a new round to the dataset's current version (respondents already loaded are recognised by
id), or with --replace starts the dataset again from it; the new version is swapped in only when
complete, and a running portal serves it from its next query. `restore` makes the previous version (or
VERSION, or with --builtin the synthetic data) current again. `template` writes an XLSForm asking the
questions of a dataset's codebook. Messages come in --lang (en, fr, es). On any error: the problems on
stderr, exit code 2, and nothing changed.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import tempfile
from pathlib import Path

from core import settings
from core.data import versions
from core.data.engine import load_codebook
from core.i18n import t
from core.ingest import kobo, load
from core.ingest.mapping import propose
from core.ingest.problems import ERROR, IngestError, Problem
from core.ingest.xlsform import read_form
from core.settings import LANGUAGES
from scripts import cli
from scripts.cli import EXIT_ERROR, CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("python -m scripts.ingest", __doc__)
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the messages")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"the portal's data directory (default {settings.GENERATED_DIR}, or PORTAL_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=type(parser))

    p = commands.add_parser("propose-mapping", help="write a mapping for a form, to check and edit")
    p.add_argument("form", type=Path)
    p.add_argument("--dataset", help="a dataset of the portal, or a new one's name (default: one named after "
                                     "the form, for `create`)")
    p.add_argument("--out", type=Path, help="write it here (default: standard output); never overwrites")

    p = commands.add_parser("create", help="make a new dataset from a form and its export")
    p.add_argument("name", help="the new dataset's name: lower-case letters, digits and _")
    p.add_argument("form", type=Path)
    p.add_argument("export", type=Path)
    p.add_argument("--mapping", type=Path, help="an edited mapping (default: the proposal as it stands)")
    p.add_argument("--check", action="store_true", help="check only: report what it would do, write nothing")
    p.add_argument("--skip-invalid", action="store_true",
                   help="leave out rows with errors and list them (default: any error refuses the load)")
    p.add_argument("--encoding", help="the CSV's encoding when it is not UTF-8 (e.g. cp1252, latin-1)")
    p.add_argument("--sheet", help="the export's sheet (default: the first)")
    p.add_argument("--force", action="store_true",
                   help="load even when a mapped field has no column or a column's answers are mostly not "
                        "choices of its list (those values are loaded as missing)")
    p.add_argument("--notes", default="", help="release notes: what is new in this release (shown on the "
                                               "public Data releases page)")

    for name, help_text in (("check", "check a load and report what it would do; writes nothing"),
                            ("load", "load an export as a new version")):
        p = commands.add_parser(name, help=help_text)
        p.add_argument("form", type=Path)
        p.add_argument("export", type=Path)
        p.add_argument("--mapping", type=Path, required=True)
        p.add_argument("--dataset", required=True)
        p.add_argument("--replace", action="store_true",
                       help="start the dataset again from this export (default: add it as a new round)")
        p.add_argument("--skip-invalid", action="store_true",
                       help="leave out rows with errors and list them (default: any error refuses the load)")
        p.add_argument("--encoding", help="the CSV's encoding when it is not UTF-8 (e.g. cp1252, latin-1)")
        p.add_argument("--sheet", help="the export's sheet (default: the first)")
        p.add_argument("--force", action="store_true",
                       help="load even when a mapped field has no column or a column's answers are mostly not "
                            "choices of its list (those values are loaded as missing); read the check's report first")
        p.add_argument("--notes", default="", help="release notes: what is new in this release (shown on the "
                                                   "public Data releases page)")

    p = commands.add_parser("versions", help="list the loaded versions of a dataset")
    p.add_argument("--dataset", required=True)

    p = commands.add_parser("restore", help="make an earlier version current again")
    p.add_argument("version", nargs="?", help="default: the version before the current one")
    p.add_argument("--dataset", required=True)
    p.add_argument("--builtin", action="store_true", help="go back to the built-in synthetic data")

    p = commands.add_parser("template", help="write an XLSForm asking a dataset's questions, and its mapping")
    p.add_argument("out", type=Path, help="the XLSForm to write (.xlsx); its mapping goes beside it (.yaml)")
    p.add_argument("--dataset", required=True)
    return parser


def _problem_lines(problems: list[Problem], lang: str) -> list[str]:
    return [t("ingest.cli.line", lang, level=t(f"ingest.level.{p.level}", lang), message=p.message(lang))
            for p in problems]


def report_text(report: load.Report, lang: str) -> str:
    width = max(len(label) for label, _ in report.summary(lang))
    lines = [f"{label.ljust(width)}  {value}" for label, value in report.summary(lang)]
    lines += _problem_lines([p for p in report.problems if p.level != ERROR], lang)
    for row in report.rejected_rows:
        lines.append(t("ingest.cli.rejected_row", lang, row=str(row["row"]), id=row["id"] or "-"))
    return "\n".join(lines)


def default_name(form) -> str:
    """A dataset name from a form's id or file name ("REACH_MSNA 2023.xlsx" -> "reach_msna_2023")."""
    text = re.sub(r"[^a-z0-9]+", "_", (form.form_id or Path(form.file).stem).lower()).strip("_")
    text = text if text[:1].isalpha() else f"survey_{text}"
    return text[:40].rstrip("_") or "survey"


def create(args: argparse.Namespace, lang: str, data_dir: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="portal-create-") as folder:
        mapping = args.mapping
        if mapping is None:  # the proposal as it stands
            mapping = Path(folder) / "mapping.yaml"
            mapping.write_text(propose(read_form(args.form), args.name), encoding="utf-8")
        prepared = load.prepare(args.form, args.export, mapping, dataset=args.name, data_dir=data_dir,
                                skip_invalid=args.skip_invalid, encoding=args.encoding, sheet=args.sheet,
                                force=args.force, create=True)
        if args.check:
            return report_text(prepared.report, lang) + "\n" + t("ingest.cli.created_checked", lang)
        report = load.commit(prepared, by=f"{getpass.getuser()} (command line)", notes=args.notes)
    return report_text(report, lang) + "\n" + t("ingest.cli.created", lang, version=report.version,
                                                dataset=args.name)


def run(args: argparse.Namespace) -> str:
    lang = args.lang
    data_dir = args.data_dir or settings.GENERATED_DIR
    if args.command == "propose-mapping":
        form = read_form(args.form)
        text = propose(form, args.dataset or default_name(form))
        if args.out is None:
            return text.rstrip("\n")
        if args.out.exists():
            raise CommandError(t("ingest.cli.exists", lang, path=str(args.out)))
        args.out.write_text(text, encoding="utf-8")
        return t("ingest.cli.mapping_written", lang, path=str(args.out))
    if args.command == "create":
        return create(args, lang, data_dir)
    if args.command in ("check", "load"):
        prepared = load.prepare(args.form, args.export, args.mapping, dataset=args.dataset, data_dir=data_dir,
                                replace=args.replace, skip_invalid=args.skip_invalid, encoding=args.encoding,
                                sheet=args.sheet, force=args.force)
        if args.command == "check":
            return report_text(prepared.report, lang) + "\n" + t("ingest.cli.checked", lang)
        report = load.commit(prepared, by=f"{getpass.getuser()} (command line)", notes=args.notes)
        return report_text(report, lang) + "\n" + t("ingest.cli.loaded", lang, version=report.version,
                                                    dataset=args.dataset)
    if args.command == "versions":
        rows = load.describe_versions(args.dataset, lang, data_dir)
        current = load.current_text(args.dataset, lang, data_dir)
        if not rows:
            return current
        header = [t(f"ingest.versions.{k}", lang) for k in ("version", "created", "respondents", "added",
                                                             "replaced", "rejected", "export")]
        table = [[("* " if r["current"] else "  ") + r["version"], r["created"], str(r["respondents"]),
                  str(r["added"]), str(r["replaced"]), str(r["rejected"]), r["export"]] for r in rows]
        widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(len(header))]
        out = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *table]]
        return "\n".join([*out, current])
    if args.command == "restore":
        target = load.restore(args.dataset, args.version, builtin=args.builtin, data_dir=data_dir,
                              by=f"{getpass.getuser()} (command line)")
        if target is None:
            return t("ingest.cli.restored_builtin", lang, dataset=args.dataset)
        return t("ingest.cli.restored", lang, dataset=args.dataset, version=target)
    if args.command == "template":
        mapping = args.out.with_suffix(".yaml")
        for path in (args.out, mapping):
            if path.exists():
                raise CommandError(t("ingest.cli.exists", lang, path=str(path)))
        codebook = load_codebook(args.dataset)
        kobo.write_xlsform(args.out, *kobo.form_from_codebook(codebook))
        mapping.write_text(kobo.mapping_from_codebook(codebook), encoding="utf-8")
        return t("ingest.cli.template_written", lang, path=str(args.out), mapping=str(mapping))
    raise CommandError(f"unknown command {args.command!r}")  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    lang = "en"
    try:
        args = build_parser().parse_args(argv)
        lang = args.lang
        print(run(args))
        return 0
    except IngestError as e:
        print("\n".join(_problem_lines(e.problems, lang)), file=sys.stderr)
        print(t("ingest.cli.nothing_changed", lang), file=sys.stderr)
        return EXIT_ERROR
    except versions.VersionError as e:
        print(t("ingest.cli.line", lang, level=t("ingest.level.error", lang),
                message=t(f"ingest.problem.{e.code}", lang, **e.params)), file=sys.stderr)
        return EXIT_ERROR
    except (CommandError, OSError) as e:
        print(t("ingest.cli.line", lang, level=t("ingest.level.error", lang), message=str(e)), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
