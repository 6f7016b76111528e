"""The theme pages, through the real router: one per theme of the chosen dataset's codebook, in every
role and language; what their charts send to a public browser; a question added to a codebook; the
breakdown; a click on a bar; refusals."""

from __future__ import annotations

import io
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from components import question
from components.figures import table_key
from core import disclosure, settings
from core.data import codebook as codebook_module
from core.data import engine, store
from core.data.codebook import CHARTED, questions
from core.data.engine import load_codebook
from core.figures.question import View
from core.i18n import t
from core.query import shares
from core.settings import DATASETS
from tests.app.conftest import ROOT, as_role, go, link, open_app, open_downloads, open_tables, pages, texts

# What a per-respondent table would have; no chart data of the public tier may hold these.
ROW_LEVEL = {"respondent_id", "interview_date", "age", "_rkey", "interview_town"}


def charts(at: AppTest) -> list:
    return list(at.get("arrow_vega_lite_chart")) + list(at.get("vega_lite_chart"))


def chart_rows(chart) -> list[dict]:
    """Every data row a chart element sends to the browser: inline values and named datasets of its
    spec, and Arrow datasets beside it."""
    spec = json.loads(chart.proto.spec)
    rows = [row for values in (spec.get("datasets") or {}).values() for row in values]

    def walk(node):
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("values"), list):
                rows.extend(data["values"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    for d in chart.proto.datasets:
        rows += pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pylist()
    return rows


def chart_by_key(at: AppTest, key: str):
    """A clickable chart, by its key (only widgets have an id that holds it)."""
    return next(c for c in charts(at) if c.proto.id.endswith(key))


def _in_order(node):
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _in_order(child)


def chart_of(at: AppTest, heading: str):
    """The chart under the subheader `heading` (a question's label)."""
    after = False
    for el in _in_order(at.main):
        if el.type == "subheader":
            after = el.value == heading
        elif after and el.type in ("vega_lite_chart", "arrow_vega_lite_chart"):
            return el
    raise LookupError(heading)


def click(at: AppTest, key: str, picked: list[dict]) -> AppTest:
    """What the browser sends when a bar is clicked: the chart's selection state, then a rerun."""
    states = at._tree.get_widget_states()
    state = WidgetStates()
    state.CopyFrom(states)
    widget = state.widgets.add()
    widget.id = chart_by_key(at, key).proto.id
    widget.string_value = json.dumps({"selection": {"pick": picked}})  # as the frontend sends it
    return at._run(state)


# --- every theme page of every dataset, in every role ----------------------------------------------

# The public and a researcher; an administrator's theme pages are a researcher's, and
# test_every_theme_page_in_every_language walks them as an administrator in French and Spanish.
@pytest.mark.parametrize("role", [None, "researcher"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_theme_page_of_every_dataset_in_every_role(dataset, role):
    at = as_role(role, {"ds": dataset})
    book = load_codebook(dataset)
    themes = [th.id for th in book.themes]
    # The navigation has the chosen dataset's themes, and only those.
    assert [p for p in pages(at) if p in {th.id for d in DATASETS for th in load_codebook(d).themes}] == themes
    tier = role or "public"
    for theme in book.themes:
        go(at, theme.id)
        assert not at.exception, (theme.id, at.exception)
        assert at.title[0].value == theme.label("en")
        headings = [s.value for s in at.subheader]
        for var in book.by_theme(theme.id):
            if var.type in CHARTED:
                # Non-public questions are for signed-in users only.
                assert (var.label("en") in headings) == (var.public or tier != "public"), (theme.id, var.name)
        assert charts(at), theme.id
        assert t("caveats.title", "en") in headings
        assert "synthetic" in texts(at)
        if tier == "public":
            assert_public_charts(at, theme.id)


def test_profiles_has_the_age_gender_pyramid_and_the_trend():
    at = open_app()
    go(at, "profiles")
    headings = [s.value for s in at.subheader]
    assert headings[0] == t("charts.pyramid", "en")
    assert "Quarter of interview" in headings
    pyramid = chart_rows(chart_by_key(at, "q_core_profiles_pyramid"))
    assert {r["gender_code"] for r in pyramid} == {"man", "woman"}


def test_numbers_show_median_and_quartiles_and_a_distribution():
    at = open_app()
    go(at, "journey")
    assert "Median" in texts(at) and "half of the answers between" in texts(at)
    intervals = chart_rows(chart_of(at, "Time since leaving (days)"))
    assert len(intervals) >= 5 and intervals[-1]["option"].endswith("or more")


# --- what the public tier is sent ----------------------------------------------------------------------

def assert_public_charts(at: AppTest, page: str) -> None:
    """Design rules 2 and 9 at the level of what Streamlit sends: a few rows per chart, aggregates with
    no count under the threshold, withheld values sent as nothing and labelled "<10"."""
    minimum = disclosure.settings().min_count
    for chart in charts(at):
        rows = chart_rows(chart)
        assert 0 < len(rows) <= 800, (page, len(rows))
        for row in rows:
            assert not ROW_LEVEL & set(row), row
            for name in ("count", "base", "contributors"):
                value = row.get(name)
                assert value is None or value >= minimum, (page, row)
            if row.get("count", 0) is None and "text" in row:
                assert row["text"] in (f"<{minimum}", "")
            if "signed" in row and row["signed"] is not None:
                assert abs(row["signed"]) >= minimum
            if row.get("share") is not None:
                assert 0 <= row["share"] <= 1


# Without a breakdown: test_every_theme_page_of_every_dataset_in_every_role, in the public tier.
@pytest.mark.parametrize("by", ["nationality", "interview_quarter"])
def test_public_chart_specs_hold_only_protected_aggregates(by):
    at = open_app({"by": by})
    for theme in load_codebook("core").themes:
        go(at, theme.id)
        assert not at.exception
        assert_public_charts(at, theme.id)


def test_public_shares_are_the_protected_ones_and_not_the_exact_ones():
    at = open_app()
    go(at, "drivers")
    sent = {r["code"]: r for r in chart_rows(chart_of(at, "Reasons for leaving (several answers possible)"))}
    public = shares("core", "drivers").set_index("drivers")
    exact = shares("core", "drivers", tier="researcher").set_index("drivers")
    for code, row in sent.items():
        assert row["count"] == public.loc[code, "count"]
    assert any(row["count"] != exact.loc[code, "count"] for code, row in sent.items())


def test_researchers_see_exact_figures_and_non_public_questions():
    at = as_role("researcher")
    go(at, "profiles")
    headings = [s.value for s in at.subheader]
    assert "Town or city of interview" in headings and "Age" in headings
    sent = {r["code"]: r["count"] for r in chart_rows(chart_by_key(at, "q_core_profiles_gender"))}
    exact = shares("core", "gender", tier="researcher").set_index("gender")["count"]
    assert sent == {code: exact[code] for code in sent}


# --- a question added to the codebook ---------------------------------------------------------------------

PHONE = {
    "name": "has_phone", "type": "single", "theme": "needs", "sensitive": False, "public": True,
    "label": {"en": "Do you have a working phone?", "fr": "Avez-vous un téléphone qui fonctionne ?",
              "es": "¿Tiene un teléfono que funcione?"},
    "choices": [{"code": "yes", "label": {"en": "Yes", "fr": "Oui", "es": "Sí"}},
                {"code": "no", "label": {"en": "No", "fr": "Non", "es": "No"}}],
}


@pytest.fixture
def codebook_with_a_new_question(tmp_path, monkeypatch):
    """The core codebook with one more question, and data that answer it, in directories of the test's
    own: the portal reads codebooks from settings.CODEBOOK_DIR and data from the engine's directory."""
    books, data = tmp_path / "codebooks", tmp_path / "data"
    shutil.copytree(settings.CODEBOOK_DIR, books)
    raw = yaml.safe_load((books / "core.yaml").read_text(encoding="utf-8"))
    raw["variables"].append(PHONE)
    (books / "core.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    data.mkdir()
    table = pq.read_table(engine.dataset_path(settings.GENERATED_DIR, "core"))
    answers = pa.array(["yes" if i % 3 else "no" for i in range(table.num_rows)])
    pq.write_table(table.append_column("has_phone", answers), engine.dataset_path(data, "core"))
    for name in ("covid", "returns"):
        shutil.copy(engine.dataset_path(settings.GENERATED_DIR, name), engine.dataset_path(data, name))
    monkeypatch.setattr(settings, "CODEBOOK_DIR", books)
    monkeypatch.setattr(store, "ensure_built", lambda *a, **k: [])  # the real data must not be rebuilt
    codebook_module.read_codebook.cache_clear()
    engine.set_engine(engine.Engine(data))
    yield
    codebook_module.read_codebook.cache_clear()
    engine.set_engine(None)


def test_a_question_added_to_the_codebook_shows_on_its_page(codebook_with_a_new_question):
    at = open_app()
    assert not at.exception
    go(at, "needs")
    assert not at.exception, at.exception
    assert PHONE["label"]["en"] in [s.value for s in at.subheader]
    sent = {r["code"]: r for r in chart_rows(chart_of(at, PHONE["label"]["en"]))}
    assert set(sent) == {"yes", "no"} and sent["yes"]["share"] > sent["no"]["share"]
    # ... and it is a breakdown of every chart, as every public single-choice question is.
    assert PHONE["label"]["en"] in at.selectbox(key="theme_by").options


# --- the breakdown ---------------------------------------------------------------------------------------------

def test_a_breakdown_draws_groups_and_goes_in_the_link():
    at = open_app()
    go(at, "drivers")
    at.selectbox(key="theme_by").set_value("gender").run()
    assert not at.exception
    assert link(at)["by"] == ["gender"]
    rows = chart_rows(chart_of(at, "Main reason for leaving"))
    assert {r["group_code"] for r in rows} == {"man", "woman"}  # gender "other" is withheld from the public (rule 8)
    # Small multiples for many groups, a trend by quarter.
    at.selectbox(key="theme_by").set_value("region_of_interview").run()
    spec = json.loads(chart_of(at, "Main reason for leaving").proto.spec)
    assert "facet" in spec
    at.selectbox(key="theme_by").set_value("interview_quarter").run()
    spec = json.loads(chart_of(at, "Main reason for leaving").proto.spec)
    assert spec["mark"]["type"] == "line"


def open_page(page: str, query: dict) -> AppTest:
    """A link to a page opened in a new browser session: /<page>?<query>."""
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at._page_hash = calc_hash(page)  # what the router's st.Page(url_path=page) is known by
    return at.run()


def test_the_breakdown_comes_from_the_link_and_a_bad_one_is_dropped():
    at = open_page("smuggling", {"by": "age_band", "gender": "woman"})
    assert at.title[0].value == "Smuggling"
    assert at.selectbox(key="theme_by").value == "age_band"
    assert link(at)["by"] == ["age_band"] and link(at)["gender"] == ["woman"]
    at = open_page("smuggling", {"by": "respondent_id"})
    assert at.selectbox(key="theme_by").value == ""
    assert t("filters.dropped", "en", param="by", value="respondent_id") in [w.value for w in at.warning]


# --- click to filter ---------------------------------------------------------------------------------------------

def test_a_click_on_a_bar_sets_the_filter_and_the_link():
    at = open_app()
    go(at, "profiles")
    click(at, "q_core_profiles_gender", [{"code": "woman"}])
    assert not at.exception
    assert at.sidebar.button_group(key="f1_gender").value == "woman"
    assert link(at)["gender"] == ["woman"]
    assert "Gender: Woman" in texts(at)
    # A click on a group of a breakdown by a filter variable sets that filter.
    at.selectbox(key="theme_by").set_value("region_of_interview").run()
    click(at, "q_core_profiles_education", [{"group_code": "north_africa"}])
    assert at.sidebar.selectbox(key="f1_region").value == "north_africa"
    assert link(at)["region"] == ["north_africa"]


def test_a_click_on_the_pyramid_sets_age_and_gender():
    at = open_app()
    go(at, "profiles")
    click(at, "q_core_profiles_pyramid", [{"age_code": "25_34", "gender_code": "man"}])
    assert at.sidebar.button_group(key="f1_age").value == "25_34"
    assert at.sidebar.button_group(key="f1_gender").value == "man"


def test_charts_of_other_questions_are_not_clickable():
    at = open_app()
    go(at, "drivers")
    assert not chart_of(at, "Reasons for leaving (several answers possible)").proto.selection_mode
    at = open_app()
    go(at, "profiles")
    assert list(chart_by_key(at, "q_core_profiles_gender").proto.selection_mode) == ["pick"]


# --- refusals -----------------------------------------------------------------------------------------------------

def test_refused_charts_say_why():
    at = open_app({"country": "CHE", "gender": "woman", "age": "55_plus", "from": "2024Q1", "to": "2024Q1"})
    go(at, "smuggling")
    assert not at.exception
    assert not charts(at)
    reason = t("disclosure.population_too_small", "en", minimum=disclosure.settings().min_population)
    refusals = [i.value for i in at.info]
    assert len(refusals) == len(questions(load_codebook("core"), "smuggling", "public"))
    assert all(t("disclosure.refused_title", "en") in r and reason in r for r in refusals)


# --- downloads -------------------------------------------------------------------------------------------------------

def test_every_chart_offers_png_svg_csv_and_excel():
    at = open_app()
    go(at, "information")
    shown = load_codebook("core").by_theme("information")
    assert len(charts(at)) == len(shown)
    # A page run draws each menu's button only (a dozen menus of four buttons were a third of a rerun):
    # the files' buttons are drawn when a menu is opened.
    assert not at.get("download_button")
    ids = [b.proto.id for b in open_downloads(at, *(f"q_core_information_{v.name}" for v in shown)).get("download_button")]
    for var in shown:
        for fmt in ("png", "svg", "csv", "xlsx"):
            assert sum(i.endswith(f"q_core_information_{var.name}_{fmt}") for i in ids) == 1, (var.name, fmt)


def test_a_figures_files_are_named_for_dataset_question_and_release(monkeypatch):
    import streamlit

    from core.query import export

    names = []
    original = streamlit.download_button  # bound to the main area: what `st.download_button` in a popover runs

    def capture(label, data, *args, **kwargs):
        names.append(kwargs.get("file_name"))
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", capture)
    at = open_app()
    go(at, "smuggling")
    shown = questions(load_codebook("core"), "smuggling", "public")
    open_downloads(at, *(f"q_core_smuggling_{var.name}" for var in shown))
    release = export.release("core")
    expected = {export.file_name("core", [var.name], release, fmt) for var in shown for fmt in ("png", "svg", "csv", "xlsx")}
    assert "4mi-core_amount-paid-usd_" + release + ".csv" in expected
    assert set(names) == expected and len(names) == len(expected)


def test_a_figure_downloads_as_the_page_shows_it():
    """The files hold the figure of the page: the same protected counts, the header block, the chart
    with its question as the title (rendered here as the download button would)."""
    from core.figures import charts as chart_module
    from core.query import export
    from core.query.filters import FilterState

    view = View("es", "public", FilterState())
    var = load_codebook("core")["used_smuggler"]
    figure = question.made(var, None, view)
    csv_text = export.to_csv(figure.table, [("Conjunto de datos", "Encuesta principal")]).decode("utf-8-sig")
    public = shares("core", "used_smuggler")
    for count in public["count"]:
        assert str(count) in csv_text
    svg = export.chart_svg(chart_module.for_export(figure.chart, title=figure.question, subtitle=["Base"]), "es")
    assert var.label("es").replace("¿", "") in svg.decode("utf-8").replace("¿", "")


def test_a_drawn_figure_is_never_shared_between_languages_tiers_or_filters():
    """A page's figures are cached ready to draw (question.drawn), keyed by View.key, a text: views that
    differ in language, tier or filters never read each other's, so a public reader never gets a
    researcher's exact table."""
    from core.query.filters import FilterState

    var = load_codebook("core")["used_smuggler"]
    views = [View("en", "public", FilterState()), View("fr", "public", FilterState()),
             View("en", "researcher", FilterState()), View("en", "public", FilterState(start="2020Q1", end="2020Q4")),
             View("en", "public", FilterState(selections={"gender": ("woman",)}))]
    assert len({v.key for v in views}) == len(views)
    drawn = [question.drawn(var, None, v, True) for v in views]
    counts = [d.table.column(1).to_pylist() for d in drawn]  # the respondents, in any language
    assert counts[0] == list(shares("core", "used_smuggler")["count"])
    assert counts[2] == list(shares("core", "used_smuggler", tier="researcher")["count"]) != counts[0]
    assert counts[3] != counts[0] and counts[4] != counts[0]
    assert drawn[1].question == var.label("fr") != drawn[0].question
    assert drawn[1].about != drawn[0].about and drawn[2].about != drawn[0].about  # "exact" against "approximate"


def test_an_opened_download_menu_gives_the_files_of_its_figure(monkeypatch):
    """The menu's buttons are drawn when it is opened; what they give is the figure's table with its
    header, in the page's language and tier."""
    import streamlit

    from core.query import export

    found = {}
    original = streamlit.download_button  # bound to the main area: what `st.download_button` in a popover runs

    def capture(label, data, *args, **kwargs):
        found[kwargs["key"]] = data
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", capture)
    at = as_role("researcher", {"lang": "fr"})
    go(at, "smuggling")
    assert not found
    key = "q_core_smuggling_used_smuggler"
    open_downloads(at, key)
    assert not at.exception, at.exception
    assert set(found) == {f"{key}_{fmt}" for fmt in ("png", "svg", "csv", "xlsx")}
    header, table = export.read_csv(found[f"{key}_csv"]())
    assert dict(header)[t("downloads.header.title", "fr")] == load_codebook("core")["used_smuggler"].label("fr")
    exact = shares("core", "used_smuggler", tier="researcher")
    assert list(table.iloc[:, 1]) == list(exact["count"])  # the researcher's exact figures
    assert b"<svg" in found[f"{key}_svg"]()


def test_a_charts_table_is_drawn_once_opened_and_holds_the_protected_figures():
    """The table behind a chart is one click away: its expander is drawn closed and empty (a page of
    closed tables made a new visitor's browser load Streamlit's table code before the first chart), and
    opening it draws the figure's table, in the public tier the protected counts."""
    at = open_app()
    go(at, "smuggling")
    assert not at.dataframe
    key = "q_core_smuggling_used_smuggler"
    assert table_key(key) in at.session_state.keys() and at.session_state[table_key(key)] is False
    at.session_state[table_key(key)] = True
    at.run()
    assert not at.exception, at.exception
    (frame,) = at.dataframe
    public = shares("core", "used_smuggler")
    assert [int(n) for n in frame.value.iloc[:, 1]] == [int(n) for n in public["count"]]
    opened = open_tables(at)
    assert len(opened.dataframe) == len(questions(load_codebook("core"), "smuggling", "public"))


def test_the_theme_module_draws_nothing_when_run_directly():
    at = AppTest.from_file(str(ROOT / "pages" / "themes.py"), default_timeout=60).run()
    assert not at.exception and not at.title and not charts(at)


# --- languages ---------------------------------------------------------------------------------------------------------

# The languages other than English on the core survey's pages (the most themes and questions), and each
# other dataset in one of them: test_every_theme_page_of_every_dataset_in_every_role walks every dataset in
# English, as a researcher (an administrator's tier); every dataset's every kind of figure in every language,
# with and without the breakdown by gender, is checked without a page under strict i18n too
# (tests/unit/test_figure_languages.py), every label of the codebooks in tests/unit/test_codebooks.py.
LANGUAGE_WALKS = [("core", "fr"), ("core", "es"), ("covid", "fr"), ("returns", "es")]


@pytest.mark.parametrize("dataset, lang", LANGUAGE_WALKS)
def test_every_theme_page_in_every_language(dataset, lang):
    """Strict i18n (tests/app/conftest.py): a missing message or parameter fails the run. The admin
    sees every question; a breakdown by gender draws the grouped charts and quartile ranges too."""
    at = as_role("admin", {"lang": lang, "ds": dataset, "by": "gender"})
    book = load_codebook(dataset)
    nav = [p for p in pages(at) if p in {th.id for th in book.themes}]
    assert nav == [th.id for th in book.themes]
    for theme in book.themes:
        go(at, theme.id)
        assert not at.exception, (theme.id, at.exception)
        assert at.title[0].value == theme.label(lang)
        if lang != "en":
            headings = [s.value for s in at.subheader]
            assert t("caveats.title", lang) in headings and t("caveats.title", "en") not in headings
            assert t("charts.filters", "en", filters="").strip() not in texts(at)
