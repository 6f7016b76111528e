"""The crosstab builder's field picker: a searchable list of the dataset's questions, grouped by theme,
and three drop zones (Rows, Columns, Filters). A components-v2 component, inline HTML/CSS/JS, no build
step (reference/streamlit-notes.md 1.6 and 4).

Fields are dragged from the list to a zone, between zones and within one (to reorder); each placed
field has buttons to move it up, down or out. With the keyboard alone: Tab to a field, then R, C or F
puts it in Rows, Columns or Filters, Alt+Up / Alt+Down moves it within its zone, Delete takes it out.

What the browser sends back is a layout of field names only ({"rows": [...], "cols": [...],
"filters": [...], "seq": n}): the page checks every name against the codebook and the tier
(core.query.pivot.clean) and ignores the rest. Labels are written with textContent, never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from core.data.codebook import Codebook, Variable
from core.i18n import t

ZONES = ("rows", "cols", "filters")

_HTML = "<div class='picker' role='group'></div>"

_CSS = """
.picker { display: grid; grid-template-columns: minmax(220px, 1fr) 2fr; gap: 14px;
          font-family: var(--st-font, sans-serif); font-size: 0.92rem; color: var(--st-text-color, #262730); }
.avail { border: 1px solid var(--st-border-color, #d5d7de); border-radius: 8px; padding: 8px;
         max-height: 340px; overflow-y: auto; background: var(--st-background-color, #fff); }
.avail input { width: 100%; box-sizing: border-box; padding: 6px 8px; margin-bottom: 6px;
               border: 1px solid #8a8d96; border-radius: 6px; font: inherit; }
.theme { font-weight: 600; font-size: 0.8rem; text-transform: uppercase; letter-spacing: .03em;
         color: #4d5160; margin: 8px 2px 2px; }
.zones { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; align-content: start; }
.zone { border: 2px dashed var(--st-border-color, #c4c7cf); border-radius: 8px; padding: 6px; min-height: 120px;
        background: var(--st-secondary-background-color, #f4f5f8); }
.zone.over, .avail.over { border-color: var(--st-primary-color, #1f5f99); }
.zone h4 { margin: 0 0 6px; font-size: 0.9rem; }
.zone .hint { color: #4d5160; font-size: 0.8rem; }
ul { list-style: none; margin: 0; padding: 0; }
li.field { display: flex; align-items: center; gap: 4px; padding: 4px 6px; margin: 3px 0; border-radius: 6px;
           background: var(--st-background-color, #fff); border: 1px solid var(--st-border-color, #d5d7de);
           cursor: grab; line-height: 1.25; }
/* Text at least 4.5:1 on white and on the zones' grey (WCAG AA); a placed field is marked by its dashed
   border and grey background, not by fading it (opacity .45 gave 2.58:1). A focus ring on all that Tab reaches. */
li.field:focus, li.field button:focus-visible, .avail input:focus-visible {
  outline: 2px solid var(--st-primary-color, #1f5f99); outline-offset: 1px; }
li.field button:focus-visible { border-radius: 3px; }
li.field.placed { color: #555966; background: var(--st-secondary-background-color, #f8f8f7); border-style: dashed; }
li.field .name { flex: 1; }
li.field button { border: none; background: transparent; cursor: pointer; padding: 0 3px; font: inherit;
                  color: #4d5160; }
li.field button:hover, li.field button:focus { color: var(--st-primary-color, #1f5f99); }
.help { grid-column: 1 / -1; color: #4d5160; font-size: 0.8rem; }
"""

_JS = """
export default function(component) {
  const { data, setStateValue, parentElement } = component;
  const root = parentElement.querySelector('.picker');
  const text = data.text;
  const fields = data.fields;  // [{name, label, group}]
  const byName = Object.fromEntries(fields.map(f => [f.name, f]));
  const ZONES = ['rows', 'cols', 'filters'];
  let layout = Object.fromEntries(ZONES.map(z => [z, (data.layout[z] || []).filter(n => byName[n])]));
  const state = parentElement.__picker || (parentElement.__picker = { search: '', seq: 0, drawn: null });
  // Streamlit calls this again on every rerun: redraw only when what is shown has changed (keeps the
  // list's scroll position, and never takes the focus from a widget elsewhere on the page).
  const drawn = JSON.stringify([fields, text, layout]);
  if (state.drawn === drawn && root.childElementCount) return;
  state.drawn = drawn;

  function zoneOf(name) { return ZONES.find(z => layout[z].includes(name)) || null; }

  function send(next, focus) {
    layout = next;
    state.seq += 1;
    state.drawn = JSON.stringify([fields, text, layout]);
    render(focus);
    setStateValue('layout', { rows: next.rows, cols: next.cols, filters: next.filters, seq: Date.now() + state.seq });
  }

  function place(name, zone, index) {
    const next = Object.fromEntries(ZONES.map(z => [z, layout[z].filter(n => n !== name)]));
    if (zone) {
      const at = index == null || index < 0 ? next[zone].length : Math.min(index, next[zone].length);
      next[zone].splice(at, 0, name);
    }
    send(next, name);
  }

  function move(name, step) {
    const zone = zoneOf(name);
    if (!zone) return;
    const i = layout[zone].indexOf(name), j = i + step;
    if (j < 0 || j >= layout[zone].length) return;
    const list = layout[zone].slice();
    [list[i], list[j]] = [list[j], list[i]];
    send({ ...layout, [zone]: list }, name);
  }

  function onKey(e, name) {
    const key = e.key.toLowerCase();
    // Streamlit binds R (rerun) and C (clear caches) on the page: a key meant for the picker must not
    // reach them, or the rerun races the layout just sent.
    if (!e.ctrlKey && !e.metaKey && ['r', 'c', 'f'].includes(key)) e.stopPropagation();
    if (e.altKey && e.key === 'ArrowUp') { move(name, -1); e.preventDefault(); }
    else if (e.altKey && e.key === 'ArrowDown') { move(name, 1); e.preventDefault(); }
    else if (e.ctrlKey || e.metaKey || e.altKey) return;
    else if (key === 'r') { place(name, 'rows'); e.preventDefault(); }
    else if (key === 'c') { place(name, 'cols'); e.preventDefault(); }
    else if (key === 'f') { place(name, 'filters'); e.preventDefault(); }
    else if (e.key === 'Delete' || e.key === 'Backspace') { place(name, null); e.preventDefault(); }
  }

  function button(label, title, act) {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = label; b.title = title; b.setAttribute('aria-label', title);
    b.addEventListener('click', e => { e.stopPropagation(); act(); });
    return b;
  }

  function item(name, zone) {
    const f = byName[name];
    const li = document.createElement('li');
    li.className = 'field'; li.draggable = true; li.tabIndex = 0;
    li.dataset.name = name;
    li.setAttribute('role', 'listitem');
    const span = document.createElement('span');
    span.className = 'name'; span.textContent = f.label;
    li.appendChild(span);
    if (zone) {
      li.setAttribute('aria-label', f.label + ' (' + text[zone] + ')');
      li.appendChild(button('\\u2191', text.up, () => move(name, -1)));
      li.appendChild(button('\\u2193', text.down, () => move(name, 1)));
      li.appendChild(button('\\u2715', text.remove, () => place(name, null)));
    } else {
      li.title = f.group;
      if (zoneOf(name)) { li.classList.add('placed'); li.setAttribute('aria-label', f.label + ' (' + text[zoneOf(name)] + ')'); }
    }
    li.addEventListener('dragstart', e => { e.dataTransfer.setData('text/plain', name); e.dataTransfer.effectAllowed = 'move'; });
    li.addEventListener('keydown', e => onKey(e, name));
    return li;
  }

  function dropTarget(el, zone) {
    el.addEventListener('dragover', e => { e.preventDefault(); el.classList.add('over'); });
    el.addEventListener('dragleave', () => el.classList.remove('over'));
    el.addEventListener('drop', e => {
      e.preventDefault(); el.classList.remove('over');
      const name = e.dataTransfer.getData('text/plain');
      if (!byName[name]) return;
      let index = null;
      const before = e.target.closest && e.target.closest('li.field');
      if (zone && before && before.dataset.name !== name && layout[zone].includes(before.dataset.name)) {
        index = layout[zone].filter(n => n !== name).indexOf(before.dataset.name);
      }
      place(name, zone, index);
    });
  }

  function render(focusName) {
    // Keep the keyboard focus where it was, if it was in the picker (a redraw replaces the elements).
    const active = root.getRootNode().activeElement;
    const inside = active && root.contains(active);
    const hadFocus = focusName || (inside && active.dataset && active.dataset.name) || null;
    const searchFocused = inside && active.tagName === 'INPUT';
    root.replaceChildren();
    const avail = document.createElement('div');
    avail.className = 'avail';
    avail.setAttribute('aria-label', text.available);
    const search = document.createElement('input');
    search.type = 'search'; search.placeholder = text.search; search.setAttribute('aria-label', text.search);
    search.value = state.search;
    avail.appendChild(search);
    const list = document.createElement('div');
    avail.appendChild(list);
    function fill() {
      list.replaceChildren();
      const q = state.search.trim().toLowerCase();
      let group = null, ul = null;
      fields.forEach(f => {
        if (q && !f.label.toLowerCase().includes(q) && !f.group.toLowerCase().includes(q)) return;
        if (f.group !== group) {
          group = f.group;
          const h = document.createElement('div'); h.className = 'theme'; h.textContent = group;
          ul = document.createElement('ul'); ul.setAttribute('role', 'list'); ul.setAttribute('aria-label', group);
          list.appendChild(h); list.appendChild(ul);
        }
        ul.appendChild(item(f.name, null));
      });
    }
    search.addEventListener('input', () => { state.search = search.value; fill(); });
    fill();
    dropTarget(avail, null);
    root.appendChild(avail);

    const zones = document.createElement('div');
    zones.className = 'zones';
    ZONES.forEach(z => {
      const box = document.createElement('div');
      box.className = 'zone'; box.dataset.zone = z; box.id = 'zone-' + z;
      const h = document.createElement('h4'); h.textContent = text[z];
      box.appendChild(h);
      const ul = document.createElement('ul'); ul.setAttribute('role', 'list'); ul.setAttribute('aria-label', text[z]);
      layout[z].forEach(n => ul.appendChild(item(n, z)));
      box.appendChild(ul);
      if (!layout[z].length) { const p = document.createElement('div'); p.className = 'hint'; p.textContent = text.empty; box.appendChild(p); }
      dropTarget(box, z);
      zones.appendChild(box);
    });
    root.appendChild(zones);
    const help = document.createElement('div'); help.className = 'help'; help.textContent = text.help;
    root.appendChild(help);
    if (searchFocused) { search.focus(); }
    else if (hadFocus) {
      const el = zones.querySelector('li.field[data-name="' + CSS.escape(hadFocus) + '"]')
              || list.querySelector('li.field[data-name="' + CSS.escape(hadFocus) + '"]');
      if (el) el.focus();
    }
  }
  render();
}
"""

_PICKER = st.components.v2.component("portal_field_picker", html=_HTML, css=_CSS, js=_JS)


def grouped_fields(codebook: Codebook, usable: Sequence[Variable], lang: str) -> list[dict]:
    """The fields as the picker lists them: in the codebook's theme order, labels in `lang`."""
    order = {theme.id: i for i, theme in enumerate(codebook.themes)}
    themes = {theme.id: theme.label(lang) for theme in codebook.themes}
    ranked = sorted(usable, key=lambda v: order.get(v.theme, len(order)))
    return [{"name": v.name, "label": v.label(lang), "group": themes.get(v.theme, v.theme)} for v in ranked]


def sent_layout(key: str) -> dict | None:
    """What the browser last sent: {"rows": [...], "cols": [...], "filters": [...]} (unchecked)."""
    value = st.session_state.get(key)
    sent = value.get("layout") if hasattr(value, "get") else getattr(value, "layout", None)
    return sent if isinstance(sent, dict) else None


def field_picker(key: str, fields: list[dict], rows: Sequence[str], cols: Sequence[str], filters: Sequence[str],
                 lang: str, on_change: Callable[[], None]) -> None:
    """Draw the picker with the current layout; `on_change` runs when the user changes it (read it
    with `sent_layout(key)`)."""
    text = {z: t(f"crosstab.zone.{z}", lang) for z in ZONES}
    text.update(search=t("crosstab.picker.search", lang), available=t("crosstab.picker.available", lang),
                empty=t("crosstab.picker.empty", lang), up=t("crosstab.picker.up", lang),
                down=t("crosstab.picker.down", lang), remove=t("crosstab.picker.remove", lang),
                help=t("crosstab.picker.help", lang))
    data = {"fields": fields, "text": text,
            "layout": {"rows": list(rows), "cols": list(cols), "filters": list(filters)}}
    _PICKER(key=key, data=data, default={"layout": None}, on_layout_change=on_change)
