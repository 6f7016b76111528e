"""The portal's own stylesheet, added once per run by the router (app.py: `style.apply()`): only what
Streamlit's theme (.streamlit/config.toml [theme]) cannot say.

- A keyboard focus ring (WCAG 2.4.7) on every link and button that Streamlit 1.67 leaves without one:
  the menu's page links and the charts' toolbar buttons change nothing on focus. Streamlit's own buttons
  and inputs keep their ring; `:focus-visible` only, so a mouse click draws none.

- The map's side panel (pages/map.py, `MAP_TOP`): its Markdown tables set a size smaller, with
  less padding, so that a top-ten list beside the map reads as a list (at the default size a flow's
  name wraps in the narrow column and each row takes two lines).

Caption contrast is set by the theme's textColor, not here (config.toml says why).
"""

from __future__ import annotations

import streamlit as st

FOCUS = "#1f5f99"  # the theme's primaryColor: 6.7:1 on white, 6.3:1 on the sidebar's grey
MAP_TOP = "map_top"  # the key of the map's side panel (pages/map.py)

CSS = f"""<style>
a:focus-visible, button:focus-visible, summary:focus-visible, [role="tab"]:focus-visible,
[data-testid="stPageLink-NavLink"]:focus-visible {{
  outline: 2px solid {FOCUS} !important; outline-offset: 2px;
}}
.st-key-{MAP_TOP} table {{ font-size: 0.875rem; }}
.st-key-{MAP_TOP} th, .st-key-{MAP_TOP} td {{ padding: 0.25rem 0.5rem; }}
</style>"""


def apply() -> None:
    """Add the stylesheet to this run's page (an st.html of only a <style> takes no space)."""
    st.html(CSS)
