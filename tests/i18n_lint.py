"""Finds text that a page would show without translating it: string literals handed to Streamlit.

    from tests.i18n_lint import find_hardcoded_strings
    assert find_hardcoded_strings(["app.py", "pages", "components"]) == []

A call counts when its method name is one of Streamlit's display calls (DISPLAY_CALLS), on any object:
`st.title`, `st.sidebar.button`, `col.metric`, `tab.write`, because columns, tabs, containers and
component parameters all draw. Its first positional argument (every one for `write`), and its label=,
help=, placeholder=, title=, page_title= and body= keywords, must not be literal text: pass `t(...)`.

Not text: empty strings and strings without a letter once icon shortcodes (":material/map:", ":bar_chart:")
are taken out, e.g. "---", "<10", "%", "🌍". An f-string, a "..." + x, a "...".format() or a "..." % x
counts by its literal part. Calls on loggers are not display calls. A method that shares a display
call's name is checked too: `codebook.title("en")` is reported, and rightly, since it fixes the language. A line that must keep its literal
(a proper name, say) ends with the comment `# i18n: ok`.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

DISPLAY_CALLS = frozenset({
    # text and messages
    "title", "header", "subheader", "markdown", "write", "caption", "text", "error", "warning", "info",
    "success", "toast", "exception", "metric",
    # widgets, whose first argument is their label
    "button", "download_button", "link_button", "page_link", "form_submit_button", "selectbox",
    "multiselect", "radio", "checkbox", "toggle", "text_input", "text_area", "number_input", "slider",
    "select_slider", "date_input", "time_input", "file_uploader", "color_picker", "pills",
    "segmented_control", "chat_input",
    # containers with a label
    "expander", "tabs", "popover", "status", "spinner", "dialog",
    # the page of st.navigation and the browser tab's title
    "Page", "set_page_config",
    # st.column_config: a dataframe column's header and help
    "Column", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn", "MultiselectColumn",
    "DatetimeColumn", "DateColumn", "TimeColumn", "ListColumn", "LinkColumn", "ImageColumn",
    "AreaChartColumn", "LineChartColumn", "BarChartColumn", "ProgressColumn", "JSONColumn",
})
TEXT_KEYWORDS = frozenset({"label", "help", "placeholder", "title", "page_title", "body"})
# st.Page's first positional argument is the page (a callable or a path), not text.
NO_TEXT_POSITIONAL = frozenset({"Page"})
# write() draws each of its arguments.
ALL_POSITIONAL = frozenset({"write"})
# logger.info("...") and friends share names with display calls but draw nothing.
_LOGGER = re.compile(r"(^|_)(log|logger|logging)$", re.IGNORECASE)
_SHORTCODE = re.compile(r":[a-z0-9_+-]+(/[a-z0-9_]+)?:")
ALLOW_COMMENT = "# i18n: ok"

Finding = tuple[str, int, str]


def _has_text(s: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in _SHORTCODE.sub("", s))


def _literal_text(node: ast.AST) -> str | None:
    """The literal text an expression contributes, with "{…}" for its computed parts; None when the
    expression has no literal part (a name, a call such as t(...), a number)."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values]
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_text(node.left), _literal_text(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else "{…}") + (right if right is not None else "{…}")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _literal_text(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal_text(node.func.value)
    if isinstance(node, ast.IfExp):
        for branch in (node.body, node.orelse):
            text = _literal_text(branch)
            if text is not None and _has_text(text):
                return text
        return None
    if isinstance(node, ast.List | ast.Tuple):
        # st.tabs(["Map", "Table"]): one label per element.
        for element in node.elts:
            text = _literal_text(element)
            if text is not None and _has_text(text):
                return text
        return None
    return None


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        receiver, names = func.value, []
        while isinstance(receiver, ast.Attribute | ast.Call | ast.Subscript):
            if isinstance(receiver, ast.Attribute):
                names.append(receiver.attr)
            receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
        if isinstance(receiver, ast.Name):
            names.append(receiver.id)
        if any(_LOGGER.search(name) for name in names):
            return None
        return func.attr
    if isinstance(func, ast.Name):
        return func.id  # `from streamlit import title`
    return None


def _text_arguments(call: ast.Call, name: str) -> Iterable[ast.AST]:
    if name not in NO_TEXT_POSITIONAL:
        yield from (call.args if name in ALL_POSITIONAL else call.args[:1])
    for keyword in call.keywords:
        if keyword.arg in TEXT_KEYWORDS:
            yield keyword.value


def hardcoded_in_source(source: str, filename: str = "<string>") -> list[Finding]:
    """The hard-coded display strings in one module's source."""
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name not in DISPLAY_CALLS:
            continue
        for argument in _text_arguments(node, name):
            text = _literal_text(argument)
            if text is None or not _has_text(text):
                continue
            if any(lines[i - 1].rstrip().endswith(ALLOW_COMMENT)
                   for i in {argument.lineno, argument.end_lineno or argument.lineno}):
                continue
            found.append((filename, argument.lineno, text))
    return sorted(found)


def _python_files(paths: Iterable[str | Path]) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts))
        elif path.suffix == ".py" and path.exists():
            files.append(path)
    return files


def find_hardcoded_strings(paths: Iterable[str | Path] | str | Path) -> list[Finding]:
    """(file, line, text) of every string literal shown through a Streamlit display call in the given
    Python files and directories (searched recursively); [] when every shown text is translated."""
    if isinstance(paths, str | Path):
        paths = [paths]
    found = []
    for file in _python_files(paths):
        found.extend(hardcoded_in_source(file.read_text(encoding="utf-8"), str(file)))
    return found


if __name__ == "__main__":
    import sys

    for file, line, text in find_hardcoded_strings(sys.argv[1:] or ["app.py", "pages", "components"]):
        print(f"{file}:{line}: {text!r}")
