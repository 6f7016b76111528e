"""Data releases in the portal's UI: the list of a dataset's releases (pages/releases.py), a release's
citation, and pinned links (`?release=core@v0003`, core/data/releases.py).

A pinned link is read on a browser session's first run, like the filters: a release that exists is kept
in the session and pinned for every run (the engine then reads that release, core.data.versions.pin),
with a note when a newer one exists and a button back to the current one; a reference that names no
release is dropped with a warning in the user's language (components.shell.show_url_notes) and changes
nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import streamlit as st

from components.shell import add_notes, first_run, origin
from core import query, settings
from core.data import releases, versions
from core.data.engine import dataset_name
from core.i18n import fmt_date, punct, t

PIN_KEY = "portal_release"  # the pinned release's reference, for the rest of the browser session
QUESTIONS_LISTED = 40


def pin_for_run() -> releases.Release | None:
    """Pin the release of this session's link (read from `?release=` on its first run) for this run;
    the release, or None when none is pinned. Call before anything reads data."""
    s = st.session_state
    asked = st.query_params.get(releases.RELEASE_PARAM)
    if first_run() and asked and s.get(PIN_KEY) != asked:
        try:
            s[PIN_KEY] = releases.resolve(asked).ref
        except releases.UnknownRelease:
            add_notes([(releases.RELEASE_PARAM, asked)])
            del st.query_params[releases.RELEASE_PARAM]
    release = None
    if s.get(PIN_KEY):
        try:
            release = releases.resolve(s[PIN_KEY])
        except releases.UnknownRelease:  # its files were removed since
            s.pop(PIN_KEY, None)
    versions.set_pins({release.dataset: release.version} if release else {})
    return release


def keep_in_url(release: releases.Release | None) -> None:
    """Put the pinned release back into the link (after the router rewrote it from the filters)."""
    if release is not None:
        st.query_params[releases.RELEASE_PARAM] = release.ref


def _unpin() -> None:
    st.session_state.pop(PIN_KEY, None)
    if releases.RELEASE_PARAM in st.query_params:
        del st.query_params[releases.RELEASE_PARAM]


def pinned_note(release: releases.Release | None, dataset: str, lang: str) -> None:
    """Say that a pinned link shows an earlier release, when a newer one exists, with a way back."""
    if release is None or release.dataset != dataset:
        return
    newer = releases.newer(release)
    if newer is None:
        return
    with st.container(key="pinned_release"):
        st.info(t("pin.note", lang, release=name(release, lang), newer=name(newer, lang)), icon=":material/push_pin:")
        st.button(t("pin.current", lang), key="pin_current", on_click=_unpin, icon=":material/update:")


def name(release: releases.Release, lang: str) -> str:
    return t("releases.release_name", lang, release=release.ref, date=fmt_date(release.date, lang, "long"))


def citation_block(citation: releases.Citation, lang: str) -> None:
    """The citation as text, BibTeX and RIS, one tab each, to copy."""
    tabs = st.tabs([t(f"releases.format.{fmt}", lang) for fmt in releases.CITATION_FORMATS])
    for tab, fmt in zip(tabs, releases.CITATION_FORMATS):
        with tab:
            st.code(citation.as_format(fmt), language="bibtex" if fmt == "bibtex" else None, wrap_lines=True)


def _questions(release: releases.Release, names: tuple[str, ...], lang: str) -> str:
    book = releases.codebook(release)
    labels = [book[n].label(lang) if n in book else n for n in names]
    if len(labels) > QUESTIONS_LISTED:
        labels = [*labels[:QUESTIONS_LISTED], "…"]
    return punct("; ", lang).join(labels)


def release_list(dataset: str, lang: str, tier: str) -> None:
    """Every release of `dataset`, newest first: date, period, respondents (protected in the public
    tier), questions added or changed, notes, whether it is current, its pinned link and citation."""
    st.header(dataset_name(dataset, lang), anchor=False)
    base = origin()
    for release in reversed(releases.releases(dataset, public=tier == "public")):
        key = re.sub(r"[^a-z0-9_]", "_", release.ref)
        with st.container(border=True, key=f"release_{key}"):
            title = f"**{release.ref}**" + (f" · {t('releases.builtin', lang)}" if release.id == releases.BUILTIN else "")
            st.markdown(title)
            if release.current:
                st.badge(t("releases.current", lang), icon=":material/check_circle:", color="green")
            lines = [(t("releases.date", lang), fmt_date(release.date, lang, "long")),
                     (t("releases.period", lang), release.period(lang)),
                     (t("releases.respondents", lang), releases.respondents_text(release, tier, lang, query.total))]
            if release.first:
                lines.append((t("releases.first", lang), ""))
            elif not release.added and not release.changed:
                lines.append((t("releases.no_changes", lang), ""))
            if release.added:
                lines.append((t("releases.added", lang), _questions(release, release.added, lang)))
            if release.changed:
                lines.append((t("releases.changed", lang), _questions(release, release.changed, lang)))
            st.markdown("\n".join("- " + (t("releases.line", lang, label=label, value=value) if value else f"**{label}**")
                                   for label, value in lines))
            st.markdown(f"**{t('releases.notes', lang)}**")
            if release.notes:
                st.text(release.notes)  # the admin's words, as written: no markup
            else:
                st.caption(t("releases.no_notes", lang))
            with st.expander(t("releases.cite", lang), icon=":material/format_quote:"):
                st.caption(t("releases.open", lang))
                st.code(releases.pinned_link(release, origin=settings.public_url() or base),
                        language=None, wrap_lines=True)
                citation_block(releases.citation(release, lang, origin=base), lang)


def share_extras(dataset: str, lang: str, link_query: dict[str, list[str]], path: str) -> None:
    """In "Share this view": the pinned link of the view (its release named) and its citation."""
    release = releases.current(dataset)
    params = {**link_query, releases.RELEASE_PARAM: [release.ref]}

    base = settings.public_url() or origin()
    st.caption(t("share.pinned", lang, release=release.ref))
    st.code(f"{base}/{path}?{urlencode(params, doseq=True, safe='@')}", language=None, wrap_lines=True)
    st.caption(t("share.cite", lang))
    st.code(releases.citation(release, lang, origin=origin()).text, language=None, wrap_lines=True)

