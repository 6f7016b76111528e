"""The page registry (core/pages.py), which the router, access, stories, the tour and the tests read:
each entry has its module, its texts in every language, a known section and role; each module in
pages/ is listed (or is the theme pages' one); and nothing else keeps a list of pages of its own."""

from __future__ import annotations

import ast
import importlib

from core import pages
from core.auth import access
from core.explainer import stories
from core.i18n import t
from core.settings import LANGUAGES, ROOT

PAGES_DIR = ROOT / "pages"


def test_every_page_has_a_module_with_render_and_texts_in_every_language():
    assert len({p.id for p in pages.PAGES}) == len(pages.PAGES)
    for page in pages.PAGES:
        module = importlib.import_module(f"pages.{page.module}")
        assert callable(module.render), page.id
        assert page.section in pages.SECTIONS, page.id
        assert page.role is None or page.role in access.ROLES, page.id
        for lang in LANGUAGES:
            for key in (page.title, page.heading, f"nav.section.{page.section}"):
                assert t(key, lang) != key, (page.id, key, lang)
    assert pages.PAGES[0].default and not any(p.default for p in pages.PAGES[1:])


def test_every_module_in_pages_is_listed_and_hands_over_when_run_directly():
    """A module in pages/ that is not in the registry would never be routed to; one without the
    `__main__` line would leave a blank page on a freshly started server (components.shell)."""
    modules = {path.stem for path in PAGES_DIR.glob("*.py") if path.stem != "__init__"}
    assert modules == {p.module for p in pages.PAGES} | {"themes"}
    for name in modules:
        tree = ast.parse((PAGES_DIR / f"{name}.py").read_text(encoding="utf-8"))
        main = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
        assert main and "hand_to_router(__file__)" in ast.unparse(main[0]), name


def test_access_and_stories_read_the_registry():
    assert access.PAGE_ROLES == {"microdata": "researcher", "admin": "admin"}
    assert access.can_open("overview", None) and not access.can_open("microdata", None)
    assert access.can_open("admin", "admin") and not access.can_open("admin", "researcher")
    # a story step may open what a researcher may open, with that page's link parameters
    assert stories.PAGE_PARAMS == {p.id: p.params for p in pages.PAGES if p.role != "admin"}
    assert pages.link_params("map") == pages.page("map").params
    assert pages.link_params("drivers") == pages.THEME_PARAMS


def test_the_roles_are_defined_once():
    from core.auth import users
    from scripts import users as users_cli

    assert users.ROLES is access.ROLES and users_cli.ROLES is access.ROLES
