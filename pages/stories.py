"""Stories: the curated stories of data/stories, each with what it is about, a button to start it
(in presentation view or not) and the link of every step, to share or to open one step alone."""

from __future__ import annotations

import streamlit as st

from components import story
from components.shell import context
from core.i18n import t, tn


def _start(story_id: str, lang: str, presenting: bool) -> None:
    chosen = story.stories()[story_id]
    first = story.neighbour(chosen, 0, 1, context().tier)
    if first is None:
        return
    if presenting:
        st.query_params["present"] = "1"
    story.open_step(chosen, first, lang)


def render() -> None:
    ctx = context()
    if ctx is None:
        return
    lang = ctx.lang
    st.title(t("stories.title", lang))
    st.markdown(t("stories.intro", lang))
    for problem in story.errors():  # a story file that does not check out: left out, and said why
        st.error(t("stories.broken", lang, problem=problem), icon=":material/error:")
    with st.container(key="stories_list"):
        for item in story.stories().values():
            with st.container(border=True):
                st.subheader(item.title[lang])
                st.markdown(item.summary[lang])
                st.caption(tn("stories.steps", len(item.steps), lang))
                left, right, _ = st.columns([1, 1, 2])
                left.button(t("stories.start", lang), key=f"start_{item.id}", on_click=_start,
                            args=(item.id, lang, False), icon=":material/play_arrow:", width="stretch")
                right.button(t("stories.present", lang), key=f"present_{item.id}", on_click=_start,
                             args=(item.id, lang, True), icon=":material/slideshow:", width="stretch")
                lines = []
                for number, step in enumerate(item.steps, start=1):
                    locked = "" if step.open_to(ctx.tier) else f" ({t('stories.researchers_only', lang)})"
                    lines.append(f"{number}. [{step.title[lang]}]({step.link(item.id, number, lang=lang)}){locked}")
                with st.expander(t("stories.step_links", lang), icon=":material/link:"):
                    st.markdown("\n".join(lines))


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
