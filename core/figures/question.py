"""The figure of one question: the protected query that fits its type, the Altair chart drawn from it,
the table its downloads hold and the lines that say what the chart is. No Streamlit: the page's cache
and drawing are components/question.py.

Which chart for which type (core.data.codebook.TYPES):
  single, multiple  the share of respondents choosing each answer (multiple choice: each out of the
                    respondents asked; shares do not add up to 100%);
  country           the same, for the most frequent countries;
  number            median and quartiles (core.query.summary, rule 7) and the distribution over
                    the question's fixed intervals (core.query.distribution, public_bins);
  quarter, year     respondents per period: the trend;
  id, date          no chart (row-level).
A breakdown ("break down by") turns shares into grouped bars (a few groups) or small multiples, or,
by quarter, into a trend; numbers into quartile ranges per group. Everything comes from core.query
through the query function the caller passes (`ask`), at the caller's tier: public figures are
protected there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from core import query
from core.data.codebook import CHARTED, OTHER, Codebook, Variable, breakdowns, questions  # noqa: F401
from core.data.engine import load_codebook
from core.figures import charts
from core.figures.text import (
    amount,
    count_text,
    filters_text,
    interval,
    share_text,
    summary_note,
    summary_text,
)
from core.i18n import punct, t, tn
from core.query.filters import FILTER_PARAMS, PERIOD_VARIABLE, FilterState

FILTER_VARIABLES = tuple(FILTER_PARAMS.values())
TOP_CATEGORIES = 12  # countries shown in a chart; every one is in its table
MAX_GROUPS = 6  # groups drawn in a breakdown; every one is in its table
PYRAMID = "pyramid"
Ask = Callable[..., pd.DataFrame]  # (fn, dataset, *args, filters=, tier=) -> core.query.`fn`'s result


def ask_directly(fn: str, dataset: str, *args, filters: dict | None = None, tier: str = "public") -> pd.DataFrame:
    """Run core.query.`fn` with no cache: what `build` does when it is given no query function."""
    return getattr(query, fn)(dataset, *args, filters=filters, tier=tier)


@dataclass(frozen=True)
class View:
    """What a figure depends on besides its question: the language, the tier and the filters."""
    lang: str
    tier: str
    filters: FilterState

    @property
    def key(self) -> str:
        """The whole view as text, every field of it and of its filters (their repr): a cache key that is
        cheap to hash, for a cache read a dozen times per page run (components/question.py). Two views
        that differ in anything have different keys."""
        return repr(self)


@dataclass
class Figure:
    name: str  # the variable, or PYRAMID
    question: str
    chart: object | None  # an Altair chart; once made (`made`), its Vega-Lite spec; None: no chart
    table: pd.DataFrame  # what the downloads hold: the figures shown, labelled in the language
    base: int | None
    lines: list[str] = field(default_factory=list)  # what the chart says besides its bars
    select: dict[str, str] = field(default_factory=dict)  # chart field -> filter variable, for clicks
    # One sentence saying what the chart shows, from its shown (protected) figures only: the chart's text
    # alternative for screen readers (its Vega-Lite description) and the caption under it.
    summary: str = ""


# --- what a page shows -------------------------------------------------------------------------

def has_pyramid(codebook: Codebook, theme: str, tier: str) -> bool:
    """A theme holding both age band and gender gets the age-gender pyramid."""
    shown = {v.name for v in questions(codebook, theme, tier)}
    return {"age_band", "gender"} <= shown


# --- building a figure -----------------------------------------------------------------------------

def _labels(var: Variable, codes, lang: str) -> list[str]:
    return [var.choice_label(str(c), lang) for c in codes]


def _tooltip(lang: str, *fields: tuple[str, str]) -> list:
    return [alt.Tooltip(f"{name}:N", title=title) for name, title in fields]


def _share_figure(var: Variable, by: Variable | None, ctx: View, ask: Ask) -> Figure:
    lang, dataset = ctx.lang, ctx.filters.dataset
    res = ask("shares", dataset, var.name, [by.name] if by else [], filters=ctx.filters.query_filters(),
                 tier=ctx.tier)
    banded = res["flag"].isin(["under_band", "over_band"]).to_numpy()
    data = pd.DataFrame({
        "code": res[var.name].astype(str).to_numpy(),
        "option": _labels(var, res[var.name], lang),
        "share": res["share"].astype("Float64").to_numpy(dtype=float, na_value=float("nan")),
        # A share shown as a band ("over 95%") must not be given back by its count beside its base.
        "count": res["count"].mask(banded).to_numpy(),
        "base": res["base"].to_numpy(),
        "text": [share_text(s, f, lang) for s, f in zip(res["share"], res["flag"])],
    })
    data["pos"] = data["share"].fillna(0.0)
    lines = []
    # Answers in the codebook's order for single choice; most chosen first otherwise.
    order = list(dict.fromkeys(data["code"]))
    if var.type != "single":
        weight = data.groupby("code", sort=False)["count"].sum(min_count=1).astype(float).fillna(-1)
        order = sorted(order, key=lambda c: (c == OTHER, -weight[c]))
    if var.type == "country" and len(order) > TOP_CATEGORIES + (OTHER in order):
        lines.append(t("charts.top_only", lang, shown=TOP_CATEGORIES, total=len(order)))
        order = [c for c in order if c != OTHER][:TOP_CATEGORIES] + ([OTHER] if OTHER in order else [])
    rank = {c: i for i, c in enumerate(order)}
    select = {"code": var.name} if var.name in FILTER_VARIABLES else {}
    share_title = t("charts.share_axis", lang)
    tooltip = _tooltip(lang, ("option", var.label(lang)), ("text", share_title))
    table_cols = {"option": var.label(lang)}
    if by is None:
        shown = data[data["code"].isin(rank)].sort_values("code", key=lambda c: c.map(rank))
        chart = charts.share_bars(shown, x_title=share_title, select=list(select) or None, tooltip=tooltip)
    else:
        data["group_code"] = res[by.name].astype(str).to_numpy()
        data["group"] = _labels(by, res[by.name], lang)
        table_cols = {"group": by.label(lang), **table_cols}
        groups = list(dict.fromkeys(data["group_code"]))
        if by.name == PERIOD_VARIABLE:
            data = data[data["group_code"].isin(set(ctx.filters.quarters()))]
            shown = data[data["code"].isin(rank)].sort_values("code", key=lambda c: c.map(rank), kind="stable")
            chart = charts.share_trend(shown, x_title=by.label(lang), y_title=share_title,
                                       quarter_order=list(dict.fromkeys(shown["group"])),
                                       tooltip=_tooltip(lang, ("group", by.label(lang)), *tooltip_pairs(var, lang)))
        else:
            bases = data.drop_duplicates("group_code").set_index("group_code")["base"].astype("Float64")
            groups = [g for g in groups if pd.notna(bases[g])]
            if len(groups) > MAX_GROUPS:
                lines.append(t("charts.groups_only", lang, shown=MAX_GROUPS, total=len(groups)))
                groups = sorted(groups, key=lambda g: -float(bases[g]))[:MAX_GROUPS]
                groups = [g for g in dict.fromkeys(data["group_code"]) if g in groups]
            shown = data[data["code"].isin(rank) & data["group_code"].isin(groups)]
            shown = shown.sort_values("code", key=lambda c: c.map(rank), kind="stable")
            group_order = [by.choice_label(g, lang) for g in groups]
            if not select and by.name in FILTER_VARIABLES:
                select = {"group_code": by.name}
            draw = charts.grouped_share_bars if len(groups) <= charts.GROUPED_MAX else charts.small_multiples
            chart = draw(shown, x_title=share_title, group_title=by.label(lang), group_order=group_order,
                         select=list(select) or None,
                         tooltip=_tooltip(lang, ("group", by.label(lang)), *tooltip_pairs(var, lang)))
    if var.type == "multiple":
        lines.append(t("charts.multiple_note", lang))
    table = _share_table(data, table_cols, lang)
    summary = _share_summary(shown, by, ctx)
    return Figure(var.name, var.label(lang), chart, table, res.attrs.get("base"), lines, select, summary)


def _share_summary(shown: pd.DataFrame, by: Variable | None, ctx: View) -> str:
    """The answers with the largest shown shares (overall, per group, or first and last period)."""
    lang = ctx.lang
    visible = shown[shown["share"].notna()]
    if visible.empty:
        return t("figures.summary.withheld", lang)
    if by is None:
        top = visible.sort_values("share", ascending=False, kind="stable").head(SUMMARY_ITEMS)
        return t("figures.summary.shares", lang, answers=_listing(zip(top["option"], top["text"]), lang))
    if by.name == PERIOD_VARIABLE:  # the leading answer's share in its first and last period shown
        leader = visible.groupby("option", sort=False)["share"].mean().idxmax()
        trend = visible[visible["option"] == leader]
        return t("figures.summary.trend", lang, answer=leader, start=trend["group"].iloc[0],
                 first=trend["text"].iloc[0], end=trend["group"].iloc[-1], last=trend["text"].iloc[-1])
    tops = visible.sort_values("share", ascending=False, kind="stable").drop_duplicates("group")
    tops = tops.set_index("group").reindex(list(dict.fromkeys(visible["group"]))).dropna(subset=["option"])
    items = [(g, f"{o} ({txt})") for g, o, txt in zip(tops.index, tops["option"], tops["text"])]
    return t("figures.summary.groups", lang, by=by.label(lang), answers=_listing(items, lang, sep=": "))


SUMMARY_ITEMS = 3  # answers or groups named in a summary, then "…"


def _listing(pairs, lang: str, sep: str = " ") -> str:
    """"A (x); B (y); C (z)", or with `sep` ": " "g: A (x); …"; at most SUMMARY_ITEMS, then "…". In
    French with a narrow no-break space before the semicolons and colons (i18n.punct)."""
    pairs = list(pairs)
    if sep == " ":
        items = [f"{a} ({b})" for a, b in pairs]
    else:
        items = [f"{a}{punct(sep, lang)}{b}" for a, b in pairs]
    semicolon = punct("; ", lang)
    return semicolon.join(items[:SUMMARY_ITEMS]) + (semicolon + "…" if len(items) > SUMMARY_ITEMS else "")


def tooltip_pairs(var: Variable, lang: str) -> list[tuple[str, str]]:
    return [("option", var.label(lang)), ("text", t("charts.share_axis", lang))]


def _share_table(data: pd.DataFrame, columns: dict[str, str], lang: str) -> pd.DataFrame:
    """The download table of a share chart: every answer (and group), its protected count and base,
    the share in percent, and what the chart shows where a figure is withheld."""
    out = data[list(columns)].rename(columns=columns)
    out[t("charts.col.count", lang)] = data["count"].to_numpy()
    out[t("charts.col.base", lang)] = data["base"].to_numpy()
    out[t("charts.col.share", lang)] = (data["share"] * 100).round(1).to_numpy()
    out[t("charts.col.note", lang)] = _notes(data["text"], data["share"].isna())
    return out


def _notes(texts, withheld) -> list[str]:
    """A download's "withheld because" column: what the chart shows where a figure is withheld, empty where
    it is shown (the figure is then in its own column, as a number, the same in every language)."""
    return [str(text) if hidden else "" for text, hidden in zip(texts, withheld)]


def _count_figure(var: Variable, by: Variable | None, ctx: View, ask: Ask) -> Figure:
    """Respondents per quarter or year (a period variable): the trend of interviews."""
    lang, dataset = ctx.lang, ctx.filters.dataset
    names = [var.name] + ([by.name] if by and by.name != var.name else [])
    res = ask("crosstab", dataset, names, filters=ctx.filters.query_filters(), tier=ctx.tier)
    # Only the periods in the chosen range (a crosstab has the dataset's whole time axis).
    kept = set(ctx.filters.quarters()) if var.type == "quarter" else {q[:4] for q in ctx.filters.quarters()}
    base = res.attrs.get("base")
    res = res[res[var.name].astype(str).isin(kept)]
    data = pd.DataFrame({
        "code": res[var.name].astype(str).to_numpy(),
        "option": _labels(var, res[var.name], lang),
        "count": res["count"].to_numpy(),
        "text": [count_text(n, s, lang) for n, s in zip(res["count"], res["suppressed"])],
    })
    data["pos"] = data["count"].astype("Float64").fillna(0).to_numpy(dtype=float)
    order = list(dict.fromkeys(data["option"]))
    y_title = t("charts.respondents_axis", lang)
    columns = {"option": var.label(lang)}
    lines = []
    if len(names) == 1:
        if len(order) > 16:  # too many bars to label each: only what is withheld says so
            data["text"] = [txt if pd.isna(n) else "" for txt, n in zip(data["text"], data["count"])]
        chart = charts.count_trend(data, x_title=var.label(lang), y_title=y_title, order=order,
                                   tooltip=_tooltip(lang, ("option", var.label(lang)), ("text", y_title)))
    else:
        data["group_code"] = res[by.name].astype(str).to_numpy()
        data["group"] = _labels(by, res[by.name], lang)
        columns = {"group": by.label(lang), **columns}
        totals = data.groupby("group_code", sort=False)["count"].sum(min_count=1).astype(float).fillna(-1)
        groups = [g for g in dict.fromkeys(data["group_code"]) if totals[g] > 0]
        if len(groups) > MAX_GROUPS:
            lines.append(t("charts.groups_only", lang, shown=MAX_GROUPS, total=len(groups)))
            groups = [g for g in groups if g in sorted(groups, key=lambda g: -totals[g])[:MAX_GROUPS]]
        chart = charts.grouped_count_trend(
            data[data["group_code"].isin(groups)], x_title=var.label(lang), y_title=y_title, order=order,
            group_title=by.label(lang), group_order=[by.choice_label(g, lang) for g in groups],
            tooltip=_tooltip(lang, ("group", by.label(lang)), ("option", var.label(lang)), ("text", y_title)))
    table = data[list(columns)].rename(columns=columns)
    table[t("charts.col.count", lang)] = data["count"].to_numpy()
    table[t("charts.col.note", lang)] = _notes(data["text"], data["count"].isna())
    shown = data[data["count"].notna()]
    if len(names) > 1 or shown.empty:
        summary = t("figures.summary.withheld", lang) if shown.empty else \
            t("figures.summary.count_groups", lang, by=by.label(lang))
    else:
        peak = shown.loc[shown["count"].astype(float).idxmax()]
        summary = t("figures.summary.counts", lang, start=shown["option"].iloc[0],
                    first=count_text(shown["count"].iloc[0], False, lang), end=shown["option"].iloc[-1],
                    last=count_text(shown["count"].iloc[-1], False, lang), peak=peak["option"],
                    most=count_text(peak["count"], False, lang))
    return Figure(var.name, var.label(lang), chart, table, base, lines, summary=summary)


def _number_figure(var: Variable, by: Variable | None, ctx: View, ask: Ask) -> Figure:
    lang, dataset, filters = ctx.lang, ctx.filters.dataset, ctx.filters.query_filters()
    res = ask("summary", dataset, var.name, [by.name] if by else [], filters=filters, tier=ctx.tier)
    stats = pd.DataFrame({
        "contributors": res["contributors"].to_numpy(),
        t("charts.col.p25", lang): res["p25"].to_numpy(), t("charts.col.median", lang): res["median"].to_numpy(),
        t("charts.col.p75", lang): res["p75"].to_numpy(), t("charts.col.mean", lang): res["mean"].to_numpy(),
        t("charts.col.note", lang): [summary_note(r, var, lang) for _, r in res.iterrows()],
    }).rename(columns={"contributors": t("charts.col.contributors", lang)})
    lines, chart = [], None
    if by is None:
        row = res.iloc[0] if len(res) else None
        lines.append(summary_text(row, var, lang) if row is not None else "–")
        # One table for the file: the summary figures, then the respondents per interval.
        names = [t("charts.col.contributors", lang), t("charts.col.p25", lang), t("charts.col.median", lang),
                 t("charts.col.p75", lang), t("charts.col.mean", lang)]
        values = [row[c] for c in ("contributors", "p25", "median", "p75", "mean")] if row is not None else []
        withheld = summary_note(row, var, lang) if row is not None else ""
        table = pd.DataFrame({t("charts.col.figure", lang): names[:len(values)], t("charts.col.value", lang): values,
                              t("charts.col.note", lang): [withheld if pd.isna(v) else "" for v in values]})
        if row is not None and not row["flag"]:
            # The question's fixed intervals (core.query.public_bins), in every tier.
            dist = ask("distribution", dataset, var.name, None, filters=filters, tier=ctx.tier)
            data = pd.DataFrame({
                "option": [interval(lo, up, var, lang) for lo, up in zip(dist["lower"], dist["upper"])],
                "count": dist["count"].to_numpy(),
                "text": [count_text(n, s, lang) for n, s in zip(dist["count"], dist["suppressed"])],
            })
            data["pos"] = data["count"].astype("Float64").fillna(0).to_numpy(dtype=float)
            axis = var.label(lang)
            chart = charts.histogram(data, x_title=axis, y_title=t("charts.respondents_axis", lang),
                                     order=list(data["option"]),
                                     tooltip=_tooltip(lang, ("option", axis), ("text", t("charts.col.count", lang))))
            intervals = pd.DataFrame({t("charts.col.figure", lang): data["option"],
                                      t("charts.col.value", lang): data["count"],
                                      t("charts.col.note", lang): _notes(data["text"], data["count"].isna())})
            table = pd.concat([table, intervals], ignore_index=True)
    else:
        groups = res[by.name].astype(str)
        data = pd.DataFrame({
            "group_code": groups.to_numpy(), "group": _labels(by, groups, lang),
            "p25": res["p25"].to_numpy(), "median": res["median"].to_numpy(), "p75": res["p75"].to_numpy(),
            "text": [amount(m, var, lang) if not f else t("figures.withheld", lang)
                     for m, f in zip(res["median"], res["flag"])],
        })
        data["pos"] = data["p75"].fillna(0.0)
        order = [c for c in load_codebook(dataset).period_codes(by)] if by.type in ("quarter", "year") \
            else list(dict.fromkeys(data["group_code"]))
        order_labels = [by.choice_label(c, lang) for c in order if c in set(data["group_code"])]
        select = {"group_code": by.name} if by.name in FILTER_VARIABLES else {}
        axis = var.label(lang)
        chart = charts.quartile_ranges(data, x_title=axis, group_order=order_labels, select=list(select) or None,
                                       tooltip=_tooltip(lang, ("group", by.label(lang)), ("text", t("charts.col.median", lang))))
        lines.append(t("charts.quartiles_note", lang))
        table = pd.concat([data[["group"]].rename(columns={"group": by.label(lang)}), stats], axis=1)
        shown = data[~res["flag"].to_numpy(dtype=bool) & data["median"].notna()]
        if shown.empty:
            summary = t("figures.summary.withheld", lang)
        else:
            high, low = shown.loc[shown["median"].idxmax()], shown.loc[shown["median"].idxmin()]
            if high["text"] == low["text"]:  # as written, every group's the same: no highest nor lowest
                summary = t("figures.summary.medians_same", lang, by=by.label(lang), median=high["text"])
            else:
                summary = t("figures.summary.medians", lang, by=by.label(lang), high=high["group"],
                            high_median=high["text"], low=low["group"], low_median=low["text"])
        return Figure(var.name, var.label(lang), chart, table, res.attrs.get("base"), lines, select, summary)
    return Figure(var.name, var.label(lang), chart, table, res.attrs.get("base"), lines, summary=lines[0])


def pyramid_figure(ctx: View, ask: Ask) -> Figure:
    """Respondents by age band and gender, the first two genders of the codebook facing each other."""
    lang, dataset = ctx.lang, ctx.filters.dataset
    codebook = load_codebook(dataset)
    age, gender = codebook["age_band"], codebook["gender"]
    res = ask("crosstab", dataset, ["age_band", "gender"], filters=ctx.filters.query_filters(), tier=ctx.tier)
    left, right = gender.codes[:2]
    data = pd.DataFrame({
        "age_code": res["age_band"].astype(str).to_numpy(), "band": _labels(age, res["age_band"], lang),
        "gender_code": res["gender"].astype(str).to_numpy(), "gender": _labels(gender, res["gender"], lang),
        "count": res["count"].to_numpy(),
        "text": [count_text(n, s, lang) for n, s in zip(res["count"], res["suppressed"])],
    })
    sign = data["gender_code"].map({left: -1.0, right: 1.0})
    data["signed"] = data["count"].astype("Float64").to_numpy(dtype=float, na_value=float("nan")) * sign
    data["pos"] = data["signed"].fillna(0.0)
    shown = data[data["gender_code"].isin([left, right])]
    title = t("charts.pyramid", lang)
    chart = charts.pyramid(shown, x_title=t("charts.respondents_axis", lang),
                           age_order=[age.choice_label(c, lang) for c in age.codes if c in set(shown["age_code"])],
                           gender_order=[gender.choice_label(c, lang) for c in (left, right)],
                           select=["age_code", "gender_code"],
                           tooltip=_tooltip(lang, ("band", age.label(lang)), ("gender", gender.label(lang)),
                                            ("text", t("charts.col.count", lang))))
    table = data[["band", "gender", "count"]].rename(columns={
        "band": age.label(lang), "gender": gender.label(lang), "count": t("charts.col.count", lang)})
    table[t("charts.col.note", lang)] = _notes(data["text"], data["count"].isna())
    others = [gender.choice_label(c, lang) for c in dict.fromkeys(data["gender_code"]) if c not in (left, right)]
    lines = [t("charts.pyramid_note", lang, others=", ".join(others))] if others else []
    counted = shown[shown["count"].notna()]
    if counted.empty:
        summary = t("figures.summary.withheld", lang)
    else:
        peak = counted.loc[counted["count"].astype(float).idxmax()]
        summary = t("figures.summary.pyramid", lang, gender=peak["gender"], band=peak["band"], count=peak["text"])
    return Figure(PYRAMID, title, chart, table, res.attrs.get("base"), lines,
                  {"age_code": "age_band", "gender_code": "gender"}, summary)


def build(var: Variable | None, by: Variable | None, ctx: View, ask: Ask | None = None) -> Figure:
    """The figure of one question (None: the age-gender pyramid), broken down by `by` (or not).
    `ask(fn, dataset, *args, filters=, tier=)` runs core.query.`fn` (the portal passes its cache; by
    default the query is run directly). Raises TableRefused."""
    ask = ask or ask_directly
    if var is None:
        return pyramid_figure(ctx, ask)
    if by is not None and by.name == var.name:
        by = None
    if var.type in ("quarter", "year"):
        return _count_figure(var, by, ctx, ask)
    if var.type == "number":
        return _number_figure(var, by, ctx, ask)
    return _share_figure(var, by, ctx, ask)


# --- what is said beside it -----------------------------------------------------------------

def caption(figure: Figure, var: Variable | None, view: View) -> list[str]:
    """The lines under a chart: base, who was asked, filters in force."""
    lang = view.lang
    lines = []
    if figure.base is not None:
        lines.append(t("charts.base", lang, base=tn("figures.respondents", int(figure.base), lang)))
    if var is not None and var.asked:
        lines.append(t("charts.asked", lang, who=var.asked[lang]))
    lines.append(t("charts.filters", lang, filters=filters_text(view.filters, lang)))
    return lines


def source_line(view: View, synthetic: bool) -> str:
    lang = view.lang
    line = t("charts.source", lang, dataset=load_codebook(view.filters.dataset).title(lang),
             portal=t("app.title", lang))
    return f"{line} {t('charts.synthetic', lang)}" if synthetic else line


def how_to_read_kind(figure: Figure, var: Variable | None) -> str:
    """Which "How to read this" note a figure gets."""
    if var is None or var.type in ("quarter", "year"):
        return "counts"
    return "number" if var.type == "number" else "shares"
