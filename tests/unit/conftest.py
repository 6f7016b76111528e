"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from tests.unit.ingest_support import load_first_round


@pytest.fixture(scope="module")
def first_round(tmp_path_factory):
    """A data directory with the first Kobo round loaded (tests/fixtures/kobo), shared by a test module:
    tests copy it before changing it."""
    directory = tmp_path_factory.mktemp("first") / "data"
    load_first_round(directory)
    return directory
