"""What the Data releases page and the public citation say of a release holds no unprotected count: its
respondents are the protected total (cell-key method; rule 3's "fewer than 50" under the minimum), never
the raw number, and the citation names no count at all."""

from __future__ import annotations

import re

from core import query
from core.data import releases, versions


def _numbers(text: str) -> set[int]:
    return {int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)}


def test_a_releases_public_description_and_citation_show_no_raw_count():
    for dataset in versions.datasets():
        for release in releases.releases(dataset):
            raw = releases.respondents(release, "researcher", query.total)
            shown = releases.respondents_text(release, "public", "en", query.total)
            assert raw not in _numbers(shown), (release.ref, raw, shown)
            assert _numbers(shown) == {releases.respondents(release, "public", query.total) or 50}
            cite = releases.citation(release, "en")
            assert raw not in _numbers(cite.text + cite.bibtex + cite.ris)
