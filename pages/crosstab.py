"""Crosstab builder: the user drags questions into rows, columns and filters (or picks them from lists)
and gets the table at once, protected for their tier, as a table or a chart, with its downloads. The
layout lives in the link, so that a copied link rebuilds the same table."""

from __future__ import annotations

import streamlit as st

from components import present
from components.downloads import download_menu, file_stem, header
from components.field_picker import field_picker, grouped_fields, sent_layout
from components.figures import cached, caveats, how_to_read, refused, synthetic_banner
from components.question import source_line
from components.shell import add_notes, context, from_link, put_in_url, seed_from_url
from components.skip_link import scroll_to, skip_link
from core import disclosure
from core.data.engine import get_engine, load_codebook
from core.figures import pivot_view
from core.figures.text import filters_text
from core.i18n import fmt_int, t
from core.pages import CROSSTAB_VIEWS
from core.query import pivot
from core.query.pivot import COUNT_MEASURES, NUMBER_MEASURES, Layout

# rows, cols, filt: field names (repeated); fcat: "field:code" for each category a filter keeps.
LAYOUT_KEY, PICKER_KEY, RESULT_KEY, FIGURE_KEY = "ct_layout", "ct_picker", "ct_result", "ct_figure"
MEASURE_KEY, VALUE_KEY, VIEW_KEY = "ct_measure", "ct_value", "ct_view"
FALLBACK_KEYS = {"rows": "ct_fb_rows", "cols": "ct_fb_cols", "filters": "ct_fb_filters"}


def _cat_key(name: str) -> str:
    return f"ct_cat_{name}"


def _clean(dataset: str, tier: str, rows, cols, filters) -> tuple[Layout, list[str]]:
    codebook = load_codebook(dataset)
    return pivot.clean(codebook, tier, rows, cols, filters,
                       categories=lambda name: cached("categories", dataset, name, tier=tier))


def _set_layout(rows, cols, filters) -> None:
    """A new layout from the user (picker, lists, buttons), checked for this dataset and tier; a
    filter field keeps its chosen categories while it stays a filter."""
    ctx = context()
    if ctx is None:
        return
    current: Layout = st.session_state.get(LAYOUT_KEY, Layout())
    names = [n for n in (filters or []) if isinstance(n, str)]
    chosen = {n: current.filters.get(n, ()) for n in names}
    st.session_state[LAYOUT_KEY], _ = _clean(ctx.filters.dataset, ctx.tier, rows, cols, chosen)


def _on_picker() -> None:
    sent = sent_layout(PICKER_KEY)
    if sent is not None:
        _set_layout(sent.get("rows"), sent.get("cols"), sent.get("filters"))


def _on_fallback(zone: str) -> None:
    """A list changed: its fields move there (out of the other zones)."""
    layout: Layout = st.session_state.get(LAYOUT_KEY, Layout())
    chosen = list(st.session_state[FALLBACK_KEYS[zone]])
    zones = {"rows": list(layout.rows), "cols": list(layout.columns), "filters": list(layout.filters)}
    zones = {z: chosen if z == zone else [n for n in names if n not in chosen] for z, names in zones.items()}
    _set_layout(zones["rows"], zones["cols"], zones["filters"])


def _on_categories(name: str) -> None:
    layout: Layout = st.session_state.get(LAYOUT_KEY, Layout())
    if name in layout.filters:
        chosen = st.session_state[_cat_key(name)]
        chosen = [chosen] if isinstance(chosen, str) else list(chosen or ())  # one answer (public) or a list
        filters = {**layout.filters, name: tuple(chosen)}
        st.session_state[LAYOUT_KEY] = Layout(layout.rows, layout.columns, filters)


def _swap() -> None:
    st.session_state[LAYOUT_KEY] = st.session_state.get(LAYOUT_KEY, Layout()).swapped()


def _reset() -> None:
    st.session_state[LAYOUT_KEY] = Layout()
    st.session_state[MEASURE_KEY] = "count"
    st.session_state[VIEW_KEY] = "table"


def _layout(dataset: str, tier: str, lang: str) -> Layout:
    """The layout of this run: on the first run from the link, then from the session; checked again
    every run (the dataset or the role may have changed)."""
    s = st.session_state
    from_link(LAYOUT_KEY)
    if LAYOUT_KEY not in s:
        params = st.query_params
        cats: dict[str, list[str]] = {name: [] for name in params.get_all("filt")}
        for item in params.get_all("fcat"):
            name, _, code = item.partition(":")
            if name in cats:
                cats[name].append(code)
        layout, _ = _clean(dataset, tier, params.get_all("rows"), params.get_all("cols"), cats)
        kept = {"rows": layout.rows, "cols": layout.columns, "filt": tuple(layout.filters),
                "fcat": tuple(f"{n}:{c}" for n, codes in layout.filters.items() for c in codes)}
        dropped = [(param, value) for param, names in kept.items() for value in params.get_all(param) if value not in names]
        add_notes(dropped)
        for param, value in dropped:
            st.warning(t("filters.dropped", lang, param=param, value=value), icon=":material/link_off:")
        s[LAYOUT_KEY] = layout
    current: Layout = s[LAYOUT_KEY]
    layout, _ = _clean(dataset, tier, current.rows, current.columns, dict(current.filters))
    s[LAYOUT_KEY] = layout
    return layout


def _write_url(layout: Layout, measure: str, value: str | None, view: str) -> None:
    put_in_url("rows", list(layout.rows), [])
    put_in_url("cols", list(layout.columns), [])
    put_in_url("filt", list(layout.filters), [])
    put_in_url("fcat", [f"{name}:{code}" for name, codes in layout.filters.items() for code in codes], [])
    put_in_url("measure", measure, "count")
    put_in_url("value", value or "", "")
    put_in_url("view", view, "table")


def _controls(layout: Layout, dataset: str, tier: str, lang: str) -> tuple[str, str | None, str]:
    """The picker, its plain fallback, the filters' categories, the measure and the view."""
    codebook = load_codebook(dataset)
    usable = pivot.fields(codebook, tier)
    names = [v.name for v in usable]
    label = lambda name: codebook[name].label(lang)  # noqa: E731

    field_picker(PICKER_KEY, grouped_fields(codebook, usable, lang), layout.rows, layout.columns,
                 list(layout.filters), lang, on_change=_on_picker)
    with st.expander(t("crosstab.fallback", lang), icon=":material/list:"):
        for zone, chosen in zip(("rows", "cols", "filters"), (layout.rows, layout.columns, list(layout.filters))):
            st.session_state[FALLBACK_KEYS[zone]] = list(chosen)
            st.multiselect(t(f"crosstab.zone.{zone}", lang), names, key=FALLBACK_KEYS[zone], format_func=label,
                            on_change=_on_fallback, args=(zone,), placeholder=t("crosstab.fallback_placeholder", lang),
                            select_all=False)

    left, right = st.columns(2)
    left.button(t("crosstab.swap", lang), icon=":material/swap_horiz:", on_click=_swap, key="ct_swap",
                disabled=not layout.dims)
    right.button(t("crosstab.reset", lang), icon=":material/restart_alt:", on_click=_reset, key="ct_reset")

    if layout.filters:
        st.markdown(f"**{t('crosstab.filter_categories', lang)}**")
        for name, codes in layout.filters.items():
            var = codebook[name]
            options, label = cached("categories", dataset, name, tier=tier), (lambda c, v=var: v.choice_label(c, lang))
            if tier == "public":  # one answer per filter (design.md rule 12)
                st.session_state[_cat_key(name)] = codes[0] if codes else None
                st.selectbox(
                    var.label(lang), options, key=_cat_key(name), index=None, format_func=label,
                    on_change=_on_categories, args=(name,), placeholder=t("crosstab.all_categories", lang))
                continue
            st.session_state[_cat_key(name)] = list(codes)
            st.multiselect(  # no "Select N matches": see components/filter_bar.py
                var.label(lang), options, key=_cat_key(name), format_func=label, on_change=_on_categories,
                args=(name,), placeholder=t("crosstab.all_categories", lang), select_all=False)

    numbers = [v.name for v in pivot.number_fields(codebook, tier)]
    measures = list(COUNT_MEASURES) + (list(NUMBER_MEASURES) if numbers else [])
    seed_from_url("measure", MEASURE_KEY, measures, lang)
    seed_from_url("view", VIEW_KEY, CROSSTAB_VIEWS, lang)
    seed_from_url("value", VALUE_KEY, numbers, lang)
    if st.session_state.get(MEASURE_KEY) not in measures:
        st.session_state[MEASURE_KEY] = "count"
    if st.session_state.get(VIEW_KEY) not in CROSSTAB_VIEWS:
        st.session_state[VIEW_KEY] = "table"
    measure = _choice(st.radio, t("crosstab.measure", lang), measures, MEASURE_KEY, lang,
                      lambda m: t(f"crosstab.measure.{m}", lang), horizontal=True)
    value = None
    if measure in NUMBER_MEASURES:
        if st.session_state.get(VALUE_KEY) not in numbers:
            st.session_state[VALUE_KEY] = numbers[0]
        value = _choice(st.selectbox, t("crosstab.value", lang), numbers, VALUE_KEY, lang, label)
    view = _choice(st.radio, t("crosstab.view", lang), CROSSTAB_VIEWS, VIEW_KEY, lang,
                   lambda v: t(f"crosstab.view.{v}", lang), horizontal=True)
    return measure, value, view


def _copy(widget_key: str, key: str) -> None:
    st.session_state[key] = st.session_state[widget_key]


def _choice(widget, label: str, options: list[str], key: str, lang: str, format_func, **kwargs) -> str:
    """A choice kept under `key` and drawn by a widget of the language's own: a keyed radio whose
    labels change language comes back drawn with nothing selected in Streamlit 1.67."""
    widget_key = f"{key}_{lang}"
    st.session_state[widget_key] = st.session_state[key]
    widget(label, options, key=widget_key, format_func=format_func, on_change=_copy, args=(widget_key, key), **kwargs)
    return st.session_state[key]


def _run(fn, dataset, *args, filters=None, tier="public"):
    return cached(fn, dataset, *args, filters=filters, tier=tier)


def _title(p: pivot.Pivot, lang: str) -> str:
    codebook = load_codebook(p.dataset)
    rows = pivot_view.SEP.join(codebook[n].label(lang) for n in p.rows)
    cols = pivot_view.SEP.join(codebook[n].label(lang) for n in p.columns)
    fields = " × ".join(part for part in (rows, cols) if part)
    measure = t(f"crosstab.measure.{p.measure}", lang)
    if p.value_variable:
        measure = t("crosstab.measure_of", lang, measure=measure, question=codebook[p.value_variable].label(lang))
    return f"{fields} — {measure}"


def _filters_line(ctx, layout: Layout, lang: str) -> str:
    codebook = load_codebook(ctx.filters.dataset)
    parts = [filters_text(ctx.filters, lang)] if ctx.filters.active() else []
    for name, codes in layout.filters.items():
        if codes:
            var = codebook[name]
            parts.append(t("charts.filter_item", lang, variable=var.label(lang),
                           values=", ".join(var.choice_label(c, lang) for c in codes)))
    return " · ".join(parts) if parts else t("charts.no_filter", lang)


def _result(ctx, layout: Layout, measure: str, value: str | None, view: str) -> None:
    lang, tier, dataset = ctx.lang, ctx.tier, ctx.filters.dataset
    try:
        p = pivot.build(dataset, layout, measure, tier, shared_filters=ctx.filters.query_filters(),
                        value_variable=value, run=_run)
    except disclosure.TableRefused as e:
        refused(e, lang, dataset)
        if e.rule:  # rule 0: a question with no answers yet (core.query.NoAnswers)
            st.caption(t("crosstab.rule", lang, rule=e.rule) + " " + t(f"crosstab.suggest.{_suggestion(e)}", lang))
        return
    except (ValueError, PermissionError):
        st.warning(t("crosstab.number_needs_single", lang), icon=":material/info:")
        return

    title = _title(p, lang)
    st.subheader(title, anchor=False)  # no "link to heading" Tab stop before the figure
    source = source_line_for(ctx, lang)
    filters_line = _filters_line(ctx, layout, lang)
    base_line = t("charts.base", lang, base=fmt_int(p.base, lang)) if p.base is not None else "–"
    spec = None
    with st.container(key=FIGURE_KEY):  # scrolls sideways inside itself, not the page (_STYLE)
        why_not = pivot_view.no_chart(p, lang) if view != "table" else None
        if view == "table" or why_not:
            if why_not:
                st.info(t({"one_cell": "figures.one_cell", "too_big": "crosstab.chart_too_big"}[why_not], lang),
                        icon=":material/table_view:")
            st.dataframe(pivot_view.display_table(p, lang), hide_index=True, width="stretch")
        else:
            spec = pivot_view.chart(p, view, lang).to_dict(validate=False)  # validated in tests/unit/test_chart_specs.py
            st.vega_lite_chart(spec=present.chart_spec(spec), width="stretch", key="ct_chart")
    notes = [base_line, t("charts.filters", lang, filters=filters_line)]
    empty = pivot_view.empty_note(p, lang)
    if p.measure in NUMBER_MEASURES:
        notes.append(empty)
    if any(load_codebook(dataset)[n].type == "multiple" for n in layout.dims):
        notes.append(t("crosstab.multiple_note", lang))
    st.caption("  \n".join([*notes, f"{source} {t('charts.caveat', lang)}"]))
    how_to_read(lang, tier, "table", "crosstab")

    def export_spec(spec=spec, title=title, subtitle=(base_line, filters_line, source)):
        from core.figures.charts import for_export

        return for_export(spec, title=title, subtitle=list(subtitle))

    download_menu("ct_download", lang, stem=file_stem(dataset, "crosstab", *layout.dims, measure, p.value_variable or ""),
                  table=pivot_view.download_table(p, lang),
                  header_rows=[*header(lang, ctx.filters, title, filters_line, base_line, source),
                               (t("downloads.header.empty", lang), empty)],
                  spec=export_spec if spec is not None else None)


def source_line_for(ctx, lang: str) -> str:
    from components.question import View

    return source_line(View(lang, ctx.tier, ctx.filters), get_engine().dataset(ctx.filters.dataset).synthetic)


def _suggestion(error: disclosure.TableRefused) -> str:
    return {"too_many_variables": "fewer", "too_sparse": "coarser", "too_many_cells": "coarser",
            "population_too_small": "wider"}.get(error.reason, "coarser")


# The chart's own menu (Streamlit's: "Show data", "Download as PNG", "Copy Vega-Lite spec", full screen)
# is hidden: the Download menu under the figure gives the files, with their header, in the language.
# A figure wider than its column scrolls inside its own box.
_STYLE = f"""<style>
.st-key-{FIGURE_KEY} {{ overflow-x: auto; max-width: 100%; }}
.st-key-{FIGURE_KEY} [data-testid="stElementToolbar"] {{ display: none; }}
</style>"""


@st.fragment
def _builder() -> None:
    """The picker and the table it gives: a fragment, so that a choice here reruns only this (issue 21),
    not the router and the sidebar. The link follows every choice (_write_url)."""
    ctx = context()
    if ctx is None:
        return
    lang, tier, dataset = ctx.lang, ctx.tier, ctx.filters.dataset
    layout = _layout(dataset, tier, lang)
    skip_link(t("crosstab.skip", lang), RESULT_KEY)
    # Controls and result side by side on a wide screen, so that the result is in view after a
    # choice; one under the other on a phone, where the page scrolls to the result after a change.
    controls, result = st.columns([5, 7], gap="medium")
    with controls:
        measure, value, view = _controls(layout, dataset, tier, lang)
    _write_url(layout, measure, value, view)
    with result, st.container(key=RESULT_KEY):
        if not layout.dims:
            st.info(t("crosstab.empty", lang), icon=":material/drag_pan:")
        else:
            _result(ctx, layout, measure, value, view)
    scroll_to(RESULT_KEY, repr((layout, measure, value, view, dataset)))


def render() -> None:
    ctx = context()
    if ctx is None:
        return
    lang, tier, dataset = ctx.lang, ctx.tier, ctx.filters.dataset
    st.title(t("crosstab.title", lang))
    st.markdown(t("crosstab.intro", lang))
    synthetic_banner(lang, dataset)
    st.html(_STYLE)
    _builder()
    if tier == "public":
        rules = disclosure.settings()
        st.caption(t("crosstab.public_limit", lang, limit=rules.max_variables,
                      sensitive=rules.max_variables_sensitive))
    st.subheader(t("caveats.title", lang))
    caveats(lang, tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
