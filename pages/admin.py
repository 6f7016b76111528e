"""Administration (admins only): the portal's user accounts, researchers' access requests and grants
(components/grants.py), the audit log, and data updates.

Accounts change through the same UserStore methods as the command-line tool (python -m scripts.users):
add (with a one-time password shown once, to hand over), disable or enable, change role, reset the
password; the last three end the user's sessions at their next interaction. A refused change says why
in the user's language and changes nothing. The audit log is read through core.auth.audit, filtered by user,
dataset and dates, and exported as CSV through core.query.export. Data updates (components/data_updates.py) load
KoBoToolbox/ODK exports through core.ingest, the functions of python -m scripts.ingest.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from components.auth import session_manager
from components.data_updates import data_updates
from components.grants import admin_panel, flash
from components.shell import context
from core.auth import audit
from core.auth.access import ROLES
from core.auth.users import UserError, UserStore, generate_password
from core.data import versions
from core.data.engine import load_codebook
from core.i18n import fmt_date, fmt_int, t
from core.query import export

AUDIT_ROWS_SHOWN = 500
# The audit log's columns in the order read: who did what and how much first, then which filters and columns.
SHOWN = ("id", "timestamp", "username", "role", "action", "subject", "grant_id", "format", "rows", "dataset",
         "filters", "columns", "detail")
_FLASH = "admin_flash"  # (kind, message, one-time password or None): shown once, on the next run


def render() -> None:
    ctx = context("admin")  # the router leaves this page out for other roles; checked again here
    if ctx is None:
        return
    lang = ctx.lang
    st.title(t("nav.admin", lang))
    store = session_manager().users
    flash(lang, _FLASH)
    st.header(t("admin.users", lang))
    users_table(store, lang)
    add_tab, change_tab = st.tabs([t("admin.add", lang), t("admin.change", lang)])
    with add_tab:
        add_form(store, lang)
    with change_tab:
        change_form(store, lang, ctx.session.username)
    st.header(t("grants.admin_title", lang))
    admin_panel(lang, ctx.session.username)
    st.header(t("admin.audit", lang))
    audit_log(lang)
    st.header(t("ingest.ui.title", lang))
    data_updates(lang, ctx.session.username)


def users_table(store: UserStore, lang: str) -> None:
    table = pd.DataFrame([{
        "username": u.username, "name": u.name, "role": t(f"auth.role.{u.role}", lang),
        "active": not u.disabled, "created": fmt_date(u.created_at.date(), lang),
    } for u in store.list_users()], columns=["username", "name", "role", "active", "created"])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "username": st.column_config.TextColumn(t("auth.username", lang)),
        "name": st.column_config.TextColumn(t("admin.name", lang)),
        "role": st.column_config.TextColumn(t("admin.role", lang)),
        "active": st.column_config.CheckboxColumn(t("admin.active", lang)),
        "created": st.column_config.TextColumn(t("admin.created", lang)),
    })


def _refused(error: UserError, lang: str) -> str:
    params = {k: ", ".join(v) if isinstance(v, list | tuple) else v for k, v in error.params.items()}
    return t(f"admin.error.{error.code}", lang, **params) if error.code in _ERRORS else t("admin.error.other", lang)


_ERRORS = ("invalid_username", "invalid_role", "invalid_name", "invalid_email", "user_exists", "unknown_user",
           "store_corrupt")


def add_form(store: UserStore, lang: str) -> None:
    with st.form("admin_add", clear_on_submit=True, border=False):
        left, right = st.columns(2)
        username = left.text_input(t("auth.username", lang), key="admin_add_username")
        name = right.text_input(t("admin.name", lang), key="admin_add_name")
        email = left.text_input(t("admin.email", lang), key="admin_add_email")
        role = right.selectbox(t("admin.role", lang), ROLES, key="admin_add_role",
                               format_func=lambda r: t(f"auth.role.{r}", lang))
        submitted = st.form_submit_button(t("admin.add_submit", lang), icon=":material/person_add:")
    if submitted:
        try:
            store.check_new_user(username, role=role, name=name or None, email=email or None)
            password = generate_password(username.strip().lower())
            user = store.add_user(username, password, role=role, name=name or None, email=email or None)
            st.session_state[_FLASH] = ("ok", t("admin.added", lang, username=user.username,
                                                role=t(f"auth.role.{user.role}", lang)), password)
        except UserError as e:
            st.session_state[_FLASH] = ("error", _refused(e, lang), None)
        st.rerun()


def change_form(store: UserStore, lang: str, me: str) -> None:
    users = store.list_users()
    if not users:
        return
    username = st.selectbox(t("auth.username", lang), [u.username for u in users], key="admin_change_user")
    user = store.get_user(username)
    st.caption(t("admin.current", lang, role=t(f"auth.role.{user.role}", lang),
                 status=t("admin.status.disabled" if user.disabled else "admin.status.active", lang)))
    yourself = username == me
    if yourself:
        st.info(t("admin.not_yourself", lang))
    left, middle, right = st.columns(3, vertical_alignment="bottom")
    role = left.selectbox(t("admin.role", lang), ROLES, index=ROLES.index(user.role), key="admin_change_role",
                          format_func=lambda r: t(f"auth.role.{r}", lang), disabled=yourself)
    if left.button(t("admin.set_role", lang), key="admin_set_role", disabled=yourself or role == user.role):
        apply(lambda: store.set_role(username, role), t("admin.role_set", lang, username=username,
                                                          role=t(f"auth.role.{role}", lang)), lang)
    if user.disabled:
        if middle.button(t("admin.enable", lang), key="admin_enable", icon=":material/lock_open:"):
            apply(lambda: store.enable(username), t("admin.enabled", lang, username=username), lang)
    elif middle.button(t("admin.disable", lang), key="admin_disable", icon=":material/block:", disabled=yourself):
        apply(lambda: store.disable(username), t("admin.disabled", lang, username=username), lang)
    if right.button(t("admin.reset", lang), key="admin_reset", icon=":material/key:", disabled=yourself):
        password = generate_password(username)
        apply(lambda: store.reset_password(username, password), t("admin.reset_done", lang, username=username),
              lang, password)


def apply(change, message: str, lang: str, password: str | None = None) -> None:
    try:
        change()
        st.session_state[_FLASH] = ("ok", message, password)
    except UserError as e:
        st.session_state[_FLASH] = ("error", _refused(e, lang), None)
    st.rerun()


def audit_log(lang: str) -> None:
    log = audit.AuditLog()
    everyone = ""
    left, middle, right = st.columns(3)
    username = left.selectbox(t("admin.audit_user", lang), [everyone, *log.usernames()], key="admin_audit_user",
                              format_func=lambda u: u or t("admin.audit_all", lang))
    dataset = middle.selectbox(t("admin.audit_dataset", lang), [everyone, *versions.datasets()], key="admin_audit_dataset",
                               format_func=lambda d: load_codebook(d).title(lang) if d else t("admin.audit_all", lang))
    period = right.date_input(t("admin.audit_dates", lang), value=(), key="admin_audit_dates",
                              max_value=dt.date.today() + dt.timedelta(days=1), format="YYYY-MM-DD")
    start, end = (tuple(period) + (None, None))[:2] if isinstance(period, tuple | list) else (period, period)
    entries = log.entries(username=username or None, dataset=dataset or None, start=start, end=end or start)
    st.caption(t("admin.audit_count", lang, n=fmt_int(len(entries), lang), shown=fmt_int(
        min(len(entries), AUDIT_ROWS_SHOWN), lang)))
    table = audit.as_table(entries)[list(SHOWN)]
    # Blank, not "None", where an entry has no subject, grant or detail (a view of an admin's, a load).
    table = table.astype({"grant_id": "string"}).fillna({"subject": "", "grant_id": "", "detail": ""})
    names = {c: t(f"admin.audit_col.{c}", lang) for c in SHOWN}
    screen = table.head(AUDIT_ROWS_SHOWN).assign(timestamp=lambda d: d["timestamp"].str[:19].str.replace("T", " "))
    st.dataframe(screen, hide_index=True, width="stretch",
                 column_config={c: st.column_config.Column(names[c]) for c in SHOWN})
    header = [(t("admin.audit", lang), t("admin.audit_file", lang)),
              (t("admin.audit_user", lang), username or t("admin.audit_all", lang)),
              (t("admin.audit_dataset", lang), dataset or t("admin.audit_all", lang)),
              (t("admin.audit_dates", lang), " – ".join(d.isoformat() for d in (start, end) if d)
               or t("admin.audit_all", lang))]
    st.download_button(t("admin.audit_csv", lang), data=lambda: export.to_csv(table.rename(columns=names), header),
                       file_name=f"audit_{dt.date.today().isoformat()}.csv", mime=export.MIME["csv"],
                       key="admin_audit_csv", on_click="ignore", icon=":material/download:")


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
