"""The entry page, run by AppTest: it starts, shows protected sizes and says the data are synthetic."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import engine, settings
from core.query import total

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_overview_shows_protected_dataset_sizes():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    values = [m.value for m in at.metric]
    assert len(values) == 3
    expected = [f"{total(name, tier='public'):,}" for name in settings.DATASETS]
    assert values == expected
    assert any("synthetic" in w.value for w in at.warning)


def test_missing_secret_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_CKM_SECRET")
    monkeypatch.setattr(settings, "SECRETS_FILE", tmp_path / "none.toml")
    engine.set_engine(None)
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception
        assert not at.metric
        assert any("ckm_secret" in e.value for e in at.error)
    finally:
        engine.set_engine(None)


@pytest.fixture(autouse=True)
def _fresh_engine():
    yield
    engine.set_engine(None)
