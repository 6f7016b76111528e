"""The crosstab builder's field picker: a searchable list of the dataset's questions, grouped by theme,
and three zones (Rows, Columns, Filters). A components-v2 component, inline HTML/CSS/JS, no build step
(reference/streamlit-notes.md 1.6 and 4).

Fields are dragged from the list to a zone, between zones and within one (to reorder). A click (or a
tap: phones have no drag and drop) or Enter on a field opens a small "Put in" menu: Rows, Columns,
Filters, Remove. Each placed field also has buttons to move it up, down or out.

Keyboard: the picker takes few Tab stops, one for the search box, one for the list and one per zone
that holds fields (the roving tabindex pattern): the arrow keys move inside a list or zone, Home and
End jump to its ends, Enter or Space opens the menu (arrows, Enter, Escape), R, C or F puts the field
in Rows, Columns or Filters at once, Alt+Up / Alt+Down reorders it in its zone, Delete takes it out.

What the browser sends back is a layout of field names only ({"rows": [...], "cols": [...],
"filters": [...], "seq": n}): the page checks every name against the codebook and the tier
(core.query.pivot.clean) and ignores the rest. Labels are written with textContent, never as HTML.

Colours are fixed, not taken from the theme, and measured against WCAG AA: text at least 4.5:1 on
its background, boundaries and the focus ring at least 3:1 (tests/unit/test_field_picker_contrast.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from core.data.codebook import Codebook, Variable
from core.i18n import t

ZONES = ("rows", "cols", "filters")

# The picker's colours, and which of them must stand out from which (tests/unit/test_field_picker_contrast.py).
COLOURS = {
    "text": "#1f2937",        # labels: 14.7:1 on white
    "muted": "#4b5563",       # theme headings, hints, help: 7.6:1 on white, 6.9:1 on the zones' grey
    "surface": "#ffffff",     # the list, the fields
    "zone": "#f3f4f6",        # the zones' background
    "border": "#6b7280",      # fields', zones', search box's boundaries: 4.8:1 on white
    "accent": "#1f5f99",      # the theme's primary colour: focus ring, drop target, hovered buttons
    "badge": "#e6eef6",       # "in Rows" badge of a placed field in the list
    "badge_text": "#1a4a78",
}
# (foreground, background, minimum ratio): 4.5 for text, 3 for boundaries and the focus ring.
CONTRAST_PAIRS = (
    ("text", "surface", 4.5), ("text", "zone", 4.5), ("muted", "surface", 4.5), ("muted", "zone", 4.5),
    ("badge_text", "badge", 4.5), ("accent", "surface", 4.5), ("border", "surface", 3.0),
    ("border", "zone", 3.0), ("accent", "zone", 3.0), ("accent", "badge", 3.0),
)

_HTML = "<div class='wrap'><div class='picker' role='group'></div></div>"

_CSS = """
.wrap { container-type: inline-size; }
.picker { display: grid; grid-template-columns: minmax(200px, 1fr) 2fr; gap: 12px;
          font-family: var(--st-font, sans-serif); font-size: 0.92rem; color: {text}; }
.avail { border: 1px solid {border}; border-radius: 8px; padding: 8px; max-height: 320px; overflow-y: auto;
         background: {surface}; }
.avail input { width: 100%; box-sizing: border-box; padding: 6px 8px; margin-bottom: 6px; color: {text};
               background: {surface}; border: 1px solid {border}; border-radius: 6px; font: inherit; }
.avail input::placeholder { color: {muted}; opacity: 1; }
.theme { font-weight: 600; font-size: 0.8rem; text-transform: uppercase; letter-spacing: .03em;
         color: {muted}; margin: 8px 2px 2px; }
.zones { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; align-content: start; }
.zone { border: 2px dashed {border}; border-radius: 8px; padding: 6px; min-height: 72px; background: {zone};
        min-width: 0; }
.zone.over, .avail.over { border-color: {accent}; border-style: solid; }
.zone h4 { margin: 0 0 4px; font-size: 0.9rem; color: {text}; }
.zone .hint { color: {muted}; font-size: 0.8rem; }
ul { list-style: none; margin: 0; padding: 0; }
li.field { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 4px; padding: 4px 6px; margin: 3px 0;
           border-radius: 6px; background: {surface}; color: {text}; border: 1px solid {border};
           cursor: pointer; line-height: 1.25; }
li.field .name { flex: 1 1 6em; min-width: 0; overflow-wrap: anywhere; }
li.field .badge { font-size: 0.75rem; padding: 0 6px; border-radius: 9px; background: {badge}; color: {badge_text}; }
li.field button { border: none; background: transparent; cursor: pointer; padding: 0 3px; font: inherit;
                  color: {muted}; }
li.field button:hover { color: {accent}; }
li.field:focus-visible, button:focus-visible, .avail input:focus-visible, .menu button:focus-visible {
    outline: 3px solid {accent}; outline-offset: 2px; }
li.field:focus, .avail input:focus { outline: 3px solid {accent}; outline-offset: 1px; }
li.menu-row { margin: 2px 0 6px; }
.menu { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; font-size: 0.85rem; color: {muted}; }
.menu button { border: 1px solid {border}; border-radius: 6px; background: {surface}; color: {text};
               padding: 3px 8px; font: inherit; cursor: pointer; }
.menu button:hover { border-color: {accent}; color: {accent}; }
.help { grid-column: 1 / -1; color: {muted}; font-size: 0.8rem; margin: 0; }
@container (max-width: 620px) {
  .picker { grid-template-columns: 1fr; }
  .avail { max-height: 230px; }
}
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
  const state = parentElement.__picker || (parentElement.__picker = { search: '', seq: 0, drawn: null, cursor: null });
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

  // Roving tabindex: one field of a list or zone is in the Tab order, the arrows move between them.
  function siblings(li) { return [...li.closest('.avail, .zone').querySelectorAll('li.field')]; }
  function rove(li) {
    siblings(li).forEach(other => { other.tabIndex = -1; });
    li.tabIndex = 0;
    if (!li.closest('.zone')) state.cursor = li.dataset.name;
  }
  function go(li) { if (li) { rove(li); li.focus(); li.scrollIntoView({ block: 'nearest' }); } }

  function closeMenu(refocus) {
    const open = root.querySelector('li.menu-row');
    if (!open) return;
    const owner = open.previousElementSibling;
    open.remove();
    if (owner) owner.setAttribute('aria-expanded', 'false');
    if (refocus && owner) owner.focus();
  }

  // "Put in": the zones the field is not in, and Remove when it is placed. Arrows, Enter, Escape.
  function openMenu(li, name) {
    const wasOpen = li.getAttribute('aria-expanded') === 'true';
    closeMenu(false);
    if (wasOpen) { li.focus(); return; }
    const zone = zoneOf(name);
    const row = document.createElement('li');
    row.className = 'menu-row'; row.setAttribute('role', 'none');
    const menu = document.createElement('div');
    menu.className = 'menu'; menu.setAttribute('role', 'menu');
    menu.setAttribute('aria-label', text.put + ' ' + byName[name].label);
    const lead = document.createElement('span'); lead.textContent = text.put; lead.setAttribute('aria-hidden', 'true');
    menu.appendChild(lead);
    const items = [];
    const entry = (label, act) => {
      const b = document.createElement('button');
      b.type = 'button'; b.textContent = label; b.tabIndex = -1; b.setAttribute('role', 'menuitem');
      b.addEventListener('click', e => { e.stopPropagation(); act(); });
      menu.appendChild(b); items.push(b);
    };
    ZONES.filter(z => z !== zone).forEach(z => entry(text[z], () => place(name, z)));
    if (zone) entry(text.remove, () => place(name, null));
    menu.addEventListener('keydown', e => {
      e.stopPropagation();
      const i = items.indexOf(root.getRootNode().activeElement);
      const to = j => { items[(j + items.length) % items.length].focus(); e.preventDefault(); };
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') to(i + 1);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') to(i - 1);
      else if (e.key === 'Home') to(0);
      else if (e.key === 'End') to(items.length - 1);
      else if (e.key === 'Escape') { closeMenu(true); e.preventDefault(); }
      else if (e.key === 'Tab') closeMenu(false);
    });
    menu.addEventListener('focusout', e => { if (!row.contains(e.relatedTarget)) closeMenu(false); });
    row.appendChild(menu);
    li.after(row);
    li.setAttribute('aria-expanded', 'true');
    items[0].focus();
  }

  function onKey(e, li, name) {
    const key = e.key.toLowerCase();
    // Streamlit binds R (rerun) and C (clear caches) on the page: a key meant for the picker must not
    // reach them, or the rerun races the layout just sent.
    if (!e.ctrlKey && !e.metaKey && ['r', 'c', 'f'].includes(key)) e.stopPropagation();
    const list = siblings(li), i = list.indexOf(li);
    if (e.altKey && e.key === 'ArrowUp') { move(name, -1); e.preventDefault(); }
    else if (e.altKey && e.key === 'ArrowDown') { move(name, 1); e.preventDefault(); }
    else if (e.ctrlKey || e.metaKey || e.altKey) return;
    else if (e.key === 'ArrowDown' || e.key === 'ArrowRight') { go(list[i + 1]); e.preventDefault(); }
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') {
      if (i === 0 && !li.closest('.zone')) root.querySelector('.avail input').focus(); else go(list[i - 1]);
      e.preventDefault();
    }
    else if (e.key === 'Home') { go(list[0]); e.preventDefault(); }
    else if (e.key === 'End') { go(list[list.length - 1]); e.preventDefault(); }
    else if (e.key === 'Enter' || e.key === ' ') { openMenu(li, name); e.preventDefault(); }
    else if (key === 'r') { place(name, 'rows'); e.preventDefault(); }
    else if (key === 'c') { place(name, 'cols'); e.preventDefault(); }
    else if (key === 'f') { place(name, 'filters'); e.preventDefault(); }
    else if ((e.key === 'Delete' || e.key === 'Backspace') && zoneOf(name)) { place(name, null); e.preventDefault(); }
  }

  function button(label, title, act) {
    const b = document.createElement('button');
    b.type = 'button'; b.textContent = label; b.title = title; b.setAttribute('aria-label', title);
    b.tabIndex = -1;  // the keyboard has Alt+arrows and Delete on the field itself
    b.addEventListener('click', e => { e.stopPropagation(); act(); });
    return b;
  }

  function item(name, zone) {
    const f = byName[name];
    const li = document.createElement('li');
    li.className = 'field'; li.draggable = true; li.tabIndex = -1;
    li.dataset.name = name;
    li.setAttribute('role', 'listitem');
    li.setAttribute('aria-haspopup', 'menu'); li.setAttribute('aria-expanded', 'false');
    li.setAttribute('aria-describedby', 'picker-help');
    const span = document.createElement('span');
    span.className = 'name'; span.textContent = f.label;
    li.appendChild(span);
    const placed = zone || zoneOf(name);
    li.setAttribute('aria-label', placed ? f.label + ' (' + text[placed] + ')' : f.label);
    if (zone) {
      li.appendChild(button('\\u2191', text.up, () => move(name, -1)));
      li.appendChild(button('\\u2193', text.down, () => move(name, 1)));
      li.appendChild(button('\\u2715', text.remove, () => place(name, null)));
    } else {
      li.title = f.group;
      if (placed) {
        const badge = document.createElement('span');
        badge.className = 'badge'; badge.textContent = text[placed]; badge.setAttribute('aria-hidden', 'true');
        li.appendChild(badge);
      }
    }
    li.addEventListener('dragstart', e => { closeMenu(false); e.dataTransfer.setData('text/plain', name); e.dataTransfer.effectAllowed = 'move'; });
    li.addEventListener('keydown', e => onKey(e, li, name));
    li.addEventListener('focus', () => rove(li));
    li.addEventListener('click', () => { rove(li); openMenu(li, name); });
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

  function firstInTabOrder(container, wanted) {
    const items = [...container.querySelectorAll('li.field')];
    const li = items.find(x => x.dataset.name === wanted) || items[0];
    if (li) li.tabIndex = 0;
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
    avail.setAttribute('role', 'region');
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
          h.setAttribute('aria-hidden', 'true');
          ul = document.createElement('ul'); ul.setAttribute('role', 'list'); ul.setAttribute('aria-label', group);
          list.appendChild(h); list.appendChild(ul);
        }
        ul.appendChild(item(f.name, null));
      });
      firstInTabOrder(list, state.cursor);
    }
    search.addEventListener('input', () => { state.search = search.value; fill(); });
    search.addEventListener('keydown', e => {
      if (e.key === 'ArrowDown') { const li = list.querySelector('li.field[tabindex="0"]'); if (li) { li.focus(); e.preventDefault(); } }
      else if (['r', 'c', 'f'].includes(e.key.toLowerCase())) e.stopPropagation();  // typing, not Streamlit's keys
    });
    fill();
    dropTarget(avail, null);
    root.appendChild(avail);

    const zones = document.createElement('div');
    zones.className = 'zones';
    ZONES.forEach(z => {
      const box = document.createElement('div');
      box.className = 'zone'; box.dataset.zone = z; box.id = 'zone-' + z;
      box.setAttribute('role', 'region'); box.setAttribute('aria-label', text[z]);
      const h = document.createElement('h4'); h.textContent = text[z]; h.setAttribute('aria-hidden', 'true');
      box.appendChild(h);
      const ul = document.createElement('ul'); ul.setAttribute('role', 'list'); ul.setAttribute('aria-label', text[z]);
      layout[z].forEach(n => ul.appendChild(item(n, z)));
      box.appendChild(ul);
      if (!layout[z].length) { const p = document.createElement('div'); p.className = 'hint'; p.textContent = text.empty; box.appendChild(p); }
      firstInTabOrder(ul, hadFocus);
      dropTarget(box, z);
      zones.appendChild(box);
    });
    root.appendChild(zones);
    const help = document.createElement('p'); help.className = 'help'; help.id = 'picker-help'; help.textContent = text.help;
    root.appendChild(help);
    if (searchFocused) { search.focus(); }
    else if (hadFocus) {
      const el = zones.querySelector('li.field[data-name="' + CSS.escape(hadFocus) + '"]')
              || list.querySelector('li.field[data-name="' + CSS.escape(hadFocus) + '"]');
      if (el) { rove(el); el.focus(); }
    }
  }
  render();
}
"""


def _css() -> str:
    css = _CSS
    for name, value in COLOURS.items():
        css = css.replace("{" + name + "}", value)
    return css


_PICKER = st.components.v2.component("portal_field_picker", html=_HTML, css=_css(), js=_JS)


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
                help=t("crosstab.picker.help", lang), put=t("crosstab.picker.put", lang))
    data = {"fields": fields, "text": text,
            "layout": {"rows": list(rows), "cols": list(cols), "filters": list(filters)}}
    _PICKER(key=key, data=data, default={"layout": None}, on_layout_change=on_change)
