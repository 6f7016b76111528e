"""How protected figures are shown, the same way on every page: a count or "<10", the synthetic-data
banner, the caveats, a refusal's reason in plain words, and the cached queries behind them.

Query results are cached per process (st.cache_data), keyed by the dataset's loaded version (so a
new data file is never answered from an old cache) and by the tier: the tier decides the code path in
core.query, so a public caller can only ever receive public results.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core import disclosure, query
from core.data.engine import get_engine, load_codebook
from core.i18n import refusal_message, t


def _version(dataset: str) -> str:
    return get_engine().dataset(dataset).table  # a new name each time the file is reloaded


def data_version(dataset: str) -> str:
    """The loaded version of a dataset: a cache key that changes when its file is reloaded."""
    return _version(dataset)


@st.cache_data(max_entries=1024, show_spinner=False)
def _cached(version: str, fn: str, dataset: str, args: tuple, filters: tuple, tier: str):
    function = {"crosstab": query.crosstab, "total": query.total, "shares": query.shares, "flows": query.flows,
                "timeseries": query.timeseries, "summary": query.summary, "distribution": query.distribution,
                "categories": query.categories}[fn]
    if fn == "categories":
        return function(dataset, *args, tier=tier)
    return function(dataset, *args, filters={k: list(v) for k, v in filters}, tier=tier)


def cached(fn: str, dataset: str, *args, filters: dict | None = None, tier: str = "public"):
    """core.query.`fn`(dataset, *args, filters=, tier=), cached. Refusals (TableRefused) are raised,
    not cached."""
    key = tuple(sorted((k, tuple(v)) for k, v in (filters or {}).items()))
    return _cached(_version(dataset), fn, dataset, tuple(tuple(a) if isinstance(a, list) else a for a in args),
                   key, tier)


def arrow_datasets(spec: dict) -> dict:
    """A Vega-Lite spec whose named datasets are Arrow bytes, as Streamlit sends them: for a spec made once
    and cached, so that no rerun converts its data again (st.vega_lite_chart passes bytes on as they are;
    Altair's to_dict() gives lists of records, which it converted on every run: a third of a theme page's
    rerun, scripts/load)."""
    from streamlit import dataframe_util

    datasets = spec.get("datasets")
    if not datasets:
        return spec
    return {**spec, "datasets": {name: dataframe_util.convert_anything_to_arrow_bytes(values)
                                 for name, values in datasets.items()}}


def arrow_table(table):
    """`table` (a DataFrame) as the Arrow table st.dataframe makes of it, for a table made once and cached:
    st.dataframe sends an Arrow table's bytes as they are, the same bytes it would have made from the
    DataFrame, instead of converting the DataFrame again on every rerun (a dozen tables under a theme
    page's charts were a quarter of its rerun, scripts/load)."""
    from streamlit import dataframe_util

    return dataframe_util.convert_pandas_df_to_arrow_table(table)


def synthetic_banner(lang: str, dataset: str) -> None:
    """The "synthetic data" warning, wherever a synthetic dataset's figures are shown."""
    if get_engine().dataset(dataset).synthetic:
        st.warning(t("banner.synthetic", lang), icon=":material/science:")


def refused(error: disclosure.TableRefused, lang: str, dataset: str) -> None:
    """Why the public rules refuse a table, in plain words; or that a question has no answers yet."""
    if error.reason == "no_answers":  # core.query.NoAnswers, in every tier: not a disclosure rule
        st.info(t("disclosure.no_answers", lang), icon=":material/hourglass_empty:")
        return
    codebook = load_codebook(dataset)
    label = lambda name: codebook[name].label(lang) if name in codebook else name  # noqa: E731
    st.info(f"**{t('disclosure.refused_title', lang)}**  \n"
            f"{refusal_message(error.reason, error.params, lang, label=label)}", icon=":material/shield:")


def caveats(lang: str, tier: str) -> None:
    """The caveats every figure of the portal carries (design.md rules, reference/4mi-domain.md)."""
    rules = disclosure.settings()
    lines = [t("caveats.purposive", lang), t("caveats.not_representative", lang), t("caveats.unweighted", lang)]
    if tier == "public":
        lines += [t("caveats.perturbed", lang), t("caveats.below_min", lang, minimum=rules.min_count),
                  t("caveats.percent_base", lang, minimum=rules.min_percentage_base),
                  t("caveats.granularity", lang, minimum=rules.min_category_size)]
    st.markdown("\n".join(f"- {line}" for line in lines))


HOW_TO_READ_KINDS = ("shares", "number", "counts", "map", "table")


def how_to_read(lang: str, tier: str, kind: str, key: str, about: Sequence[str] = ()) -> None:
    """"About these figures", the one toggle beside every chart, map or table of the portal (so that
    one caption is left under the figure): `about`, what this figure says besides its bars (notes,
    base, who was asked, filters, source), then how to read it: what the figure is of, what a withheld
    value means, why public figures are approximate, and why the sample is not representative.
    `kind`: one of HOW_TO_READ_KINDS."""
    how_to_read_box(how_to_read_lines(lang, tier, kind, about), lang, key)


def how_to_read_lines(lang: str, tier: str, kind: str, about: Sequence[str] = ()) -> list[str]:
    """The lines of "About these figures" (how_to_read), for a figure that keeps them with it."""
    rules = disclosure.settings()
    lines = [*about, t(f"howto.{kind}", lang)]
    if tier == "public" and kind == "map":
        lines.append(t("howto.map_hidden", lang, minimum=rules.min_count))
    if tier == "public":
        lines += [t("howto.withheld", lang, minimum=rules.min_count, base=rules.min_percentage_base),
                  t("howto.approximate", lang)]
    else:
        lines.append(t("howto.exact", lang))
    lines.append(t("howto.not_representative", lang))
    return lines


def how_to_read_box(lines: Sequence[str], lang: str, key: str) -> None:
    """"About these figures" with these lines (how_to_read_lines)."""
    with st.container(key=f"howto_{key}"):
        with st.expander(t("howto.title", lang), icon=":material/info:"):
            st.markdown("\n".join(f"- {line}" for line in lines))


def table_box(table, lang: str, key: str, **dataframe) -> None:
    """The table behind a chart, in an expander ("Table") drawn closed: the table is drawn only once it is
    opened, and that reruns only this box (a fragment). A theme page's tables, drawn inside their closed
    boxes, made a new visitor's browser load and start Streamlit's table code (1.2 MB) before it drew the
    first chart: 2.5 s to it, 2.1 s without (interleaved visits in Chromium)."""
    _table_box([(None, table)], t("figures.table", lang), None, table_key(key), dataframe)


def tables_box(tables: Sequence[tuple[str, object]], label: str, note: str, key: str) -> None:
    """Several titled tables behind one figure (the map's layers) in one box `label` drawn closed, as
    table_box draws one: `note` above them, each table under its title in bold, drawn once opened."""
    _table_box(list(tables), label, note, table_key(key), {})


def table_key(key: str) -> str:
    """The session-state key of a table box's expander for the figure `key`: True while it is open."""
    return f"table_{key}"


@st.fragment
def _table_box(tables: list[tuple[str | None, object]], label: str, note: str | None, key: str,
               dataframe: dict) -> None:
    with st.expander(label, icon=":material/table:", key=key, on_change="rerun") as box:
        if not box.open:
            return
        if note:
            st.caption(note)
        for title, table in tables:
            if title:
                st.markdown(f"**{title}**")
            st.dataframe(table, **{"hide_index": True, "width": "stretch", **dataframe})
