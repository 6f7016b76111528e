"""Every page in every language shows translated text only: no hard-coded string, no missing message."""

from __future__ import annotations

import ast

import pytest

from core.i18n import catalogues, t
from tests.app.conftest import ROOT, as_role, go, open_app, texts
from tests.i18n_lint import find_hardcoded_strings

UI = [ROOT / "app.py", ROOT / "pages", ROOT / "components"]


def test_no_page_shows_a_hard_coded_string():
    assert find_hardcoded_strings(UI) == []


def _literal_keys() -> set[str]:
    keys = set()
    for path in [UI[0], *UI[1].rglob("*.py"), *UI[2].rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("t", "tn")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                keys.add(node.args[0].value)
    return keys


def test_every_message_key_used_by_the_ui_exists():
    keys = _literal_keys()
    assert len(keys) > 50
    assert sorted(keys - set(catalogues()["en"].messages)) == []


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
@pytest.mark.parametrize("page", ["overview", "about", "microdata", "admin"])
def test_every_page_in_every_language(page, lang):
    """Strict i18n (tests/app/conftest.py): a missing message or parameter fails the run."""
    at = as_role("admin", {"lang": lang})
    go(at, page)
    assert not at.exception, at.exception
    shown = texts(at)
    assert shown
    if lang != "en":
        # Nothing English left where a translation exists (titles, captions, the sidebar's labels).
        assert t("filters.title", "en") not in [s.value for s in at.sidebar.subheader]
        assert t("caveats.title", "en") not in shown


@pytest.mark.parametrize("lang", ["fr", "es"])
def test_numbers_are_formatted_for_the_language(lang):
    at = open_app({"lang": lang})
    value = at.metric[0].value
    assert value.replace("\u202f", "").replace(".", "").isdigit()
    assert "," not in value
