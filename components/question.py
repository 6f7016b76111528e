"""One question of a theme page, drawn: the figure (core/figures/question.py) made through the
process's query cache and cached itself, the chart with the click that sets a filter of the bar, the
one-sentence summary, its table, "About these figures", and the downloads."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from components import present
from components.downloads import download_menu, file_stem, header
from components.figures import (
    arrow_datasets,
    arrow_table,
    cached,
    data_version,
    how_to_read_box,
    how_to_read_lines,
    refused,
    table_box,
)
from components.filter_bar import set_filter
from core import disclosure
from core.data.codebook import Variable
from core.data.engine import load_codebook
from core.figures import charts
from core.figures.question import Figure, View, build, caption, how_to_read_kind, source_line
from core.figures.text import filters_text
from core.i18n import t


@dataclass(frozen=True)
class Refusal:
    """A TableRefused as a cacheable value (the exception itself does not pickle back)."""
    rule: int
    reason: str
    message: str
    params: dict

    def error(self) -> disclosure.TableRefused:
        return disclosure.TableRefused(self.rule, self.reason, self.message, **self.params)


@st.cache_data(max_entries=4096, show_spinner=False)
def _made(version: str, name: str | None, by: str | None, view: View) -> Figure | Refusal:
    codebook = load_codebook(view.filters.dataset)
    try:
        figure = build(codebook[name] if name else None, codebook[by] if by else None, view, ask=cached)
    except disclosure.TableRefused as e:
        return Refusal(e.rule, e.reason, str(e), dict(e.params))
    if figure.chart is not None:
        figure.chart = charts.spec(figure.chart, view.lang)
    return figure


def made(var: Variable | None, by: Variable | None, view: View) -> Figure:
    """`build`, its chart turned into its Vega-Lite spec, cached per process like the queries (by the
    dataset's loaded version, the question, the breakdown, the filters, the tier and the language):
    making an Altair chart costs tens of milliseconds, and a page has a dozen. Raises TableRefused.
    What the downloads export: `figure.chart`, whose data stay records, and `figure.table`."""
    result = _made(data_version(view.filters.dataset), var.name if var else None, by.name if by else None, view)
    if isinstance(result, Refusal):
        raise result.error()
    return result


@dataclass(frozen=True)
class Drawn:
    """What a page run draws of a made figure, every text in the view's language, made once per process
    with it (`drawn`). A page reads a dozen back from the cache on every rerun, so it holds only what is
    drawn, ready to send: no DataFrame (the downloads read the made figure when their menu is opened)."""
    name: str  # the variable, or PYRAMID
    question: str
    chart: dict | None  # the Vega-Lite spec as drawn, its data Arrow bytes (figures.arrow_datasets); None: no chart
    summary: str  # the chart's text alternative and its caption
    text: str  # no chart: the figure's lines, in Markdown
    table: object  # the table under the chart, as Arrow (figures.arrow_table)
    about: tuple[str, ...]  # the lines of "About these figures" (figures.how_to_read_lines)
    select: tuple[tuple[str, str], ...]  # chart field -> filter variable, for clicks
    base_line: str  # the header block's base
    source: str
    subtitle: tuple[str, ...]  # under the exported chart's title


@st.cache_data(max_entries=4096, show_spinner=False)
def _drawn(version: str, name: str | None, by: str | None, view_key: str, synthetic: bool,
           _view: View) -> Drawn | Refusal:
    # Keyed by view_key (View.key), not by the view, which Streamlit would hash field by field on every call.
    view = _view
    figure = _made(version, name, by, view)
    if isinstance(figure, Refusal):
        return figure
    lang = view.lang
    var = load_codebook(view.filters.dataset)[name] if name else None
    details = caption(figure, var, view)
    source = source_line(view, synthetic)
    notes = [*figure.lines]
    chart, text = None, ""
    if figure.chart is not None:
        chart = {**arrow_datasets(figure.chart), "description": figure.summary}  # its aria-label
        if figure.select:
            notes.append(t("charts.click_hint", lang))
        notes = [line for line in notes if line != figure.summary]
    else:  # a number summary with no distribution drawn: its lines are the figure
        text, notes = "  \n".join(notes), []
    about = how_to_read_lines(lang, view.tier, how_to_read_kind(figure, var),
                              [*notes, *details, f"{source} {t('charts.caveat', lang)}"])
    return Drawn(figure.name, figure.question, chart, figure.summary, text, arrow_table(figure.table), tuple(about),
                 tuple(figure.select.items()), details[0] if figure.base is not None else "–", source,
                 (*figure.lines, *details, source, t("charts.caveat", lang)))


def drawn(var: Variable | None, by: Variable | None, view: View, synthetic: bool) -> Drawn:
    """What `show` draws of `made`'s figure, cached the same way. Raises TableRefused."""
    result = _drawn(data_version(view.filters.dataset), var.name if var else None, by.name if by else None, view.key,
                    synthetic, view)
    if isinstance(result, Refusal):
        raise result.error()
    return result


# --- drawing it ----------------------------------------------------------------------------------

def _clicked(key: str, select: dict[str, str]) -> None:
    """A click on a mark: narrow the filter bar to the clicked category (before the bar is drawn)."""
    picked = (st.session_state.get(key) or {}).get("selection", {}).get(charts.PICK) or []
    for field_name, variable in select.items():
        codes = list(dict.fromkeys(str(p[field_name]) for p in picked if p.get(field_name) is not None))
        if codes:
            set_filter(variable, codes)


def show(figure: Drawn, var: Variable | None, view: View, key: str, by: Variable | None = None) -> None:
    """Draw a figure: its question, the chart (a click on a filter variable's bar sets that filter) with
    its one-sentence summary as its caption and its text alternative, the table behind it one click away,
    "About these figures" (notes, base, filters, source, caveat, how to read it), and its downloads."""
    lang = view.lang
    st.subheader(figure.question)
    if figure.chart is not None:
        select = dict(figure.select)
        on_select = functools.partial(_clicked, key, select) if select else "ignore"
        st.vega_lite_chart(spec=present.chart_spec(figure.chart), width="stretch", key=key, on_select=on_select,
                           selection_mode=charts.PICK if select else None)
        st.caption(figure.summary)
        table_box(figure.table, lang, key)
    else:
        st.markdown(figure.text)
    how_to_read_box(figure.about, lang, key)

    def whole() -> Figure:  # the made figure, for the downloads: read only while the menu is open or a file made
        return made(var, by, view)

    def spec(title=figure.question, subtitle=figure.subtitle):  # when a file is asked for
        return charts.for_export(whole().chart, title=title, subtitle=list(subtitle))

    def header_rows(filters=view.filters, title=figure.question, base=figure.base_line, source=figure.source):
        return header(lang, filters, title, filters_text(filters, lang), base, source)

    name = [figure.name, "by", by.name] if by is not None and by.name != figure.name else [figure.name]
    download_menu(key, lang, stem=lambda: file_stem(view.filters.dataset, *name), table=lambda: whole().table,
                  header_rows=header_rows, spec=spec if figure.chart is not None else None)


def question(var: Variable | None, by: Variable | None, view: View, key: str, synthetic: bool) -> None:
    """A question's figure, or why the public rules refuse it (var None: the age-gender pyramid)."""
    try:
        figure = drawn(var, by, view, synthetic)
    except disclosure.TableRefused as e:
        st.subheader(t("charts.pyramid", view.lang) if var is None else var.label(view.lang))
        refused(e, view.lang, view.filters.dataset)
        return
    show(figure, var, view, key, by)
