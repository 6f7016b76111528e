"""Altair charts of protected tables: bars of shares, grouped bars and small multiples, trends, an age
and gender pyramid, quartile ranges and distributions of numbers.

Each function takes a small DataFrame that the caller made from a core.query result (one row per
category, never per respondent) and draws it as it is, its values written into the spec (`inline`):
what a chart holds is what Streamlit sends to the browser. Rows carry the category codes beside their labels (`code`, `group_code`), so that a click
can set a filter, and a `text` column with the figure as the page writes it ("34%", "<10"), so that a
withheld value is labelled as such, never drawn as a zero. Numbers on the axes follow the language
(`locale`). Every `encode` takes its arguments through `channels`, which spares Altair guessing each
channel's class (half of the cost of making a chart).
"""

from __future__ import annotations

import functools
import textwrap

import altair as alt
import pandas as pd
from babel import Locale
from babel.numbers import format_percent

# Altair checks every object against Vega-Lite's JSON schema when it is made (its "debug mode"), which took
# a fifth of making a chart: off for the process, as `spec` leaves out the check of the whole spec.
# tests/unit/test_chart_specs.py validates every kind of chart the portal draws instead.
alt.utils.schemapi.disable_debug_mode()

# A click on a mark selects its category: the parameter Streamlit reports in the chart's state.
PICK = "pick"
MUTED = "#9ca3af"
LABEL_LIMIT = 260
# On a phone (a box under 480 px, `narrow`) the answers' labels are cut shorter, with an ellipsis, so
# that the bars keep most of the width (the full label is in the tooltip and the table under the chart).
PHONE_LABEL_LIMIT = 120
# Up to this many groups a breakdown is drawn as grouped bars, above as small multiples.
GROUPED_MAX = 3


@functools.cache
def locale(lang: str) -> dict:
    """d3's number format locale for `lang`, from CLDR: "1 234,5" and "25 %" in French."""
    symbols = Locale.parse(lang).number_symbols["latn"]
    percent = format_percent(0.25, locale=lang).replace("25", "")
    return {"decimal": symbols["decimal"], "thousands": symbols["group"], "grouping": [3],
            "currency": ["", ""], "percent": percent}


def finish(chart, lang: str):
    """The top-level settings every chart gets: the language's number format, quiet views."""
    return chart.configure(locale={"number": locale(lang)}).configure_view(stroke=None)


def spec(chart, lang: str) -> dict:
    """The chart's Vega-Lite spec as a page sends it (`finish`ed), not validated again: Altair checks a
    spec against Vega-Lite's JSON schema at every `to_dict()`, which took 8 to 15 ms of a chart's 17 to 23
    (a dozen charts on a cold theme page). tests/unit/test_chart_specs.py validates every kind of chart the
    portal draws, so a spec that breaks the schema fails there, not in a visitor's browser."""
    return finish(chart, lang).to_dict(validate=False)


def channel(encoding: str, value):
    """One argument of `encode` as Altair's channel object: a shorthand ("text:N") as the channel's field
    (alt.Text), a dict of alt.value or alt.condition as its value (alt.TextValue) or field with a condition,
    as `encode` itself would. `encode` finds that class by trying Vega-Lite's schema definitions one
    after another against the dict (Altair's `from_dict`): 3 to 6 ms for each condition or shorthand, half
    of making a bar chart; the class is known here. Objects and lists of them are kept as they are."""
    if isinstance(value, str):
        value = {"shorthand": value}
    elif isinstance(value, list):
        return [channel(encoding, v) for v in value]
    if not isinstance(value, dict):
        return value
    name = encoding[0].upper() + encoding[1:]
    return getattr(alt, f"{name}Value" if "value" in value else name)(**value)


def channels(**encodings) -> dict:
    """The arguments of a chart's `encode`, each made its channel object (`channel`)."""
    return {encoding: channel(encoding, value) for encoding, value in encodings.items()}


def narrow(phone: float, wide: float) -> dict:
    """A chart setting that depends on the width of the chart's box, read by Vega in the browser
    (the server does not know the screen): `phone` under 480 px, `wide` above."""
    return {"expr": f"containerSize()[0] > 0 && containerSize()[0] < 480 ? {phone} : {wide}"}


def narrow_window(phone: float | str, wide: float | str) -> dict:
    """`narrow` for a chart whose box is as wide as the chart itself: small multiples (a facet cannot fill
    its box, and Streamlit's box then takes the chart's width), decided by the window's width instead."""
    return {"expr": f"windowSize()[0] > 0 && windowSize()[0] < 480 ? {phone} : {wide}"}


def answer_axis(wide: float = LABEL_LIMIT) -> alt.Axis:
    """The axis of the answers' labels (a bar chart's y): `wide` px of label on a desktop, fewer on a phone."""
    return alt.Axis(labelLimit=narrow(PHONE_LABEL_LIMIT, wide))


# An axis title no wider than the plot (Vega's `width` signal: the plot's width in the browser). A
# phone's plot is narrower than the title: it ran past the screen inside the chart's box.
PLOT_TITLE_LIMIT = {"expr": "width"}
TITLE_LINE = 36  # characters of an axis title's line: about 250 px, a phone's plot beside its labels


def title_lines(text: str) -> str | list[str]:
    """A long axis title (a question's wording) as lines of at most TITLE_LINE characters, which Vega
    writes one under the other: cut to the plot's width on one line, a phone showed only its start."""
    lines = textwrap.wrap(text, TITLE_LINE, break_long_words=False, break_on_hyphens=False)
    return lines if len(lines) > 1 else text


def inline(data: pd.DataFrame) -> alt.InlineData:
    """The table as values written into the spec. Not a DataFrame: Streamlit switches Altair's data
    transformer for the whole process while it draws, and a download rendered meanwhile on another
    thread would get a reference to data it cannot read. Tables here are a few dozen rows."""
    clean = data.astype(object).where(data.notna(), None)
    return alt.InlineData(values=[{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                                  for row in clean.to_dict("records")])


def one_cell(data: pd.DataFrame, row: str, column: str) -> bool:
    """True when a table of `data` (one line per cell, its row and column labels in `row` and
    `column`) has a single cell, or none: a chart of it would compare nothing (a heatmap of one
    square, a bar alone), so the figure is written as text or a table instead."""
    return data[row].nunique(dropna=False) <= 1 and data[column].nunique(dropna=False) <= 1


def _pick(fields: list[str]):
    return alt.selection_point(name=PICK, fields=fields, on="click", clear="dblclick")


def _highlight(pick):
    return alt.condition(pick, alt.value(1.0), alt.value(0.45)) if pick is not None else alt.value(1.0)


def _share_axis(title: str | None) -> alt.X:
    # Three ticks on a phone: five of them ("0%" to "100%") overlapped in a plot of 200 px.
    return alt.X("share:Q", title=title, axis=alt.Axis(format=".0%", grid=True, tickCount=narrow(3, 5),
                                                       titleLimit=PLOT_TITLE_LIMIT),
                 scale=alt.Scale(domainMin=0))


def _domain_max(values: pd.Series, floor: float) -> float:
    top = pd.to_numeric(values, errors="coerce").max()
    return max(float(top) * 1.18 if pd.notna(top) else 0.0, floor)


def share_bars(data: pd.DataFrame, *, x_title: str, select: list[str] | None = None,
               tooltip: list | None = None) -> alt.LayerChart:
    """Horizontal bars of shares, one per answer (data order), labelled with `text`."""
    pick = _pick(select) if select else None
    top = _domain_max(data["share"], 0.1)
    base = alt.Chart().encode(**channels(
        y=alt.Y("option:N", sort=None, title=None, axis=answer_axis()),
    ))
    bars = base.mark_bar(color="#1f77b4").encode(**channels(
        x=_share_axis(x_title).scale(domain=[0, top]), opacity=_highlight(pick), tooltip=tooltip or []))
    if pick is not None:
        bars = bars.add_params(pick)
    labels = base.mark_text(align="left", dx=3, fontSize=11).encode(**channels(
        x=alt.X("pos:Q").scale(domain=[0, top]), text="text:N",
        color=alt.condition(alt.datum.share == None, alt.value(MUTED), alt.value("#1f2937"))))  # noqa: E711
    return alt.layer(bars, labels, data=inline(data)).properties(height=alt.Step(22))


def _groups_legend() -> alt.Legend:
    """The legend of the groups above a chart: in a row on a desktop (Vega's default, 0 columns), one under
    the other on a phone, where a row of them ran off the screen."""
    return alt.Legend(orient="top", columns=narrow(1, 0))  # Vega's label and title limits (160, 180 px) fit a phone


def grouped_share_bars(data: pd.DataFrame, *, x_title: str, group_title: str, group_order: list[str],
                       select: list[str] | None = None, tooltip: list | None = None) -> alt.LayerChart:
    """Bars of shares per answer, one bar per group side by side (a few groups)."""
    pick = _pick(select) if select else None
    top = _domain_max(data["share"], 0.1)
    base = alt.Chart().encode(**channels(
        y=alt.Y("option:N", sort=None, title=None, axis=answer_axis()),
        yOffset=alt.YOffset("group:N", sort=group_order),
    ))
    bars = base.mark_bar().encode(**channels(
        x=_share_axis(x_title).scale(domain=[0, top]),
        color=alt.Color("group:N", sort=group_order, title=group_title, legend=_groups_legend()),
        opacity=_highlight(pick), tooltip=tooltip or []))
    if pick is not None:
        bars = bars.add_params(pick)
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(**channels(
        x=alt.X("pos:Q").scale(domain=[0, top]), text="text:N", color=alt.value("#374151")))
    return alt.layer(bars, labels, data=inline(data)).properties(height=alt.Step(13))


# Small multiples: each panel PANEL px wide, PANEL_GAP apart, beside the answers' labels.
PANEL, PANEL_GAP = 88, 8


def small_multiples(data: pd.DataFrame, *, x_title: str, group_title: str, group_order: list[str],
                    select: list[str] | None = None, tooltip: list | None = None) -> alt.FacetChart:
    """One small bar chart of shares per group, side by side, sharing the answers' axis.

    The panels wrap into rows where they do not fit the chart's box (a phone: two per row), decided in the
    browser: Vega-Lite's `columns` is a number, not an expression, so each panel's row and column are
    worked out from its place (`panel`) and the box's width (`containerSize()`), and the panels are
    faceted by those, with the group's name written above each panel. On a desktop, all in one row."""
    pick = _pick(select) if select else None
    top = _domain_max(data["share"], 0.1)
    n = len(group_order)
    data = data.assign(panel=[group_order.index(g) if g in group_order else n for g in data["group"]])
    phone_labels = PHONE_LABEL_LIMIT - 10
    label_limit = narrow_window(phone_labels, 190)
    # Panels per row on a phone: as many as fit beside the labels in the page's column (the window less
    # Streamlit's padding of 2 × 16 px), at least one; on a desktop all of them, in one row.
    fit = f"floor((windowSize()[0] - 32 - {phone_labels + 20}) / {PANEL + PANEL_GAP})"
    columns = narrow_window(f"clamp({fit}, 1, {n})", n)["expr"]
    base = alt.Chart().encode(**channels(y=alt.Y("option:N", sort=None, title=None, axis=alt.Axis(labelLimit=label_limit))))
    bars = base.mark_bar(color="#1f77b4").encode(**channels(
        x=alt.X("share:Q", title=None, axis=alt.Axis(format=".0%", tickCount=3), scale=alt.Scale(domain=[0, top])),
        opacity=_highlight(pick), tooltip=tooltip or []))
    if pick is not None:
        bars = bars.add_params(pick)
    labels = base.mark_text(align="left", dx=2, fontSize=10).encode(**channels(
        x=alt.X("pos:Q").scale(domain=[0, top]), text="text:N", color=alt.value("#374151")))
    # The group's name above its panel (as the headers of a facet by group were).
    names = alt.Chart().mark_text(baseline="bottom", dy=-6, fontSize=11, fontWeight="bold", limit=PANEL + 4,
                                  color="#31333f").encode(**channels(
        x=alt.value(PANEL / 2), y=alt.value(0), text="group:N")).transform_aggregate(groupby=["group"])
    layer = alt.layer(bars, labels, names).properties(width=PANEL, height=alt.Step(20))
    hidden = alt.Header(labels=False, title=None)
    return layer.facet(
        row=alt.Row("frow:O", title=None, header=hidden),
        column=alt.Column("fcol:O", title=f"{group_title} · {x_title}",
                          header=alt.Header(labels=False, titleLimit=narrow_window(260, 0))),
        data=inline(data), spacing={"row": 36, "column": PANEL_GAP},
    ).transform_calculate(fcols=columns).transform_calculate(
        frow="floor(datum.panel / datum.fcols)", fcol="datum.panel % datum.fcols")


# Fit the chart to its box's width only: Streamlit's theme fits both (autosize "fit"), and a chart with a
# fixed height and a tall legend under it then had its plot squeezed to a few pixels (a phone's legend in
# one column left none).
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def share_trend(data: pd.DataFrame, *, x_title: str, y_title: str, quarter_order: list[str],
                tooltip: list | None = None) -> alt.Chart:
    """Shares of each answer by quarter, a line per answer; withheld quarters leave a gap."""
    return alt.Chart(inline(data)).mark_line(point=True).encode(**channels(
        x=alt.X("group:O", sort=quarter_order, title=x_title, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("share:Q", title=y_title, axis=alt.Axis(format=".0%")),
        # The legend under the chart, in two columns on a desktop and one on a phone (two of 260 px ran off).
        color=alt.Color("option:N", sort=None, title=None, legend=alt.Legend(orient="bottom", columns=narrow(1, 2),
                                                                          labelLimit=narrow(230, LABEL_LIMIT))),
        tooltip=tooltip or [],
    )).properties(height=320, autosize=FIT_WIDTH)


def count_trend(data: pd.DataFrame, *, x_title: str, y_title: str, order: list[str],
                tooltip: list | None = None) -> alt.Chart:
    """Respondents per period (quarters or years), bars labelled; withheld periods say "<10"."""
    base = alt.Chart().encode(**channels(x=alt.X("option:O", sort=order, title=x_title, axis=alt.Axis(labelAngle=-45))))
    bars = base.mark_bar(color="#1f77b4").encode(**channels(
        y=alt.Y("count:Q", title=y_title, axis=alt.Axis(format=",d")), tooltip=tooltip or []))
    # Too many bars for their numbers on a phone: none written there (the table has them).
    labels = base.mark_text(dy=-4, baseline="bottom", fontSize=narrow(0, 9), angle=0).encode(**channels(
        y=alt.Y("pos:Q"), text="text:N", color=alt.value("#374151")))
    return alt.layer(bars, labels, data=inline(data)).properties(height=260)


def grouped_count_trend(data: pd.DataFrame, *, x_title: str, y_title: str, order: list[str],
                        group_title: str, group_order: list[str], tooltip: list | None = None) -> alt.Chart:
    """Respondents per period and group, a line per group."""
    return alt.Chart(inline(data)).mark_line(point=True).encode(**channels(
        x=alt.X("option:O", sort=order, title=x_title, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("count:Q", title=y_title, axis=alt.Axis(format=",d")),
        color=alt.Color("group:N", sort=group_order, title=group_title, legend=_groups_legend()),
        tooltip=tooltip or [],
    )).properties(height=300, autosize=FIT_WIDTH)


def pyramid(data: pd.DataFrame, *, x_title: str, age_order: list[str], gender_order: list[str],
            select: list[str] | None = None, tooltip: list | None = None) -> alt.LayerChart:
    """Respondents by age band (`band`, rows) and gender: the first gender to the left, the second to
    the right. `signed` is the count, negative on the left; `text` the count as shown."""
    pick = _pick(select) if select else None
    base = alt.Chart().encode(**channels(y=alt.Y("band:N", sort=list(reversed(age_order)), title=None)))
    bars = base.mark_bar().encode(**channels(
        x=alt.X("signed:Q", title=x_title, axis=alt.Axis(labelExpr="format(abs(datum.value), ',d')")),
        color=alt.Color("gender:N", sort=gender_order, title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(range=["#1f77b4", "#d62728"])),
        opacity=_highlight(pick), tooltip=tooltip or []))
    if pick is not None:
        bars = bars.add_params(pick)
    text = {"x": "pos:Q", "text": "text:N", "color": alt.value("#1f2937")}
    # On a phone the left side's numbers ran into the age labels: none written there (the table has them).
    left = base.mark_text(fontSize=narrow(0, 10), align="right", dx=-3).encode(**channels(**text)).transform_filter(alt.datum.pos < 0)
    right = base.mark_text(fontSize=narrow(0, 10), align="left", dx=3).encode(**channels(**text)).transform_filter(alt.datum.pos >= 0)
    return alt.layer(bars, left, right, data=inline(data)).properties(height=alt.Step(30))


def quartile_ranges(data: pd.DataFrame, *, x_title: str, group_order: list[str],
                    select: list[str] | None = None, tooltip: list | None = None) -> alt.LayerChart:
    """Per group, the middle half of the answers (first to third quartile) as a bar and the median as
    a tick, labelled; groups whose figures are withheld say why in `text`."""
    pick = _pick(select) if select else None
    base = alt.Chart().encode(**channels(y=alt.Y("group:N", sort=group_order, title=None, axis=answer_axis())))
    band = base.mark_bar(color="#9ecae1", height=14).encode(**channels(
        x=alt.X("p25:Q", title=title_lines(x_title), axis=alt.Axis(format=",d", tickCount=narrow(3, "ceil(width / 40)"),
                                                     titleLimit=PLOT_TITLE_LIMIT)),
        x2="p75:Q",
        opacity=_highlight(pick), tooltip=tooltip or []))
    if pick is not None:
        band = band.add_params(pick)
    median = base.mark_tick(color="#08519c", thickness=3, size=18).encode(**channels(x="median:Q", tooltip=tooltip or []))
    labels = base.mark_text(align="left", dx=6, fontSize=11).encode(**channels(x="pos:Q", text="text:N",
                                                                     color=alt.value("#1f2937")))
    return alt.layer(band, median, labels, data=inline(data)).properties(height=alt.Step(28))


def histogram(data: pd.DataFrame, *, x_title: str, y_title: str, order: list[str],
              tooltip: list | None = None) -> alt.LayerChart:
    """Respondents per interval of a number (`option`: the interval's label, in order)."""
    base = alt.Chart().encode(**channels(x=alt.X("option:N", sort=order, title=title_lines(x_title),
                                                 axis=alt.Axis(labelAngle=-30, titleLimit=PLOT_TITLE_LIMIT))))
    bars = base.mark_bar(color="#6baed6").encode(**channels(
        y=alt.Y("count:Q", title=y_title, axis=alt.Axis(format=",d")), tooltip=tooltip or []))
    labels = base.mark_text(dy=-4, baseline="bottom", fontSize=narrow(8, 10)).encode(**channels(
        y="pos:Q", text="text:N", color=alt.condition(alt.datum.count == None, alt.value(MUTED),  # noqa: E711
                                                       alt.value("#1f2937"))))
    return alt.layer(bars, labels, data=inline(data)).properties(height=240)


def for_export(spec: dict, *, title: str, subtitle: list[str], width: int = 640) -> dict:
    """A chart's Vega-Lite spec (made with `finish`) as a stand-alone figure for a file: an explicit
    width (no page to take one from), the question as its title, and the base, filters and source
    under it, on white."""
    out = dict(spec)
    if "facet" not in out:  # small multiples keep the width of their panels
        out["width"] = width
    out.pop("autosize", None)  # a box's width to fit (FIT_WIDTH): a file has none, its plot is `width` wide
    out["title"] = {"text": title, "subtitle": subtitle, "anchor": "start", "fontSize": 15, "subtitleFontSize": 11,
                    "subtitleColor": "#374151", "limit": width + 300, "subtitleLimit": width + 300,
                    "offset": 12}
    out["padding"] = 16
    out["background"] = "white"
    return out
