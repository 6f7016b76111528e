"""Administration (admins only): the portal's user accounts. Managing them from this page comes next;
until then the command-line tool does (python -m scripts.users)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.auth import session_manager
from components.shell import context
from core.i18n import fmt_date, t


def render() -> None:
    ctx = context("admin")  # the router leaves this page out for other roles; checked again here
    if ctx is None:
        return
    lang = ctx.lang
    st.title(t("nav.admin", lang))
    st.header(t("admin.users", lang))
    users = session_manager().users.list_users()
    table = pd.DataFrame([{
        "username": u.username, "name": u.name, "role": t(f"auth.role.{u.role}", lang),
        "active": not u.disabled, "created": fmt_date(u.created_at.date(), lang),
    } for u in users], columns=["username", "name", "role", "active", "created"])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "username": st.column_config.TextColumn(t("auth.username", lang)),
        "name": st.column_config.TextColumn(t("admin.name", lang)),
        "role": st.column_config.TextColumn(t("admin.role", lang)),
        "active": st.column_config.CheckboxColumn(t("admin.active", lang)),
        "created": st.column_config.TextColumn(t("admin.created", lang)),
    })
    st.caption(t("admin.cli_hint", lang))


if __name__ == "__main__":  # run as a script, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router()
