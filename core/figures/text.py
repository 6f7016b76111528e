"""Figures as text: a protected count, a share or a number summary as a chart labels it (or why it is
withheld, design.md rules 2, 5, 6 and 7), and the filters in force in words."""

from __future__ import annotations

import re

import pandas as pd

from core import disclosure
from core.data.codebook import Variable, quarter_label
from core.data.engine import load_codebook
from core.i18n import fmt_decimal, fmt_int, fmt_pct, t, with_unit
from core.query.filters import FilterState


def count_text(count, suppressed: bool, lang: str) -> str:
    """A protected count as a table shows it: the number, or "<10" when it is withheld."""
    if suppressed or pd.isna(count):
        return t("figures.below_min", lang, minimum=disclosure.settings().min_count)
    return fmt_int(int(count), lang)


def share_text(share, flag: str, lang: str) -> str:
    """A share as a chart labels it, or why it is not shown (design.md rules 2, 5 and 6)."""
    rules = disclosure.settings()
    if flag == "suppressed":
        return t("figures.below_min", lang, minimum=rules.min_count)
    if flag == "base_too_small":
        return t("charts.base_small", lang, minimum=rules.min_percentage_base)
    if flag == "under_band":
        return t("figures.under_band", lang, share=fmt_pct(rules.sensitive_extreme_band / 100, lang))
    if flag == "over_band":
        return t("figures.over_band", lang, share=fmt_pct(1 - rules.sensitive_extreme_band / 100, lang))
    if share is None or pd.isna(share):
        return "–"
    if 0 < share < 0.005:  # not a zero: someone chose it
        return f"<{fmt_pct(0.01, lang)}"
    return fmt_pct(share, lang)


def amount(x, var: Variable, lang: str) -> str:
    if x is None or pd.isna(x):  # a public quartile in the open top interval, or in a hidden one
        return t("figures.withheld", lang)
    value = fmt_int(x, lang) if abs(x) >= 100 else fmt_decimal(x, lang, digits=1 if x % 1 else 0)
    return with_unit(value, x, var.unit, lang)


def interval(lower: float, upper: float, var: Variable, lang: str) -> str:
    if pd.isna(upper):
        return t("charts.or_more", lang, value=fmt_int(lower, lang))
    return f"{fmt_int(lower, lang)}–{fmt_int(upper, lang)}"


_SUMMARY_FLAGS = {"too_few_contributors": "figures.too_few_contributors", "dominated": "figures.dominated"}


def summary_text(row, var: Variable, lang: str) -> str:
    if row["flag"]:
        return t(_SUMMARY_FLAGS[row["flag"]], lang, minimum=disclosure.settings().min_contributors)
    return t("charts.summary", lang, median=amount(row["median"], var, lang), p25=amount(row["p25"], var, lang),
             p75=amount(row["p75"], var, lang), mean=amount(row["mean"], var, lang))


def summary_note(row, var: Variable, lang: str) -> str:
    """Why a summary's figures are withheld, for a download's "withheld because" column: the rule-7 reason,
    or "withheld" where one of its quartiles is (an open or hidden interval); empty when all are shown."""
    if row["flag"]:
        return t(_SUMMARY_FLAGS[row["flag"]], lang, minimum=disclosure.settings().min_contributors)
    if any(pd.isna(row[c]) for c in ("p25", "median", "p75", "mean")):
        return t("figures.withheld", lang)
    return ""


def filters_text(filters: FilterState, lang: str) -> str:
    """The filters in force, in words: "Q1 2023 – Q4 2024 · Gender: Woman · Region of interview: …",
    or that there are none. Charts and their downloads carry it."""
    codebook = load_codebook(filters.dataset)
    parts = []
    if filters.start is not None or filters.end is not None:
        quarters = filters.quarters()
        parts.append(t("charts.filter_period", lang, start=quarter_label(quarters[0], lang),
                       end=quarter_label(quarters[-1], lang)))
    for name, codes in filters.selections.items():
        var = codebook[name]
        parts.append(t("charts.filter_item", lang, variable=var.label(lang),
                       values=", ".join(var.choice_label(c, lang) for c in codes)))
    return " · ".join(parts) if parts else t("charts.no_filter", lang)


def plain_markdown(text: str) -> str:
    """`text` as Markdown that shows it as it is: every ASCII punctuation mark escaped, so that a visitor's
    or a form's text cannot make a link, an image, a table cell or a Streamlit directive."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))


def markdown_table(frame: pd.DataFrame, right: int = 1) -> str:
    """`frame` as a Markdown table (a plain HTML table once drawn, with its header row), every cell
    escaped (plain_markdown) and on one line (a line break would end the table; no-break spaces, as in
    French numbers, are kept); the columns from the `right`-th on (numbers) aligned right."""
    def row(cells) -> str:
        return "| " + " | ".join(plain_markdown(re.sub(r"[\r\n]+", " ", str(c))) for c in cells) + " |"

    rule = "|" + "|".join(":--" if i < right else "--:" for i in range(frame.shape[1])) + "|"
    return "\n".join([row(frame.columns), rule, *(row(cells) for cells in frame.itertuples(index=False))])
