"""Data releases: every release of each dataset, what changed, its notes, and how to cite it (public)."""

from __future__ import annotations

import streamlit as st

from components.releases import release_list
from components.shell import context
from core.data import versions
from core.i18n import t


def render() -> None:
    ctx = context("releases")
    if ctx is None:
        return
    lang, tier = ctx.lang, ctx.tier
    st.title(t("nav.releases", lang), anchor=False)
    st.markdown(t("releases.intro", lang))
    if tier == "public":
        st.caption(t("releases.approximate", lang))
    for dataset in versions.datasets():
        release_list(dataset, lang, tier)


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
