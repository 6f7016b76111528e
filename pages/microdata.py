"""Microdata (researchers and admins): respondents' rows under the shared filters, the columns chosen by
theme, codes or labels, sorted and paged on the server (only the page shown is sent to the browser),
and downloads of every matching row in four formats with their data dictionary (core.query.extract).
Every page of rows shown and every file made is written to the audit log (core.auth.audit), with the
access grant it used. A researcher without an unexpired grant of the chosen dataset (core.auth.grants)
is told so and shown no rows."""

from __future__ import annotations

import json
import math

import streamlit as st

from components.downloads import header, keep_release
from components.shell import context, link_to
from core.auth.audit import AuditLog
from core.data.codebook import STANDARD_VARIABLES, Codebook
from core.data.engine import dataset_name, load_codebook
from core.figures.text import filters_text
from core.i18n import fmt_int, t
from core.query import export, extract, microdata, total

PAGE_ROWS = 50
ICONS = {"csv": ":material/table_view:", "parquet": ":material/database:", "xlsx": ":material/grid_on:",
         "dta": ":material/query_stats:"}


def render() -> None:
    ctx = context("microdata")  # the router leaves this page out for other roles; checked again here
    if ctx is None:
        return
    lang, dataset = ctx.lang, ctx.filters.dataset
    codebook = load_codebook(dataset)
    filters = ctx.filters.query_filters()
    st.title(t("nav.microdata", lang))
    if ctx.tier == "public":  # a researcher with no unexpired grant of this dataset
        if not (ctx.access and ctx.access.ended):  # an access that ended is told above every page already
            st.info(t("grants.none", lang, dataset=dataset_name(dataset, lang)), icon=":material/lock:")
        link_to("access", t("nav.access", lang), icon=":material/how_to_reg:")
        return
    n = total(dataset, filters=filters, tier=ctx.tier)
    st.caption(t("microdata.count", lang, n=n, dataset=codebook.title(lang)))
    columns = column_chooser(codebook, lang)
    labels, sort, descending, page = view_controls(codebook, columns, lang, dataset, n)
    if n == 0:
        st.info(t("filters.no_match", lang))
        return
    rows = microdata(dataset, columns, filters=filters, tier=ctx.tier, limit=PAGE_ROWS,
                     offset=(page - 1) * PAGE_ROWS, sort=sort, descending=descending)
    log_view(ctx, dataset, filters, list(rows.columns), len(rows), (page, sort, descending, labels))
    shown = extract.for_screen(rows, codebook, lang, labels)
    st.dataframe(shown, hide_index=True, width="stretch", height=36 * (len(shown) + 1) + 2,
                 column_config={name: column(codebook, name, lang, labels) for name in shown.columns})
    first = (page - 1) * PAGE_ROWS + 1
    st.caption(t("microdata.showing", lang, first=fmt_int(first, lang), last=fmt_int(first + len(rows) - 1, lang),
                 n=fmt_int(n, lang)))
    downloads(ctx, codebook, list(rows.columns), filters, labels, n)


def column_chooser(codebook: Codebook, lang: str) -> list[str]:
    """The chosen columns, one multiselect per theme (the standard ones chosen at first); a search
    narrows what each offers to the questions whose text or answers match, keeping what is chosen."""
    with st.expander(t("microdata.columns", lang), icon=":material/view_column:"):
        search = st.text_input(t("microdata.search", lang), key=f"md_search_{codebook.dataset}",
                               placeholder=t("microdata.search_hint", lang))
        offered = extract.choosable(codebook, lang, search)
        if search and not offered:
            st.caption(t("microdata.search_none", lang))
        chosen: list[str] = []
        for theme in codebook.themes:
            key = f"md_cols_{codebook.dataset}_{theme.id}"
            if key not in st.session_state:
                st.session_state[key] = [v.name for v in codebook.by_theme(theme.id)
                                         if v.name in STANDARD_VARIABLES and v.name != extract.ID]
            options = [v.name for v in codebook.by_theme(theme.id)
                       if v.name in offered.get(theme.id, ()) or v.name in st.session_state[key]]
            if options:
                chosen += st.multiselect(theme.label(lang), options, key=key,
                                         format_func=lambda name: codebook[name].label(lang))
    return [extract.ID, *chosen]


def view_controls(codebook: Codebook, columns: list[str], lang: str, dataset: str,
                  n: int) -> tuple[bool, str | None, bool, int]:
    left, middle, right, last = st.columns([1.2, 2, 1, 1.2], vertical_alignment="bottom")
    labels = left.toggle(t("microdata.labels", lang), value=True, key="md_labels",
                         help=t("microdata.labels_help", lang))
    sortable = [c for c in columns if codebook[c].type != "multiple"]
    sort = middle.selectbox(t("microdata.sort", lang), sortable, key=f"md_sort_{dataset}",
                            format_func=lambda name: codebook[name].label(lang))
    descending = right.toggle(t("microdata.descending", lang), key="md_desc")
    pages = max(1, math.ceil(n / PAGE_ROWS))
    page = last.number_input(t("microdata.page", lang, pages=fmt_int(pages, lang)), min_value=1,
                             max_value=pages, key=f"md_page_{dataset}")
    return labels, sort, descending, min(int(page), pages)


def column(codebook: Codebook, name: str, lang: str, labels: bool):
    var = codebook[name]
    title = var.label(lang) if labels else name
    if var.type == "date":
        return st.column_config.DateColumn(title, help=name, format="YYYY-MM-DD")
    if var.type == "multiple":
        return st.column_config.ListColumn(title, help=name)
    if var.type == "number":
        return st.column_config.NumberColumn(title, help=name, format="%d" if var.name == "age" else None)
    return st.column_config.Column(title, help=name)


def log_view(ctx, dataset: str, filters: dict, columns: list[str], rows: int, how: tuple) -> None:
    """One audit entry per distinct page of rows shown: a rerun that shows the same rows (a click
    elsewhere on the page) is not a new view."""
    view = json.dumps([ctx.session.username, dataset, filters, columns, how], sort_keys=True, default=str)
    if st.session_state.get("md_logged_view") != view:
        AuditLog().record(username=ctx.session.username, role=ctx.role, action="view", dataset=dataset,
                          filters=filters, columns=columns, rows=rows, grant_id=ctx.access and ctx.access.grant_id)
        st.session_state["md_logged_view"] = view


def downloads(ctx, codebook: Codebook, columns: list[str], filters: dict, labels: bool, n: int) -> None:
    lang = ctx.lang
    st.subheader(t("microdata.download", lang))
    st.caption(t("microdata.download_note", lang, n=fmt_int(n, lang)))
    layout = st.radio(t("microdata.layout", lang), extract.LAYOUTS, horizontal=True, key="md_layout",
                      format_func=lambda v: t(f"microdata.layout.{v}", lang))
    head = header(lang, ctx.filters, t("nav.microdata", lang), filters_text(ctx.filters, lang),
                  t("microdata.base", lang, n=fmt_int(n, lang)), t("microdata.source", lang))
    head = [row for row in head if row[0] != t("downloads.header.caveat", lang)]
    head.append((t("microdata.downloaded_by", lang), ctx.session.username))
    release = export.release(codebook.dataset)
    username, role = ctx.session.username, ctx.role
    grant_id = ctx.access.grant_id if ctx.access else None
    buttons = st.columns(len(extract.FORMATS))
    too_big = n + 1 > export.EXCEL_MAX_ROWS  # the data sheet: the column names, then the rows
    for place, fmt in zip(buttons, extract.FORMATS):
        request = extract.Request(codebook.dataset, tuple(columns), filters, fmt, lang, labels, layout, tuple(head))
        disabled = fmt == "xlsx" and too_big
        place.download_button(
            t(f"microdata.format.{fmt}", lang), key=f"md_download_{fmt}", disabled=disabled, on_click="ignore",
            data=keep_release(lambda r=request: extract.download(r, username=username, role=role, release=release,
                                                                 grant_id=grant_id)),
            file_name=extract.file_name(request, release), icon=ICONS[fmt], width="stretch",
            mime=export.MIME["xlsx" if fmt == "xlsx" else "zip"])
    if too_big:
        st.info(t("microdata.excel_too_many", lang, n=fmt_int(n, lang), limit=fmt_int(export.EXCEL_MAX_ROWS - 1, lang)))
    st.caption(t("microdata.audit_note", lang))


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
