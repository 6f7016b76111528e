"""The microdata explorer and the admin page through the real router: who reaches them, the audit
entries that views and downloads write, and account changes made from the admin page."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from streamlit.delta_generator import DeltaGenerator

from core.auth.audit import AuditLog
from core.auth.users import UserStore
from core.i18n import t
from core.query import microdata, total
from tests.app.conftest import as_role, go, open_app, pages, restricted_pages, sign_in, texts

FILTER = {"gender": "woman"}  # the shared filter bar's link parameter for gender


def audit() -> pd.DataFrame:
    """The views and downloads of microdata (the log also holds the grants' life: core.auth.grants)."""
    entries = AuditLog().entries()
    return entries[entries["action"].isin(["view", "download"])].reset_index(drop=True)


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """The file makers the page hands to its download buttons, by key: what a click would run."""
    found = {}
    original = DeltaGenerator.download_button

    def capture(self, label, data, *args, **kwargs):
        found[kwargs.get("key")] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", capture)
    return found


# --- who reaches what ----------------------------------------------------------------------------

@pytest.mark.parametrize("role, page", [(None, "microdata"), (None, "admin"), ("researcher", "admin")])
def test_internal_pages_are_not_routable_without_the_role(role, page):
    at = as_role(role, page=page)
    assert not at.exception
    assert page not in pages(at) and page in restricted_pages(at)
    assert not at.dataframe and not at.metric
    assert audit().empty


def test_a_deep_link_to_the_explorer_asks_the_anonymous_to_sign_in_on_the_spot():
    at = open_app(page="microdata", query={"lang": "fr"})
    assert "microdata" not in pages(at)
    assert [e.value for e in at.title] == [t("nav.microdata", "fr")]
    assert [e.value for e in at.info] == [t("auth.needs_sign_in", "fr", role=t("auth.role.researcher", "fr"))]
    assert not at.dataframe
    sign_in(at, "alice")  # with the form on the page: the same URL is then the explorer itself
    assert not at.exception, at.exception
    assert at.title[0].value == t("nav.microdata", "fr")
    assert len(at.dataframe) == 1 and at.dataframe[0].value["respondent_id"].str.startswith("CORE-").all()


# --- the explorer ---------------------------------------------------------------------------------

def test_a_view_is_logged_once_with_its_rows_filters_and_columns():
    at = as_role("researcher", FILTER)
    go(at, "microdata")
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert len(shown) == 50 and shown["respondent_id"].str.startswith("CORE-").all()
    assert set(shown["gender"]) == {"Woman"}
    entries = audit()
    assert len(entries) == 1
    e = entries.iloc[0]
    assert (e.username, e.role, e.action, e.dataset, e.rows) == ("alice", "researcher", "view", "core", 50)
    assert e.filters == {"gender": ["woman"]}
    assert e.columns == list(shown.columns)
    at.run()  # the same rows again: not a new view
    assert len(audit()) == 1
    at.number_input(key="md_page_core").set_value(3).run()
    assert len(audit()) == 2 and audit().iloc[0].rows == 50


def test_columns_chosen_by_theme_codes_or_labels_and_sorting():
    at = as_role("researcher")
    go(at, "microdata")
    at.multiselect(key="md_cols_core_drivers").select("drivers").run()
    shown = at.dataframe[0].value
    assert "drivers" in shown.columns
    listed = next(v for v in shown["drivers"] if v is not None and len(v))
    assert all(isinstance(x, str) and x[0].isupper() for x in listed)  # labels, not codes
    at.toggle(key="md_labels").set_value(False).run()
    shown = at.dataframe[0].value
    assert set(shown["gender"].dropna()) <= {"man", "woman", "other"}
    at.selectbox(key="md_sort_core").set_value("age").run()
    at.toggle(key="md_desc").set_value(True).run()
    ages = list(at.dataframe[0].value["age"].dropna())
    assert ages == sorted(ages, reverse=True) and ages[0] == microdata("core", ["age"]).age.max()
    assert audit().iloc[0].columns[-1] == "drivers"


def test_the_column_search_narrows_what_is_offered():
    at = as_role("researcher")
    go(at, "microdata")
    before = at.multiselect(key="md_cols_core_drivers").options
    at.text_input(key="md_search_core").input("smuggler").run()
    assert not at.exception
    drivers = [m for m in at.multiselect if m.key == "md_cols_core_drivers"]
    assert not drivers or len(drivers[0].options) < len(before)
    at.text_input(key="md_search_core").input("zzzz no such question").run()
    assert t("microdata.search_none", "en") in texts(at)


def test_a_researchers_download_writes_an_audit_entry(downloads):
    at = as_role("researcher", FILTER)
    go(at, "microdata")
    at.multiselect(key="md_cols_core_drivers").select("drivers").run()
    assert {"md_download_csv", "md_download_parquet", "md_download_xlsx", "md_download_dta"} <= set(downloads)
    columns = list(at.dataframe[0].value.columns)
    views = len(audit())
    data = downloads["md_download_dta"]()  # what a click on "Stata" runs
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dta"))
        back = pd.read_stata(io.BytesIO(archive.read(name)))
    n = total("core", {"gender": ["woman"]}, tier="researcher")
    assert len(back) == n and set(back["gender"]) == {"Woman"}
    entries = audit()
    assert len(entries) == views + 1
    e = entries.iloc[0]
    assert (e.username, e.action, e.format, e.rows, e.dataset) == ("alice", "download", "dta", n, "core")
    assert e.filters == {"gender": ["woman"]} and e.columns == columns


def test_excel_is_refused_politely_above_its_row_limit(monkeypatch):
    from core.query import export

    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 1000)
    at = as_role("researcher")
    go(at, "microdata")
    assert t("microdata.excel_too_many", "en", n="120,000", limit="999") in texts(at)
    assert next(b for b in at.get("download_button") if b.proto.id.endswith("md_download_xlsx")).proto.disabled


def test_a_user_disabled_from_the_admin_page_loses_the_explorer_at_the_next_interaction(users):
    alice = as_role("researcher")
    go(alice, "microdata")
    assert alice.dataframe
    admin = as_role("admin")
    go(admin, "admin")
    admin.selectbox(key="admin_change_user").set_value("alice").run()
    admin.button(key="admin_disable").click().run()
    assert t("admin.disabled", "en", username="alice") in texts(admin)
    assert users.get_user("alice").disabled
    alice.run()
    assert "microdata" not in pages(alice)
    assert not alice.dataframe
    assert t("auth.signed_out_elsewhere", "en") in texts(alice)


# --- the admin page -------------------------------------------------------------------------------

def add(at, username: str, name: str = "", email: str = "", role: str = "researcher"):
    at.text_input(key="admin_add_username").input(username)
    at.text_input(key="admin_add_name").input(name)
    at.text_input(key="admin_add_email").input(email)
    at.selectbox(key="admin_add_role").set_value(role)
    return next(b for b in at.button if b.key and b.key.startswith("FormSubmitter:admin_add")).click().run()


def test_an_admin_adds_a_user_whose_one_time_password_works_once_shown(users):
    at = as_role("admin")
    go(at, "admin")
    add(at, "Carol.R", name="Carol R", email="carol@example.org")
    assert not at.exception, at.exception
    assert t("admin.added", "en", username="carol.r", role=t("auth.role.researcher", "en")) in texts(at)
    password = at.main.code[0].value
    assert UserStore(users.path).verify_password("carol.r", password).role == "researcher"
    at.run()  # shown once: gone at the next interaction
    assert not at.main.code and password not in texts(at)
    fresh = open_app()
    sign_in(fresh, "carol.r", password)
    assert "microdata" in pages(fresh)


@pytest.mark.parametrize("username, email, message", [
    ("x", "", t("admin.error.invalid_username", "en")),
    ("bob", "", t("admin.error.user_exists", "en", username="bob")),
    ("dave", "not-an-address", t("admin.error.invalid_email", "en", email="not-an-address")),
])
def test_bad_input_gets_a_clear_message_and_changes_nothing(users, username, email, message):
    before = users.path.read_bytes()
    at = as_role("admin")
    go(at, "admin")
    add(at, username, email=email)
    assert [e.value for e in at.error] == [message]
    assert not at.main.code
    assert users.path.read_bytes() == before


def test_messages_follow_the_language(users):
    at = as_role("admin", {"lang": "fr"})
    go(at, "admin")
    add(at, "bob")
    assert [e.value for e in at.error] == [t("admin.error.user_exists", "fr", username="bob")]


def test_an_admin_changes_a_role_and_resets_a_password(users):
    at = as_role("admin")
    go(at, "admin")
    at.selectbox(key="admin_change_user").set_value("bob").run()
    at.selectbox(key="admin_change_role").set_value("admin").run()
    at.button(key="admin_set_role").click().run()
    assert users.get_user("bob").role == "admin"
    assert t("admin.role_set", "en", username="bob", role=t("auth.role.admin", "en")) in texts(at)
    old_hash = users.get_user("bob").password_hash
    at.selectbox(key="admin_change_user").set_value("bob").run()
    at.button(key="admin_reset").click().run()
    password = at.main.code[0].value
    assert users.get_user("bob").password_hash != old_hash
    assert users.verify_password("bob", password) is not None
    at.selectbox(key="admin_change_user").set_value("alice").run()
    at.button(key="admin_disable").click().run()
    at.button(key="admin_enable").click().run()
    assert not users.get_user("alice").disabled


def test_an_admin_cannot_lock_themselves_out(users):
    at = as_role("admin")
    go(at, "admin")
    at.selectbox(key="admin_change_user").set_value("root").run()
    assert t("admin.not_yourself", "en") in texts(at)
    assert at.button(key="admin_disable").disabled and at.button(key="admin_reset").disabled
    assert at.button(key="admin_set_role").disabled


def test_the_audit_log_is_filtered_by_user_dataset_and_date():
    import datetime as dt

    log = AuditLog()
    log.record(username="alice", role="researcher", action="download", dataset="core", filters={}, columns=["a"],
               rows=10, format="csv")
    log.record(username="bob", role="researcher", action="view", dataset="covid", filters={}, columns=["a"], rows=5)
    at = as_role("admin")
    go(at, "admin")
    table = at.dataframe[2].value  # after the users and the grants
    # (the researchers' before-grants grants, core.auth.grants, are in it too)
    assert [u for u in table["username"] if u != "before-grants"] == ["bob", "alice"]
    at.selectbox(key="admin_audit_user").set_value("alice").run()
    assert list(at.dataframe[2].value["username"]) == ["alice"]
    at.selectbox(key="admin_audit_user").set_value("").run()
    at.selectbox(key="admin_audit_dataset").set_value("covid").run()
    assert list(at.dataframe[2].value["username"]) == ["bob"]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    at.date_input(key="admin_audit_dates").set_value((yesterday, yesterday)).run()
    assert at.dataframe[2].value.empty


def test_each_download_format_has_its_own_name_with_dataset_and_release(monkeypatch):
    """Regression: the CSV, Parquet and Stata downloads were all `microdata_core_<day>.zip`."""
    from core.query import export

    names = {}
    original = DeltaGenerator.download_button

    def capture(self, label, data, *args, **kwargs):
        names[kwargs.get("key")] = kwargs.get("file_name")
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", capture)
    at = as_role("researcher")
    go(at, "microdata")
    found = {key: name for key, name in names.items() if key.startswith("md_download_")}
    release = export.release("core")
    assert found == {"md_download_csv": f"4mi-core_microdata_{release}.csv.zip",
                     "md_download_parquet": f"4mi-core_microdata_{release}.parquet.zip",
                     "md_download_xlsx": f"4mi-core_microdata_{release}.xlsx",
                     "md_download_dta": f"4mi-core_microdata_{release}.dta.zip"}
