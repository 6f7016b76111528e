"""A "Skip to results" link and a scroll to the results after a change, for pages whose controls come
before what they produce (the crosstab builder).

`skip_link` draws a link, hidden until it has the keyboard focus (the first Tab stop of the page's
main area), that moves the focus to the container keyed `target` (`st.container(key=target)`), with
a visible outline. `scroll_to` draws nothing: when its `token` differs from the one of the previous
run (the user changed something), it scrolls that container into view, unless it is in view already
(wide screens, where the result sits beside the controls). Neither takes the focus on a rerun.

A components-v2 component (reference/streamlit-notes.md 1.6): it runs in the page itself, so it can
find Streamlit's element by its key class (`st-key-<key>`).
"""

from __future__ import annotations

import streamlit as st

OUTLINE = "3px solid #1f5f99"  # the theme's primary colour: 6.6:1 on white

_HTML = "<div class='skip-root'></div>"

_CSS = """
.skip-root { height: 0; }
a.skip { position: absolute; left: -10000px; top: auto; width: 1px; height: 1px; overflow: hidden; }
a.skip:focus { position: static; width: auto; height: auto; display: inline-block; padding: 6px 12px;
               background: #1f5f99; color: #ffffff; border-radius: 6px; font-weight: 600;
               text-decoration: underline; outline: 3px solid #0b2540; outline-offset: 2px; }
.skip-root:has(a.skip:focus) { height: auto; }
"""

_JS = """
export default function(component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector('.skip-root');
  const state = parentElement.__skip || (parentElement.__skip = {});
  const target = () => document.querySelector('.st-key-' + CSS.escape(data.target));

  if (data.label) {
    let a = root.querySelector('a.skip');
    if (!a) {
      a = document.createElement('a');
      a.className = 'skip'; a.href = '#' + data.target;
      a.addEventListener('click', e => {
        e.preventDefault();
        const el = target();
        if (!el) return;
        if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
        if (!el.__skipOutline) {
          el.__skipOutline = true;
          el.addEventListener('focus', () => { el.style.outline = data.outline; el.style.outlineOffset = '4px'; });
          el.addEventListener('blur', () => { el.style.outline = ''; });
        }
        el.focus({ preventScroll: true });
        el.scrollIntoView({ block: 'start' });
      });
      root.appendChild(a);
    }
    a.textContent = data.label;
  }

  if (data.token != null) {
    const changed = state.token !== undefined && state.token !== data.token;
    state.token = data.token;
    if (changed) {
      // After the run has drawn the new result: scroll to it when its top is out of view.
      let tries = 0;
      const look = () => {
        const el = target();
        if (!el) { if (tries++ < 20) setTimeout(look, 100); return; }
        const top = el.getBoundingClientRect().top;
        if (top < 0 || top > window.innerHeight - 120) el.scrollIntoView({ block: 'start', behavior: 'smooth' });
      };
      requestAnimationFrame(look);
    }
  }
}
"""

_SKIP = st.components.v2.component("portal_skip_link", html=_HTML, css=_CSS, js=_JS)


def skip_link(label: str, target: str, *, key: str = "skip_link") -> None:
    """A link, visible when it has the focus, that moves the focus to the container keyed `target`."""
    _SKIP(key=key, data={"label": label, "target": target, "token": None, "outline": OUTLINE})


def scroll_to(target: str, token: str, *, key: str = "scroll_to") -> None:
    """Scroll the container keyed `target` into view when `token` changed since the last run."""
    _SKIP(key=key, data={"label": "", "target": target, "token": token, "outline": OUTLINE})
