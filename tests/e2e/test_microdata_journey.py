"""The microdata explorer in Chromium: a researcher signs in, filters, chooses columns, downloads CSV
and Stata files that read back (pandas) with the same rows; an admin then finds those downloads in the
audit log."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
from playwright.sync_api import expect

from core.auth.audit import AuditLog
from core.data.codebook import STANDARD_VARIABLES
from core.data.engine import load_codebook
from core.query import microdata
from core.query.export import release
from tests.e2e.conftest import SCREENSHOTS

BOOK = load_codebook("core")


def download(portal, page, label: str, name: str) -> dict[str, bytes]:
    with page.expect_download(timeout=60_000) as started:
        portal.main(page).get_by_role("button", name=label, exact=True).click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    started.value.save_as(path)
    # The dataset, the view, the data's release and the format (a CSV and a Stata file never share a name).
    fmt = name.removeprefix("microdata_download_").removesuffix(".zip")
    assert started.value.suggested_filename == f"4mi-core_microdata_{release('core')}.{fmt}.zip"
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def test_a_researcher_downloads_rows_and_an_admin_sees_it_in_the_audit_log(portal, new_context):
    erin = portal.account("erin")
    page = portal.open(new_context().new_page(), "/")
    portal.sign_in(page, erin)

    # Filter (the shared filter bar), open the explorer, add a question from the "Drivers" theme.
    portal.pill(page, "Woman").click()
    portal.wait_for_url(page, r"[?&]gender=woman(&|$)")
    portal.settle(page)
    portal.nav_link(page, "Microdata").click()
    portal.settle(page)
    expect(portal.title(page)).to_have_text("Microdata")
    main = portal.main(page)
    grid = page.get_by_test_id("stDataFrame").locator("table[role='grid']")  # the grid's table for screen readers
    expect(grid).to_have_attribute("aria-colcount", re.compile(r"^\d+$"))
    before = int(grid.get_attribute("aria-colcount"))
    portal.expand(page, "Columns")
    theme = BOOK.themes[[th.id for th in BOOK.themes].index("drivers")].label("en")
    chooser = main.get_by_role("combobox", name=theme, exact=True)
    chooser.click()
    chooser.press_sequentially("Reasons")  # typing opens the list too, should the click only focus it
    page.get_by_role("option", name=BOOK["drivers"].label("en"), exact=True).click()
    page.keyboard.press("Escape")
    # The choice is applied once the server's rerun has drawn the table with that column: the downloads
    # below are made from what that run drew (on a busy machine the rerun can start well after the click).
    expect(grid).to_have_attribute("aria-colcount", str(before + 1))
    portal.settle(page)
    expect(portal.glide_cells(page).first).to_have_text(re.compile(r"^CORE-\d{7}$"))
    expect(main.get_by_text(re.compile(r"^Rows 1–50 of [\d,]+\.$"))).to_be_visible()
    portal.screenshot(page, "microdata_explorer")

    columns = [v for v in BOOK.variables if v in STANDARD_VARIABLES] + ["drivers"]  # chosen at first, then ours
    expected = microdata("core", None, filters={"gender": ["woman"]}, tier="researcher")
    # CSV: codes or labels as on screen (labels); multiple choice one column per option by default.
    files = download(portal, page, "CSV", "microdata_download_csv.zip")
    data = next(v for k, v in files.items() if k.endswith(".csv") and "dictionary" not in k)
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(table["respondent_id"]) == list(expected["respondent_id"])
    assert set(table["gender"]) == {"Woman"}
    assert [c for c in table.columns if "/" not in c][:len(columns) - 1] == columns[:-1]
    assert f"drivers/{BOOK['drivers'].codes[0]}" in table.columns
    assert any(k.endswith("_dictionary.csv") for k in files)
    ages = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)["age"].dropna()
    assert ages.str.fullmatch(r"\d+").all()  # whole numbers, no "28.0"

    files = download(portal, page, "Stata (.dta)", "microdata_download_dta.zip")
    data = next(v for k, v in files.items() if k.endswith(".dta"))
    stata = pd.read_stata(io.BytesIO(data))
    assert list(stata["respondent_id"]) == list(expected["respondent_id"])
    assert set(stata["gender"]) == {"Woman"}  # value labels
    assert list(stata["age"]) == list(expected["age"].astype(float))

    log = AuditLog(portal.server.audit_path).entries(username="erin")
    downloads = log[log.action == "download"]
    assert list(downloads["format"]) == ["dta", "csv"]
    assert all(r == len(expected) for r in downloads["rows"])
    assert all(f == {"gender": ["woman"]} for f in downloads["filters"])
    assert (log.action == "view").any()

    # The admin finds the downloads in the audit log.
    admin = portal.open(new_context().new_page(), "/")
    portal.sign_in(admin, portal.account("root"))
    admin = portal.open(admin, "/admin")  # a new visit: the cookie signs in
    expect(admin.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
    portal.screenshot(admin, "admin_page")
    portal.main(admin).get_by_role("combobox", name="User", exact=True).click()
    admin.keyboard.type("erin")
    admin.keyboard.press("Enter")
    portal.settle(admin)
    audit_cells = admin.get_by_test_id("stDataFrame").nth(2).locator("td")  # users, grants, audit log
    expect(audit_cells.filter(has_text=re.compile(r"^download$"))).to_have_count(2)
    expect(audit_cells.filter(has_text=re.compile(r"^dta$"))).to_have_count(1)
    expect(audit_cells.filter(has_text=re.compile(r"^csv$"))).to_have_count(1)
    expect(audit_cells.filter(has_text=re.compile(r"^erin$"))).to_have_count(len(log))
    portal.screenshot(admin, "admin_audit_log")
