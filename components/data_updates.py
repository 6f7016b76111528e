"""Data updates on the admin page: upload an XLSForm, a Kobo/ODK export and a mapping (or edit the one
proposed from the form), check them (a dry run: respondents added, replaced and rejected, and every
problem named by file, sheet, row and column, in the user's language), then load; the dataset's versions,
and restoring one.

Everything goes through core.ingest, the functions of the command-line tool (python -m scripts.ingest):
the check is `prepare`, the load `commit` of what was checked, so a failed or refused load changes
nothing, and a load checked before another one changed the data is refused. Uploads are written to a
temporary directory under names the server chooses, read there, and deleted after the check.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from core import settings
from core.data import versions
from core.data.engine import dataset_name
from core.i18n import t
from core.ingest import files, load
from core.ingest.mapping import DATASET_NAME, propose
from core.ingest.problems import ERROR, INFO, WARNING, IngestError
from core.ingest.xlsform import read_form

_CHECKED = "ingest_checked"   # (signature of the inputs, Prepared or None, problems): the last check
_FLASH = "ingest_flash"       # (kind, message): the outcome of the last load or restore, shown once
_NEXT_DATASET = "ingest_next_dataset"  # a dataset just created, to choose once the page is drawn again
_FORCEABLE = "ingest_forceable"
_FORCE = "ingest_force"  # the last check was refused for a reason "Load anyway" overrides
ENCODINGS = ("", "cp1252", "latin-1", "utf-16")
PROBLEMS_SHOWN = 50


NEW = ""  # the dataset choice "a new dataset, made from the form"


def data_updates(lang: str, username: str) -> None:
    if (created := st.session_state.pop(_NEXT_DATASET, None)) in versions.datasets():
        st.session_state["ingest_dataset"] = created
    dataset = st.selectbox(t("ingest.ui.dataset", lang), [*versions.datasets(), NEW], key="ingest_dataset",
                           format_func=lambda d: dataset_name(d, lang) if d else t("ingest.ui.new_dataset", lang))
    flash()
    if dataset == NEW:
        name = st.text_input(t("ingest.ui.new_name", lang), key="ingest_new_name",
                             help=t("ingest.ui.new_name_help", lang)).strip()
        if not name:
            return
        if not DATASET_NAME.fullmatch(name) or name in versions.datasets():
            st.error(t("ingest.problem.dataset_exists" if name in versions.datasets() else "ingest.problem.dataset_name",
                       lang, dataset=name))
            return
        upload_and_load(name, lang, username, create=True)
        return
    st.caption(load.current_text(dataset, lang))
    load_tab, versions_tab = st.tabs([t("ingest.ui.load_tab", lang), t("ingest.ui.versions_tab", lang)])
    with load_tab:
        upload_and_load(dataset, lang, username)
    with versions_tab:
        version_list(dataset, lang, username)


def flash() -> None:
    found = st.session_state.pop(_FLASH, None)
    if found:
        kind, message = found
        (st.success if kind == "ok" else st.error)(message)


def _saved(upload, folder: Path, stem: str) -> Path:
    """An upload as a file of the server's naming (its extension kept, for nothing but readability)."""
    suffix = Path(upload.name).suffix.lower()
    path = folder / (stem + (suffix if suffix in (*files.CSV_EXTENSIONS, *files.XLSX_EXTENSIONS,
                                                   *files.MAPPING_EXTENSIONS) else ".upload"))
    path.write_bytes(upload.getvalue())
    return path


def _problems(problems, lang: str) -> None:
    shown = {ERROR: st.error, WARNING: st.warning, INFO: st.info}
    for p in problems[:PROBLEMS_SHOWN]:
        shown[p.level](p.message(lang))
    if len(problems) > PROBLEMS_SHOWN:
        st.caption(t("ingest.ui.more_problems", lang, n=len(problems) - PROBLEMS_SHOWN))


def proposed_mapping(form, dataset: str, lang: str) -> str | None:
    """The mapping proposed for an uploaded form, or None (its problems shown) when the form is refused."""
    cache = f"ingest_proposal_{form.file_id}_{dataset}"
    if cache not in st.session_state:
        with tempfile.TemporaryDirectory(prefix="portal-upload-") as folder:
            try:
                st.session_state[cache] = ("ok", propose(read_form(_saved(form, Path(folder), "form"), form.name),
                                                         dataset))
            except IngestError as e:
                st.session_state[cache] = ("refused", e.problems)
    kind, value = st.session_state[cache]
    if kind == "refused":
        _problems(value, lang)
        return None
    return value


def upload_and_load(dataset: str, lang: str, username: str, create: bool = False) -> None:
    form = st.file_uploader(t("ingest.ui.form", lang), type=["xlsx"], key="ingest_form",
                            max_upload_size=settings.INGEST_MAX_FORM_MB, help=t("ingest.ui.form_help", lang))
    export = st.file_uploader(t("ingest.ui.export", lang), type=["csv", "tsv", "txt", "xlsx"], key="ingest_export",
                              max_upload_size=settings.INGEST_MAX_FILE_MB, help=t("ingest.ui.export_help", lang))
    mapping = st.file_uploader(t("ingest.ui.mapping", lang), type=["yaml", "yml"], key="ingest_mapping",
                               max_upload_size=settings.INGEST_MAX_FORM_MB, help=t("ingest.ui.mapping_help", lang))
    mapping_text = None
    if form is not None and mapping is None:
        proposal = proposed_mapping(form, dataset, lang)
        if proposal is not None:
            mapping_text = st.text_area(t("ingest.ui.mapping_edit", lang), value=proposal, height=320,
                                        key=f"ingest_mapping_text_{form.file_id}_{dataset}",
                                        help=t("ingest.ui.mapping_edit_help", lang))
            st.download_button(t("ingest.ui.mapping_download", lang), data=mapping_text.encode("utf-8"),
                               file_name="mapping.yaml", mime="application/yaml", key="ingest_mapping_download",
                               on_click="ignore", icon=":material/download:")
    left, middle, right = st.columns(3)
    replace = create or left.checkbox(t("ingest.ui.replace", lang), key="ingest_replace",
                                      help=t("ingest.ui.replace_help", lang))
    skip = middle.checkbox(t("ingest.ui.skip_invalid", lang), key="ingest_skip",
                           help=t("ingest.ui.skip_invalid_help", lang))
    encoding = right.selectbox(t("ingest.ui.encoding", lang), ENCODINGS, key="ingest_encoding",
                               format_func=lambda e: e or t("ingest.ui.encoding_auto", lang))
    # "Load anyway" (the command line's --force) is offered only once a check was refused for a reason it
    # overrides (a mapped field with no column, a column of answers mostly not in its list).
    force = bool(st.session_state.get(_FORCE))
    ready = form is not None and export is not None and (mapping is not None or mapping_text is not None)
    signature = (dataset, *(u.file_id if u else None for u in (form, export, mapping)),
                 hashlib.sha256((mapping_text or "").encode()).hexdigest(), replace, skip, encoding, force, create)
    if st.button(t("ingest.ui.check", lang), key="ingest_check", disabled=not ready, icon=":material/fact_check:"):
        with st.spinner(t("ingest.ui.checking", lang)):
            st.session_state[_CHECKED] = (signature, *check(dataset, form, export, mapping, mapping_text, replace,
                                                            skip, encoding, force, create))
            refused_problems = st.session_state[_CHECKED][2]
            st.session_state[_FORCEABLE] = any(p.key in load.FORCEABLE for p in refused_problems)
    if st.session_state.get(_FORCEABLE) or force:  # drawn after the check, which decides whether it is offered
        st.checkbox(t("ingest.ui.force", lang), key=_FORCE, help=t("ingest.ui.force_help", lang))
    checked = st.session_state.get(_CHECKED)
    if not checked or checked[0] != signature:
        st.session_state.pop(_CHECKED, None)  # a check of other inputs: its rows need not stay in memory
        st.caption(t("ingest.ui.check_first", lang))
        return
    _, prepared, problems = checked
    if prepared is None:
        st.error(t("ingest.ui.refused", lang))
        _problems(problems, lang)
        return
    report(prepared.report, lang)
    notes = st.text_area(t("ingest.ui.notes", lang), key="ingest_notes", max_chars=load.NOTES_MAX_CHARS,
                         help=t("ingest.ui.notes_help", lang))
    if st.button(t("ingest.ui.load", lang), key="ingest_load", type="primary", icon=":material/upload:"):
        with st.spinner(t("ingest.ui.loading", lang)):
            try:
                done = load.commit(prepared, by=username, notes=notes)
                st.session_state.pop("ingest_notes", None)
                st.session_state[_FLASH] = ("ok", t("ingest.ui.loaded", lang, version=done.version,
                                                    dataset=dataset_name(dataset, lang)))
                if create:  # the new dataset is chosen on the next run, for its later rounds
                    st.session_state[_NEXT_DATASET] = dataset
            except IngestError as e:
                st.session_state[_FLASH] = ("error", " ".join(e.messages(lang)))
        st.session_state.pop(_CHECKED, None)
        st.rerun()


def check(dataset: str, form, export, mapping, mapping_text: str | None, replace: bool, skip: bool,
          encoding: str, force: bool = False, create: bool = False) -> tuple[load.Prepared | None, list]:
    """core.ingest.load.prepare on the uploads: (what loading would do, None) or (None, the problems)."""
    with tempfile.TemporaryDirectory(prefix="portal-upload-") as folder:
        folder = Path(folder)
        form_path, export_path = _saved(form, folder, "form"), _saved(export, folder, "export")
        if mapping is not None:
            mapping_path, mapping_name = _saved(mapping, folder, "mapping"), mapping.name
        else:
            mapping_path, mapping_name = folder / "mapping.yaml", "mapping.yaml"
            mapping_path.write_text(mapping_text, encoding="utf-8")
        try:
            prepared = load.prepare(form_path, export_path, mapping_path, dataset=dataset, replace=replace,
                                    skip_invalid=skip, encoding=encoding or None, force=force, create=create,
                                    names={"form": form.name, "export": export.name, "mapping": mapping_name})
            return prepared, []
        except IngestError as e:
            return None, e.problems


def report(r: load.Report, lang: str) -> None:
    st.subheader(t("ingest.ui.report", lang))
    st.markdown("\n".join(f"- {t('ingest.ui.summary_line', lang, label=label, value=value)}"
                          for label, value in r.summary(lang)))
    _problems([p for p in r.problems if p.level != ERROR], lang)
    if r.rejected_rows:
        st.dataframe(pd.DataFrame(r.rejected_rows), hide_index=True, column_config={
            "row": st.column_config.NumberColumn(t("ingest.ui.rejected_row", lang), format="%d"),
            "id": st.column_config.TextColumn(t("ingest.ui.rejected_id", lang))})


def version_list(dataset: str, lang: str, username: str | None = None) -> None:
    rows = load.describe_versions(dataset, lang)
    if rows:
        columns = ("version", "current", "created", "by", "mode", "respondents", "added", "replaced", "rejected",
                   "export")
        st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, width="stretch", column_config={
            c: (st.column_config.CheckboxColumn if c == "current" else st.column_config.Column)(
                t(f"ingest.ui.col.{c}", lang)) for c in columns})
    else:
        st.caption(t("ingest.ui.no_versions", lang))
    current = versions.current_version(settings.GENERATED_DIR, dataset)
    targets = [r["version"] for r in rows if r["version"] != current] + ([None] if current is not None else [])
    if not targets:
        return
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    target = left.selectbox(t("ingest.ui.restore_to", lang), targets, key="ingest_restore_to",
                            format_func=lambda v: v or t("ingest.ui.builtin", lang))
    if right.button(t("ingest.ui.restore", lang), key="ingest_restore", icon=":material/history:"):
        with st.spinner(t("ingest.ui.restoring", lang)):
            try:
                now = load.restore(dataset, target, builtin=target is None, by=username)
                st.session_state[_FLASH] = ("ok", t("ingest.ui.restored", lang, version=now) if now else
                                            t("ingest.ui.restored_builtin", lang))
            except versions.VersionError as e:
                st.session_state[_FLASH] = ("error", t(f"ingest.problem.{e.code}", lang, **e.params))
        st.session_state.pop(_CHECKED, None)
        st.rerun()
