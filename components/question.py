"""One question of a theme page, drawn: the figure (core/figures/question.py) made through the
process's query cache and cached itself, the chart with the click that sets a filter of the bar, the
one-sentence summary, its table, "About these figures", and the downloads."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from components import present
from components.downloads import download_menu, file_stem, header
from components.figures import arrow_datasets, cached, data_version, how_to_read, refused
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
def _made(version: str, name: str | None, by: str | None, view: View) -> tuple[Figure, dict | None] | Refusal:
    codebook = load_codebook(view.filters.dataset)
    try:
        figure = build(codebook[name] if name else None, codebook[by] if by else None, view, ask=cached)
    except disclosure.TableRefused as e:
        return Refusal(e.rule, e.reason, str(e), dict(e.params))
    if figure.chart is None:
        return figure, None
    figure.chart = charts.finish(figure.chart, view.lang).to_dict()
    return figure, arrow_datasets(figure.chart)


def _figure(var: Variable | None, by: Variable | None, view: View) -> tuple[Figure, dict | None]:
    result = _made(data_version(view.filters.dataset), var.name if var else None, by.name if by else None, view)
    if isinstance(result, Refusal):
        raise result.error()
    return result


def made(var: Variable | None, by: Variable | None, view: View) -> Figure:
    """`build`, its chart turned into its Vega-Lite spec, cached per process like the queries (by the
    dataset's loaded version, the question, the breakdown, the filters, the tier and the language):
    making an Altair chart costs tens of milliseconds, and a page has a dozen. Raises TableRefused.
    Cached with it, in one look-up (each costs a hash of the view and an unpickling): the chart as it is
    drawn, its data already Arrow bytes (figures.arrow_datasets), converted once instead of on every
    rerun; the downloads export `figure.chart`, whose data stay records."""
    return _figure(var, by, view)[0]


# --- drawing it ----------------------------------------------------------------------------------

def _clicked(key: str, select: dict[str, str]) -> None:
    """A click on a mark: narrow the filter bar to the clicked category (before the bar is drawn)."""
    picked = (st.session_state.get(key) or {}).get("selection", {}).get(charts.PICK) or []
    for field_name, variable in select.items():
        codes = list(dict.fromkeys(str(p[field_name]) for p in picked if p.get(field_name) is not None))
        if codes:
            set_filter(variable, codes)


def show(figure: Figure, var: Variable | None, view: View, key: str, synthetic: bool,
         by: Variable | None = None, drawn_chart: dict | None = None) -> None:
    """Draw a made figure: its question, the chart (a click on a filter variable's bar sets that
    filter) with its one-sentence summary as its caption and its text alternative, the table behind
    it one click away, "About these figures" (notes, base, filters, source, caveat, how to read it),
    and its downloads."""
    lang = view.lang
    st.subheader(figure.question)
    details = caption(figure, var, view)
    notes = [*figure.lines]
    if figure.chart is not None:
        on_select = functools.partial(_clicked, key, figure.select) if figure.select else "ignore"
        drawn = {**present.chart_spec(drawn_chart or figure.chart), "description": figure.summary}  # its aria-label
        st.vega_lite_chart(spec=drawn, width="stretch", key=key, on_select=on_select,
                           selection_mode=charts.PICK if figure.select else None)
        if figure.select:
            notes.append(t("charts.click_hint", lang))
        st.caption(figure.summary)
        notes = [line for line in notes if line != figure.summary]
        with st.expander(t("figures.table", lang), icon=":material/table:"):
            st.dataframe(figure.table, hide_index=True, width="stretch")
    else:  # a number summary with no distribution drawn: its lines are the figure
        st.markdown("  \n".join(notes))
        notes = []
    source = source_line(view, synthetic)
    how_to_read(lang, view.tier, how_to_read_kind(figure, var), key,
                about=[*notes, *details, f"{source} {t('charts.caveat', lang)}"])

    subtitle = [*figure.lines, *details, source, t("charts.caveat", lang)]

    def spec(chart=figure.chart, title=figure.question, subtitle=tuple(subtitle)):
        return charts.for_export(chart, title=title, subtitle=list(subtitle))

    name = [figure.name, "by", by.name] if by is not None and by.name != figure.name else [figure.name]
    download_menu(key, lang, stem=file_stem(view.filters.dataset, *name), table=figure.table,
                  header_rows=header(lang, view.filters, figure.question, filters_text(view.filters, lang),
                                     details[0] if figure.base is not None else "–", source),
                  spec=spec if figure.chart is not None else None)


def question(var: Variable | None, by: Variable | None, view: View, key: str, synthetic: bool) -> None:
    """A question's figure, or why the public rules refuse it (var None: the age-gender pyramid)."""
    try:
        figure, drawn_chart = _figure(var, by, view)
    except disclosure.TableRefused as e:
        st.subheader(t("charts.pyramid", view.lang) if var is None else var.label(view.lang))
        refused(e, view.lang, view.filters.dataset)
        return
    show(figure, var, view, key, synthetic, by, drawn_chart)
