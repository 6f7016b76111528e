"""The releases of each dataset, what changed in each, how to cite one, and pinned links (no Streamlit).

A release is one version of a dataset's data (core/data/versions.py): a loaded version ("v0003"), or,
before the first, the built-in synthetic data, which count as one release named `builtin`. A release is
named across the portal by its reference, "<dataset>@<release>" (``core@v0003``): the Data releases page
(pages/releases.py) lists them, a shared link may pin one (``?release=core@v0003``, `resolve`), and every
download's citation names one (`citation`).

For each release: its date, the period it covers in quarters, its respondents (in the public tier the
protected count of the whole release, core.disclosure's cell-key method and rule 3, never the raw count),
the questions added or changed since the release before it (from their codebooks), the admin's notes
written at load time (version.json, core.ingest.load.commit), and whether it is current.

A release is never changed once written, and its record keys come from its respondents' ids (core/ingest/load.py):
the same cell of the same release has the same protected value for ever, whatever is loaded after it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core import disclosure, settings
from core.data import versions
from core.data.codebook import quarter_of
from core.data.engine import get_engine, load_codebook, source_codebook
from core.i18n import fmt_date, t, tn

BUILTIN = "builtin"
REF_SEPARATOR = "@"
RELEASE_PARAM = "release"  # the link parameter of a pinned release (the router reads it, every page keeps it)
CITATION_FORMATS = ("text", "bibtex", "ris")
_REF = re.compile(r"([a-z][a-z0-9_]{1,39})@(builtin|v\d{4,})")


class UnknownRelease(ValueError):
    """A release reference that names no release of the portal; `ref` is what was asked for."""

    def __init__(self, ref: str):
        super().__init__(f"no release {ref!r}")
        self.ref = ref


@dataclass(frozen=True)
class Release:
    dataset: str
    id: str                       # "v0003", or BUILTIN
    date: dt.date                 # when it was loaded (the built-in data: when they were built)
    start: dt.date                # the period its fieldwork covers
    end: dt.date
    notes: str                    # what the admin wrote when loading it
    current: bool
    added: tuple[str, ...] = ()   # questions (variable names) new since the release before it
    changed: tuple[str, ...] = ()  # questions whose wording, answers or type changed since then
    first: bool = False           # the first release of its dataset: nothing to compare with

    @property
    def ref(self) -> str:
        return ref(self.dataset, self.id)

    @property
    def version(self) -> str | None:
        """The version the engine reads (None: the built-in data)."""
        return None if self.id == BUILTIN else self.id

    def period(self, lang: str) -> str:
        """The period it covers, in quarters (never days: the public tier's granularity)."""
        from core.data.codebook import quarter_label

        first, last = quarter_of(self.start), quarter_of(self.end)
        return quarter_label(first, lang) if first == last else \
            f"{quarter_label(first, lang)} – {quarter_label(last, lang)}"


def codebook(release: Release, data_dir: Path | None = None):
    """The codebook the release was published with."""
    return source_codebook(_source(Path(data_dir or settings.GENERATED_DIR), release.dataset, release.version))


def ref(dataset: str, release: str | None) -> str:
    """A release's reference, "core@v0003" (release None: the built-in data)."""
    return f"{dataset}{REF_SEPARATOR}{release or BUILTIN}"


def _source(data_dir: Path, dataset: str, version: str | None) -> versions.Source:
    return versions._source(os.fspath(data_dir), dataset, version)


def _date(text: str | None, fallback: Path) -> dt.date:
    if text:
        try:
            return dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    try:
        return dt.datetime.fromtimestamp(fallback.stat().st_mtime, dt.UTC).date()
    except FileNotFoundError:
        return dt.date.today()


def releases(dataset: str, data_dir: Path | None = None, public: bool = True) -> list[Release]:
    """Every release of `dataset`, oldest first: the built-in data (unless it was created from a form),
    then each loaded version. `public`: the questions added or changed name only public questions."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    current = versions.current_version(data_dir, dataset)
    found: list[tuple[str, dict]] = []
    if not versions.is_created(data_dir, dataset) and dataset in settings.DATASETS:
        found.append((BUILTIN, {}))
    found += [(v, versions.info(data_dir, dataset, v)) for v in versions.version_ids(data_dir, dataset)]
    out: list[Release] = []
    before = None
    for rid, info in found:
        version = None if rid == BUILTIN else rid
        source = _source(data_dir, dataset, version)
        book = source_codebook(source)
        added: list[str] = []
        changed: list[str] = []
        if before is not None:
            for name, var in book.variables.items():
                if public and not var.public:
                    continue
                if name not in before.variables:
                    added.append(name)
                elif before.variables[name] != var:
                    changed.append(name)
        out.append(Release(dataset, rid, _date(info.get("created_at"), source.parquet), book.period_start,
                           book.period_end, str(info.get("notes") or ""), version == current,
                           tuple(added), tuple(changed), first=before is None))
        before = book
    return out


def parse_ref(text: str) -> tuple[str, str]:
    """(dataset, release id) of a reference such as "core@v0003"; UnknownRelease when it is not one."""
    found = _REF.fullmatch(str(text or "").strip())
    if not found:
        raise UnknownRelease(str(text))
    return found.group(1), found.group(2)


def resolve(text: str, data_dir: Path | None = None) -> Release:
    """The release a reference names (a pinned link's `?release=`); UnknownRelease when it names no
    dataset or no release of it (nothing is changed)."""
    dataset, rid = parse_ref(text)
    if dataset not in versions.datasets(data_dir):
        raise UnknownRelease(str(text))
    for release in releases(dataset, data_dir):
        if release.id == rid:
            return release
    raise UnknownRelease(str(text))


def current(dataset: str, data_dir: Path | None = None) -> Release:
    """The release in use now (for a pinned dataset in this context, the pinned one)."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    version = versions.source(data_dir, dataset).version
    wanted = version or BUILTIN
    found = [r for r in releases(dataset, data_dir) if r.id == wanted]
    if found:
        return found[0]
    book = load_codebook(dataset)
    return Release(dataset, wanted, dt.date.today(), book.period_start, book.period_end, "", True, first=True)


def newer(release: Release, data_dir: Path | None = None) -> Release | None:
    """The current release of the same dataset when `release` is not it (a pinned link's note)."""
    if release.current:
        return None
    return next((r for r in releases(release.dataset, data_dir) if r.current), None)


# --- respondents ---------------------------------------------------------------------------------


Total = Callable[..., int]  # core.query.total: (dataset, tier=) -> respondents, protected in the public tier
_COUNTS: dict[tuple, int | None] = {}


def respondents(release: Release, tier: str, total: Total, data_dir: Path | None = None) -> int | None:
    """The respondents of a release as `tier` may see them: `total` (core.query.total, passed in: core.data
    does not import core.query) run with the release pinned, so in the public tier the protected count the
    Overview shows for it, and None when rule 3 refuses it (under its minimum: "fewer than 50"). A release
    never changes, so each is counted once per process (the built-in data again when rebuilt)."""
    data_dir = Path(data_dir or settings.GENERATED_DIR)
    path = _source(data_dir, release.dataset, release.version).parquet
    try:
        key = (os.fspath(path), path.stat().st_mtime_ns, tier, id(get_engine()))
    except FileNotFoundError:
        return None
    if key not in _COUNTS:
        with versions.pinned(release.dataset, release.version):
            try:
                _COUNTS[key] = int(total(release.dataset, tier=tier))
            except disclosure.TableRefused:
                _COUNTS[key] = None
    return _COUNTS[key]


def respondents_text(release: Release, tier: str, lang: str, total: Total, data_dir: Path | None = None) -> str:
    count = respondents(release, tier, total, data_dir)
    if count is None:
        return t("releases.fewer_than", lang, minimum=disclosure.settings().min_population)
    return tn("releases.respondents_n", count, lang)


# --- citation ------------------------------------------------------------------------------------


def pinned_link(release: Release, path: str = "", origin: str | None = None) -> str:
    """The link that opens `release` for ever: the portal's address (`origin`, by default
    PORTAL_PUBLIC_URL), the page `path`, the dataset and the release."""
    base = settings.public_url() if origin is None else origin.rstrip("/")
    return f"{base}/{path}?ds={release.dataset}&{RELEASE_PARAM}={release.ref}"


@dataclass(frozen=True)
class Citation:
    text: str
    bibtex: str
    ris: str
    doi: str
    link: str

    def as_format(self, fmt: str) -> str:
        return {"text": self.text, "bibtex": self.bibtex, "ris": self.ris}[fmt]


def _bib(text: str) -> str:
    return re.sub(r"([{}\\&%$#_])", r"\\\1", text)


def citation(release: Release, lang: str, accessed: dt.date | None = None, origin: str | None = None) -> Citation:
    """The recommended citation of a release in `lang`: organisation, title, release, date accessed,
    link, and the DOI when one is set; as text, BibTeX and RIS. The link is the release's pinned link at
    PORTAL_PUBLIC_URL, else at `origin` (the address the visitor used)."""
    accessed = accessed or dt.date.today()
    with versions.pinned(release.dataset, release.version):
        title = load_codebook(release.dataset).title(lang)
    org = settings.organisation()
    found_doi = settings.doi(release.dataset, release.version)
    link = f"https://doi.org/{found_doi}" if found_doi else \
        pinned_link(release, origin=settings.public_url() or origin or "")
    release_text = t("releases.release_name", lang, release=release.ref,
                     date=fmt_date(release.date, lang, "long"))
    text = t("cite.text", lang, organisation=org, year=str(release.date.year), title=title, release=release_text,
             link=link, accessed=fmt_date(accessed, lang, "long"))
    if found_doi:
        text += " " + t("cite.doi", lang, doi=found_doi)
    key = re.sub(r"[^a-z0-9]+", "_", f"4mi_{release.dataset}_{release.id}_{release.date.year}")
    bib = [f"@misc{{{key},",
           f"  author = {{{{{_bib(org)}}}}},",
           f"  title = {{{_bib(title)}}},",
           f"  year = {{{release.date.year}}},",
           f"  version = {{{_bib(release.ref)}}},",
           f"  howpublished = {{\\url{{{link}}}}},",
           f"  urldate = {{{accessed.isoformat()}}},",
           f"  note = {{{_bib(t('cite.note', lang, release=release_text, accessed=fmt_date(accessed, lang, 'long')))}}},",
           f"  language = {{{lang}}},"]
    if found_doi:
        bib.append(f"  doi = {{{_bib(found_doi)}}},")
    bib.append("}")
    ris = ["TY  - DATA", f"AU  - {org}", f"TI  - {title}", f"PY  - {release.date.year}",
           f"DA  - {release.date.strftime('%Y/%m/%d')}", f"ET  - {release.ref}", f"UR  - {link}",
           f"Y2  - {accessed.isoformat()}", f"LA  - {lang}", f"PB  - {org}"]
    if found_doi:
        ris.append(f"DO  - {found_doi}")
    ris.append("ER  - ")
    return Citation(text, "\n".join(bib), "\r\n".join(ris) + "\r\n", found_doi, link)


def cite_current(dataset: str, lang: str, accessed: dt.date | None = None, origin: str | None = None) -> Citation:
    """The citation of the release of `dataset` in use here (pinned, else current): what downloads carry."""
    return citation(current(dataset), lang, accessed, origin)
