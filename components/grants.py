"""Researcher access in the portal's screens (core.auth.grants does the work): the caller's access to
the chosen dataset for the router, the terms-of-use screen a researcher meets at the first sign-in after
a grant, the message of an access that ended, and the admin's pending requests and grants.

A refused decision says why in the admin's language and changes nothing; a one-time password is shown
once, in the outcome of the approval that made the account (as the admin page's own user creation).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.auth.grants import ALL, FIELD_KEYS, Access, Grant, GrantError, Grants, terms_text, today
from core.auth.sessions import Session
from core.data import versions
from core.data.engine import dataset_name
from core.figures.text import plain_markdown
from core.i18n import fmt_date, t, tn

_FLASH = "grants_flash"  # (kind, message, one-time password or None): the outcome of the last decision


def store() -> Grants:
    return Grants()


def refused(error: GrantError, lang: str) -> str:
    """A GrantError in the user's language."""
    return error.message(lang)


def current_access(session: Session | None, dataset: str) -> Access:
    """The caller's access to `dataset` now (the public tier without a session: no database read)."""
    if session is None:
        return Access("public")
    return store().access(session.username, session.role, dataset)


def _dataset_label(dataset: str, lang: str) -> str:
    return t("grants.all_datasets", lang) if dataset == ALL else dataset_name(dataset, lang)


def access_notice(lang: str, access: Access | None, dataset: str, session: Session | None) -> None:
    """A researcher back at the public tier of this dataset is told why, on every page: the access that
    ended (a warning), or none granted (a line under the account block)."""
    if session is None or session.role != "researcher" or access is None:
        return
    name = dataset_name(dataset, lang)
    if access.ended is not None and access.tier == "public":
        st.warning(t("grants.ended", lang, dataset=name, date=fmt_date(access.ended.expires_on, lang)),
                   icon=":material/lock_clock:")
    elif access.tier == "public" and not access.terms_due:  # terms due: the terms screen says it all
        st.sidebar.caption(t("grants.none", lang, dataset=name))
    elif access.grant is not None and access.grant.expires_on is not None:
        st.sidebar.caption(t("grants.until", lang, dataset=name, date=fmt_date(access.grant.expires_on, lang)))


# -- terms of use at sign-in -------------------------------------------------------------------------


def terms_gate(lang: str, session: Session | None) -> bool:
    """The terms-of-use screen, drawn instead of the page while a researcher has grants whose terms are
    not accepted; True when it was drawn (the router then runs no page)."""
    if session is None or session.role != "researcher":
        return False
    grants = store()
    due = grants.terms_due(session.username)
    if not due:
        return False
    st.title(t("grants.terms_title", lang))
    st.info(t("grants.terms_intro", lang), icon=":material/gavel:")
    for grant in due:
        title = _dataset_label(grant.dataset, lang)
        with st.container(border=True):
            st.subheader(t("grants.terms_grant", lang, dataset=title, date=_last_day(grant, lang)))
            st.markdown(terms_text(grant.dataset, lang, title))
    if st.button(t("grants.terms_accept", lang), key="grants_accept_terms", type="primary",
                 icon=":material/check:"):
        grants.accept_terms(session.username, [g.id for g in due])
        st.rerun()
    return True


def _last_day(grant: Grant, lang: str) -> str:
    return fmt_date(grant.expires_on, lang) if grant.expires_on else t("grants.no_end", lang)


# -- the admin's screens -----------------------------------------------------------------------------


def admin_panel(lang: str, admin: str) -> None:
    """Pending requests (approve with an expiry and the datasets granted, or refuse with a reason), then
    every grant, with a way to extend one."""
    grants = store()
    flash(lang)
    pending = grants.pending()
    if not pending:
        st.caption(t("grants.pending_none", lang))
    else:
        st.caption(tn("grants.pending_count", len(pending), lang))
    known = versions.datasets()
    for request in pending:
        label = t("grants.request_label", lang, id=request.id, name=plain_markdown(request.name),
                  organisation=plain_markdown(request.organisation), date=request.created_at[:10])
        with st.expander(label, icon=":material/person_search:"):
            for field, value in (("email", request.email), ("purpose", request.purpose),
                                 ("datasets", ", ".join(dataset_name(d, lang) for d in request.datasets)),
                                 ("until", fmt_date(request.until, lang))):
                st.markdown(f"**{t(FIELD_KEYS[field], lang)}**")
                st.text(value)  # what a visitor typed: never read as Markdown
            _decide(grants, request, lang, admin, known)
    st.subheader(t("grants.list", lang))
    grant_table(grants, lang, admin)


def _decide(grants: Grants, request, lang: str, admin: str, known: list[str]) -> None:
    key = f"grants_{request.id}"
    with st.form(key, border=False):
        left, right = st.columns(2)
        chosen = left.multiselect(t("grants.datasets_granted", lang), known, key=f"{key}_datasets",
                                  default=[d for d in request.datasets if d in known],
                                  format_func=lambda d: dataset_name(d, lang),
                                  placeholder=t("access.datasets_placeholder", lang))
        expires = right.date_input(t("grants.field.expires", lang), value=max(request.until, today()),
                                   key=f"{key}_expires", format="YYYY-MM-DD")
        approve = st.form_submit_button(t("grants.approve", lang), icon=":material/check:", type="primary")
        reason = st.text_input(t("grants.reason", lang), key=f"{key}_reason")
        refuse = st.form_submit_button(t("grants.refuse", lang), icon=":material/block:")
    if approve:
        try:
            done = grants.approve(request.id, admin=admin, expires=expires, datasets=chosen, known=known)
            day = fmt_date(expires, lang)
            message = (t("grants.approved_new", lang, id=request.id, username=done.username, date=day)
                       if done.password else
                       t("grants.approved_existing", lang, id=request.id, username=done.username, date=day))
            st.session_state[_FLASH] = ("ok", message, done.password)
        except GrantError as e:
            st.session_state[_FLASH] = ("error", refused(e, lang), None)
        st.rerun()
    if refuse:
        try:
            grants.refuse(request.id, admin=admin, reason=reason)
            st.session_state[_FLASH] = ("ok", t("grants.refused", lang, id=request.id), None)
        except GrantError as e:
            st.session_state[_FLASH] = ("error", refused(e, lang), None)
        st.rerun()


def flash(lang: str, key: str = _FLASH) -> None:
    """The outcome of the last change kept under `key`, once; a one-time password is in it and nowhere
    else (the admin page's user changes use it too, under their own key)."""
    found = st.session_state.pop(key, None)
    if found is None:
        return
    kind, message, password = found
    (st.success if kind == "ok" else st.error)(message)
    if password:
        st.warning(t("admin.otp_note", lang), icon=":material/key:")
        st.code(password, language=None)


def grant_table(grants: Grants, lang: str, admin: str) -> None:
    found = grants.grants()
    day = today()

    def status(g: Grant) -> str:
        if g.expired(day):
            return t("grants.status.expired", lang)
        return t("grants.status.active" if g.terms_accepted_at else "grants.status.terms_due", lang)

    table = pd.DataFrame([{"id": g.id, "username": g.username, "dataset": _dataset_label(g.dataset, lang),
                           "expires": _last_day(g, lang), "status": status(g), "granted_by": g.granted_by}
                          for g in reversed(found)],
                         columns=["id", "username", "dataset", "expires", "status", "granted_by"])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.Column(t(f"grants.col.{c}", lang)) for c in table.columns})
    if not found:
        return
    left, middle, right = st.columns(3, vertical_alignment="bottom")
    chosen = left.selectbox(t("grants.extend_grant", lang), [g.id for g in reversed(found)], key="grants_extend_id",
                            format_func=lambda i: next(f"{i} · {g.username} · {_dataset_label(g.dataset, lang)}"
                                                       for g in found if g.id == i))
    until = middle.date_input(t("grants.field.expires", lang), value=day + dt.timedelta(days=90),
                              key="grants_extend_until", format="YYYY-MM-DD")
    if right.button(t("grants.extend", lang), key="grants_extend", icon=":material/update:"):
        try:
            grants.extend(chosen, until, admin=admin)
            st.session_state[_FLASH] = ("ok", t("grants.extended", lang, id=chosen, date=fmt_date(until, lang)),
                                        None)
        except GrantError as e:
            st.session_state[_FLASH] = ("error", refused(e, lang), None)
        st.rerun()
