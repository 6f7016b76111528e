"""Every kind of figure of every dataset in every language, at core level (core/figures/question.py), under
strict i18n (a missing message or parameter raises): what tests/app/test_theme_pages.py's walk of every
theme page in every language found for the figures, without a page. That walk now draws a few datasets
in French or Spanish (`LANGUAGE_WALKS` there); this checks every dataset in every language, as an administrator
sees it (every question), with no breakdown and broken down by gender, as the walk does: one question of
each type (the messages of a figure depend on its type and breakdown, its labels on the
codebook, whose every label is checked in three languages by test_codebooks.py), and the pyramid."""

from __future__ import annotations

import pytest

from core.data.codebook import CHARTED, questions
from core.data.engine import load_codebook
from core.figures import question
from core.figures.text import filters_text
from core.i18n import STRICT_ENV, t
from core.query.filters import FilterState
from core.settings import DATASETS

LANGUAGES = ("en", "fr", "es")


def _one_of_each_type(dataset: str) -> list:
    """The first charted question of each type (in every theme's order), and None (the pyramid) where a
    theme has one."""
    book = load_codebook(dataset)
    picked, types = [], set()
    if any(question.has_pyramid(book, theme.id, "researcher") for theme in book.themes):
        picked.append(None)
    for theme in book.themes:
        for var in questions(book, theme.id, "researcher"):
            if var.type in CHARTED and var.type not in types:
                types.add(var.type)
                picked.append(var)
    return picked


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_kind_of_figure_of_every_dataset_says_everything_in_every_language(dataset, lang, monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    book = load_codebook(dataset)
    view = question.View(lang, "researcher", FilterState(dataset=dataset))
    english_filters = t("charts.filters", "en", filters="").strip()
    picked = _one_of_each_type(dataset)
    assert {v.type for v in picked if v} == {v.type for v in book.variables.values() if v.type in CHARTED}
    for var in picked:
        for by in (None, book["gender"]):
            figure = question.build(var, by, view)
            assert figure.question == (var.label(lang) if var else t("charts.pyramid", lang)), (var, by)
            assert figure.summary and figure.chart is not None, (var and var.name, by and by.name)
            lines = [*figure.lines, *question.caption(figure, var, view), question.source_line(view, True)]
            assert t("charts.filters", lang, filters=filters_text(view.filters, lang)) in lines
            if lang != "en":
                assert english_filters not in "\n".join(lines), (var and var.name, by and by.name)
                assert book.title(lang) in question.source_line(view, True)
