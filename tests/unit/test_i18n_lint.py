"""The hard-coded string checker (tests/i18n_lint.py) finds shown literals and nothing else."""

import textwrap

import pytest

from tests.i18n_lint import find_hardcoded_strings, hardcoded_in_source


def texts(code: str) -> list[str]:
    return [text for _, _, text in hardcoded_in_source(textwrap.dedent(code))]


@pytest.mark.parametrize(("code", "expected"), [
    ('st.title("Overview")', "Overview"),
    ('st.sidebar.button("Reset filters")', "Reset filters"),
    ('col.metric("Respondents", 120)', "Respondents"),
    ('with st.expander("Caveats"):\n    pass', "Caveats"),
    ('st.markdown(f"**Total**: {n}")', "**Total**: {…}"),
    ('st.selectbox(label="Dataset", options=codes)', "Dataset"),
    ('st.slider(t("filters.period", lang), help="Quarters")', "Quarters"),
    ('st.text_input(t("auth.username", lang), placeholder="name")', "name"),
    ('st.tabs([t("nav.map", lang), "Table"])', "Table"),
    ('st.Page(overview.render, title="Overview", icon=":material/home:")', "Overview"),
    ('st.set_page_config(page_title="Data portal")', "Data portal"),
    ('st.error("Failed: " + str(e))', "Failed: {…}"),
    ('st.info("{} rows".format(n))', "{} rows"),
    ('st.warning("%d rows" % n)', "%d rows"),
    ('st.button("Yes" if sure else t("common.no", lang))', "Yes"),
    ('st.write(df, "rows")', "rows"),
    ('container.caption(body="Source: 4Mi")', "Source: 4Mi"),
    ('st.column_config.NumberColumn("Count", format="%d")', "Count"),
    ('st.caption(":material/info: Synthetic data")', ":material/info: Synthetic data"),
])
def test_finds_a_literal_shown_by_streamlit(code, expected):
    assert texts(code) == [expected]


@pytest.mark.parametrize("code", [
    'st.title(t("nav.overview", lang))',
    'st.sidebar.button(t("filters.reset", lang))',
    'col.metric(t("figures.respondents", lang), "<10")',
    'st.markdown("---")',
    'st.write("")',
    'st.markdown(f"**{t(\'nav.map\', lang)}**")',
    'st.button(":material/refresh:")',
    'st.caption("🌍 ✓")',
    'st.caption("<10")',
    'st.metric(label, "12 %")',
    'st.Page(overview.render, title=t("nav.overview", lang), icon=":material/home:", url_path="overview")',
    'st.Page("pages/overview.py", title=t("nav.overview", lang))',
    'st.selectbox(t("language.label", lang), options=["en", "fr", "es"], format_func=language_name)',
    'st.write(df)',
    'st.dataframe(df, hide_index=True)',
    'lang = st.query_params.get("lang")',
    'logger.info("Loaded the data")',
    'self._log.warning("slow query")',
    'logging.error("no secret")',
    'st.image(chart, width=400)',
    'x = "a literal that is not shown"',
    'st.title("4Mi")  # i18n: ok',
])
def test_ignores_what_is_not_hardcoded_text(code):
    assert texts(code) == []


def test_reports_file_and_line(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "overview.py").write_text(
        "import streamlit as st\n\n\ndef render(lang):\n    st.title(t('nav.overview', lang))\n"
        "    st.caption('Source: synthetic data')\n", encoding="utf-8")
    (pages / "clean.py").write_text("import streamlit as st\nst.title(t('nav.map', 'en'))\n", encoding="utf-8")
    (pages / "__pycache__").mkdir()
    (pages / "__pycache__" / "stale.py").write_text("st.title('Old')\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("st.header(f'Welcome {name}')\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("st.title('not Python')\n", encoding="utf-8")

    found = find_hardcoded_strings([pages, tmp_path / "app.py", tmp_path / "notes.txt"])

    assert found == [
        (str(pages / "overview.py"), 6, "Source: synthetic data"),
        (str(tmp_path / "app.py"), 1, "Welcome {…}"),
    ]
    assert find_hardcoded_strings(pages / "clean.py") == []
    assert find_hardcoded_strings([]) == []
