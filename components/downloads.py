"""Download buttons for a figure: the chart as PNG and SVG, its table as CSV and Excel (core.query.export).

The files are made when a user clicks (Streamlit's deferred download: `data` is a function, run on
its own thread), not on every page run: rendering a chart takes vl-convert a few tenths of a second.
So the functions given here must not use Streamlit, and must hold only what the page shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import disclosure
from core.data import releases, versions
from core.data.engine import load_codebook
from core.i18n import fmt_date, t
from core.query import export
from core.query.filters import FilterState


def header(lang: str, filters: FilterState, title: str, filters_line: str, base_line: str,
           source_line: str) -> list[tuple[str, str]]:
    """The header block of a download, in `lang`: first the recommended citation of the data's release
    (the pinned one where a link pinned it; export.cite_row), then what the figure is, of which data,
    filtered how, made when, and the caveat that goes with it. The one place every download's citation
    comes from: core.query.export writes it into each format."""
    codebook = load_codebook(filters.dataset)
    return [
        export.cite_row(citation(filters.dataset, lang), lang),
        (t("downloads.header.title", lang), title),
        (t("downloads.header.dataset", lang), codebook.title(lang)),
        (t("downloads.header.filters", lang), filters_line),
        (t("downloads.header.base", lang), base_line),
        (t("downloads.header.date", lang), fmt_date(dt.date.today(), lang, "long")),
        (t("downloads.header.source", lang), source_line),
        (t("downloads.header.caveat", lang), t("downloads.caveat", lang, minimum=disclosure.settings().min_count)),
    ]


def citation(dataset: str, lang: str) -> str:
    """The recommended citation (text) of the release of `dataset` shown here, its link at this portal's
    address when PORTAL_PUBLIC_URL is not set."""
    from components.shell import origin

    return releases.cite_current(dataset, lang, origin=origin()).text


def keep_release(fn: Callable) -> Callable:
    """`fn` to run on a deferred download's own thread with the releases pinned in this run (a pinned link's
    `?release=`): that thread does not inherit them, and would read the current release instead."""
    pins = versions.pins()

    def run(*args, **kwargs):
        tokens = [versions.pin(dataset, version) for dataset, version in pins.items()]
        try:
            return fn(*args, **kwargs)
        finally:
            for token in reversed(tokens):
                versions.unpin(token)

    return run


def menu_key(key: str) -> str:
    """The widget key of download_menu(`key`)'s menu: True while it is open."""
    return f"{key}_menu"


def file_stem(dataset: str, *view: str) -> str:
    """A download's name without its extension (core.query.export.file_name, the one naming of files):
    portal and dataset, the view, the data's release."""
    return export.file_name(dataset, view, export.release(dataset))


def download_menu(key: str, lang: str, *, stem: str | Callable[[], str],
                  table: pd.DataFrame | Callable[[], pd.DataFrame],
                  header_rows: list[tuple[str, str]] | Callable[[], list[tuple[str, str]]],
                  spec: Callable[[], dict] | None) -> None:
    """A "Download" menu with PNG and SVG of the chart (when `spec` gives its Vega-Lite spec) and CSV
    and Excel of `table`; `stem` (file_stem) names them all, each with its format's extension.

    Only the menu's button is drawn until it is opened; opening it reruns the page (or the fragment it
    is in), which draws its four buttons, as "Share this view" does; each file is made when it is
    clicked. A theme page has a dozen menus, and drawing their buttons and header blocks on every run was
    a third of its rerun (issue 21, scripts/load). So `stem`, `table` and `header_rows` may be functions,
    called only while the menu is open."""
    menu = st.popover(t("downloads.label", lang), icon=":material/download:", key=menu_key(key),
                      on_change="rerun")
    if not menu.open:
        return
    stem = stem() if callable(stem) else stem
    spec = keep_release(spec) if spec is not None else None  # run on the download's own thread
    header_rows = header_rows() if callable(header_rows) else header_rows
    table = table() if callable(table) else table
    cite = export.citation_of(header_rows, lang)
    with menu:
        if spec is not None:
            st.download_button(t("downloads.png", lang), data=lambda: export.chart_png(spec(), lang, citation=cite),
                               file_name=f"{stem}.png", mime=export.MIME["png"], key=f"{key}_png",
                               on_click="ignore", icon=":material/image:", width="stretch")
            st.download_button(t("downloads.svg", lang), data=lambda: export.chart_svg(spec(), lang, citation=cite),
                               file_name=f"{stem}.svg", mime=export.MIME["svg"], key=f"{key}_svg",
                               on_click="ignore", icon=":material/polyline:", width="stretch")
        st.download_button(t("downloads.csv", lang), data=lambda: export.to_csv(table, header_rows),
                           file_name=f"{stem}.csv", mime=export.MIME["csv"], key=f"{key}_csv",
                           on_click="ignore", icon=":material/table_view:", width="stretch")
        st.download_button(t("downloads.xlsx", lang), data=lambda: export.to_excel(table, header_rows, stem, lang=lang),
                           file_name=f"{stem}.xlsx", mime=export.MIME["xlsx"], key=f"{key}_xlsx",
                           on_click="ignore", icon=":material/grid_on:", width="stretch")
