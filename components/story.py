"""A story's step, drawn by the router above (or, in presentation view, beside) the page the step
opens: the story's title, the step's title and text in the language, "step 2 of 5", and Previous /
Next, which open the neighbouring step (its page, with its link: every step is a shareable link).

The story and step are in the link (`?story=...&step=...`), read on every run; no page knows about
stories. A step for researchers is skipped for the public (and says so when its link is opened).
"""

from __future__ import annotations

import functools
import logging

import streamlit as st

from components import present, shell
from core.explainer.stories import PRESENT_PARAM, STEP_PARAM, STORY_PARAM, Story, load_all, step_of
from core.i18n import t

log = logging.getLogger(__name__)


@functools.cache
def stories() -> dict[str, Story]:
    """The stories of data/stories, checked once per process; a wrong file is left out and logged
    (and listed on the stories page, see `errors`)."""
    found, problems = load_all()
    for problem in problems:
        log.error("story left out: %s", problem)
    return found


def errors() -> tuple[str, ...]:
    return load_all()[1]


def current() -> tuple[Story, int] | None:
    """The story and step number the link names, if any."""
    return step_of(stories(), st.query_params.get(STORY_PARAM), st.query_params.get(STEP_PARAM))


def neighbour(story: Story, number: int, direction: int, tier: str) -> int | None:
    """The step before (-1) or after (+1) step `number` that the tier may open, if any."""
    other = number + direction
    while 1 <= other <= len(story.steps):
        if story.step(other).open_to(tier):
            return other
        other += direction
    return None


def open_step(story: Story, number: int, lang: str) -> None:
    """Move to a step of a story (a callback): its page, with its link, in the language, keeping the
    presentation view."""
    extra = {"lang": lang}
    if present.is_on():
        extra[PRESENT_PARAM] = "1"
    step = story.step(number)
    shell.go_to(step.page, step.query(story.id, number, **extra))


def _move(direction: int) -> None:
    ctx, found = shell.context(), current()
    if ctx is None or found is None:
        return
    story, number = found
    other = neighbour(story, number, direction, ctx.tier)
    if other is not None:
        open_step(story, other, ctx.lang)


def _close() -> None:
    for name in (STORY_PARAM, STEP_PARAM):
        if name in st.query_params:
            del st.query_params[name]


def panel(ctx, found: tuple[Story, int], presenting: bool) -> None:
    """The step's text and the story's navigation."""
    story, number = found
    lang, step = ctx.lang, story.step(number)
    with st.container(border=not presenting, key="story_text"):
        st.caption(t("story.label", lang, story=story.title[lang], number=number, total=len(story.steps)))
        if not step.open_to(ctx.tier):
            st.info(t("story.researcher_step", lang), icon=":material/lock:")
        st.markdown(f"**{step.title[lang]}**")
        st.markdown(step.text[lang])
        st.caption(t("story.synthetic", lang))
        before, after = neighbour(story, number, -1, ctx.tier), neighbour(story, number, 1, ctx.tier)
        # Beside a chart (presenting) the column is narrow: Previous and Next share a row, Close goes below.
        left, right, close = st.columns(2) + [st] if presenting else st.columns([1, 1, 1, 2])[:3]
        left.button(t("story.previous", lang), key="story_previous", on_click=_move, args=(-1,),
                    disabled=before is None, icon=":material/arrow_back:", width="stretch")
        right.button(t("story.next", lang), key="story_next", on_click=_move, args=(1,), type="primary",
                     disabled=after is None, icon=":material/arrow_forward:", width="stretch")
        close.button(t("story.close", lang), key="story_close", on_click=_close, icon=":material/close:",
                     type="tertiary" if presenting else "secondary", width="content" if presenting else "stretch")
        if presenting:
            st.caption(t("story.keys_hint", lang))
            present.keys(lambda direction: _move(1 if direction == "next" else -1))
