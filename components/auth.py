"""Sign-in for researchers and administrators: streamlit-authenticator behind the one interface the
rest of the portal uses, `current_session()` and `sign_in_panel()`.

What we keep of the library (0.4.2): its login cookie (an HS256 JWT written by its cookie manager),
so that a reload or a new tab stays signed in. What we do instead of it, and why (design.md,
Authentication; the checks themselves live in core.auth.sessions and core.auth.throttle):
  * our own sign-in form, checked on the server through SessionManager.authenticate: throttled per
    username and client address (behind a trusted proxy, from X-Forwarded-For: core.auth.proxies), bcrypt only, no password stripping, no hints, no lock-out for good;
  * no `login()` call, hence none of its 0.7 s sleep on anonymous reruns, and of its cookie manager
    (extra-streamlit-components, an iframe) only the write, drawn while a cookie is written or deleted,
    not the reader that reports the browser's cookies (the cookie is read on the server, from
    st.context.cookies): one extra rerun per sign-in or sign-out (`_cookie_writer`);
  * every rerun re-checks the session against the user store (disabled, role changed, revoked) and the
    idle and absolute timeouts; logout revokes on the server, so a replayed cookie does not sign in;
  * without a cookie key of 32 bytes or more the portal serves the public tier and offers no sign-in,
    and says why in the log for the operator.

Session-state keys: `portal_session` (core.auth.sessions.Session or None), the form's
`signin_username`/`signin_password`, `portal_auth_notice` (the message key shown in the account block)
and `portal_cookie_write` (a login-cookie write or deletion in progress). The library
writes its own keys (name, authentication_status, username, email, roles, logout, init); we set them
as it would, so that anything reading them agrees with us.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import streamlit as st
from extra_streamlit_components import CookieManager
from extra_streamlit_components.CookieManager import _component_func as _COOKIE_COMPONENT

from components.shell import link_to
from core.auth.proxies import client_address, trusted_proxies
from core.auth.sessions import (
    LoginRefused,
    Session,
    SessionEnded,
    SessionManager,
    SessionPolicy,
    cookie_settings,
)
from core.auth.users import UserStore
from core.i18n import t, tn
from core.settings import MissingSecret

log = logging.getLogger(__name__)

SESSION = "portal_session"
NOTICE = "portal_auth_notice"
COOKIE_WRITE = "portal_cookie_write"
# How long a cookie write stays drawn. The cookie manager reports the browser's cookies as soon as it is
# first drawn, which reruns the script at once; a component not drawn again in that rerun is removed,
# sometimes before its script has written the cookie. Drawn again with the same arguments it is left
# alone, so it is kept on the page, unchanged, for a while.
COOKIE_WRITE_SECONDS = 10.0
# Why a session ended -> what the user is told (None: nothing, e.g. a stale cookie on a new visit).
_ENDED_NOTICE = {"idle_timeout": "auth.session_expired", "absolute_timeout": "auth.session_expired",
                 "cookie_expired": "auth.session_expired", "revoked": "auth.signed_out_elsewhere",
                 "disabled": "auth.signed_out_elsewhere", "role_changed": "auth.signed_out_elsewhere",
                 "unknown_user": "auth.signed_out_elsewhere", "store_unavailable": "auth.login_failed_server"}


@st.cache_resource(show_spinner=False)
def session_manager() -> SessionManager | None:
    """The process's session manager, or None when sign-in is not configured (public tier only)."""
    try:
        cookie = cookie_settings()
    except MissingSecret as e:
        log.warning("Sign-in is off, the portal serves the public tier only: %s", e)
        return None
    return SessionManager(UserStore(), policy=SessionPolicy.from_env(), cookie=cookie)


def _cookie_writer() -> CookieManager:
    """The cookie manager streamlit-authenticator writes its cookie with (extra-streamlit-components), for
    its `set` and `delete` only. Its constructor (and so the library's Authenticate) also draws a `getAll`
    component, which reports every cookie of the browser when it is first drawn and again whenever it is
    redrawn and they have changed: each report a rerun nobody asked for, sometimes seconds after a sign-in,
    under a click on the page. The cookie is read on the server (st.context.cookies), so that component is
    left out: the write's own report (`true`) is the one rerun a sign-in or sign-out adds."""
    writer = CookieManager.__new__(CookieManager)
    writer.cookie_manager = _COOKIE_COMPONENT
    writer.cookies = {}
    return writer


def _sign_in_state(session: Session | None) -> None:
    """Mirror a session (or none) into the library's session-state keys."""
    s = st.session_state
    s[SESSION] = session
    s["authentication_status"] = True if session else None
    s["username"] = session.username if session else None
    s["name"] = session.name if session else None
    s["roles"] = [session.role] if session else None


def _end(code: str | None) -> None:
    _sign_in_state(None)
    st.session_state["logout"] = True  # the library's flag: never read the old cookie again here
    st.session_state[COOKIE_WRITE] = "delete"
    if code is not None:
        st.session_state[NOTICE] = _ENDED_NOTICE.get(code)


def current_session() -> Session | None:
    """The signed-in session of this rerun, checked on the server; None for the public tier.

    Call once per rerun, in the router, before the navigation is built."""
    manager = session_manager()
    if manager is None:
        return None
    s = st.session_state
    session = s.get(SESSION)
    try:
        if session is not None:
            session = manager.touch(session)
        elif not s.get("logout"):
            token = st.context.cookies.get(manager.cookie.name)
            if isinstance(token, str):  # AppTest's cookies are mocks
                session = manager.resume(token)
    except SessionEnded as e:
        log.info("session ended: %s", e.code)
        _end(e.code)
        session = None
    else:
        if session is not None:
            _sign_in_state(session)
    _sync_cookie(manager)
    return session


def _sync_cookie(manager: SessionManager) -> None:
    """Write or delete the login cookie through the library's cookie manager, when asked to, and keep
    the write drawn for COOKIE_WRITE_SECONDS."""
    s = st.session_state
    write = s.get(COOKIE_WRITE)
    if not write:
        return
    cookies = _cookie_writer()
    name = manager.cookie.name
    if write == "set" and s.get(SESSION) is not None:
        token, exp_date, s[SESSION] = manager.issue_cookie(s[SESSION])
        write = {"op": "set", "token": token, "expires": datetime.fromtimestamp(exp_date)}
    elif write == "delete":
        write = {"op": "delete"}
    if not isinstance(write, dict):
        s.pop(COOKIE_WRITE, None)
        return
    write.setdefault("until", time.monotonic() + COOKIE_WRITE_SECONDS)
    s[COOKIE_WRITE] = write
    if write["op"] == "set":
        cookies.set(name, write["token"], expires_at=write["expires"])
    else:
        try:
            cookies.delete(name)
        except KeyError:  # the writer keeps no copy of the cookies (no `getAll`); the browser's is deleted
            pass
    if time.monotonic() > write["until"]:
        s.pop(COOKIE_WRITE)


def _client_address() -> str | None:
    """The address the sign-in throttle counts: the visitor's, from X-Forwarded-For only when the direct
    peer is a proxy listed in PORTAL_TRUSTED_PROXIES (core.auth.proxies)."""
    return client_address(st.context.ip_address, st.context.headers.get_all("X-Forwarded-For"), trusted_proxies())


def _on_sign_in() -> None:
    """The form's callback: runs before the rerun draws, so the navigation already has the new role."""
    s = st.session_state
    manager = session_manager()
    username, password = s.get("signin_username") or "", s.get("signin_password") or ""
    s["signin_password"] = ""
    s["logout"] = False
    s[NOTICE] = None
    try:
        user = manager.authenticate(username, password, _client_address())
    except LoginRefused as e:
        s["authentication_status"] = False
        s[NOTICE] = {"throttled": "auth.too_many_attempts", "bad_credentials": "auth.wrong_credentials",
                     "unavailable": "auth.login_failed_server"}[e.code]
        s["portal_auth_wait"] = max(1, round(e.wait))
        return
    s["signin_username"] = ""
    _sign_in_state(manager.start(user))
    s[COOKIE_WRITE] = "set"


def _on_sign_out() -> None:
    s = st.session_state
    manager = session_manager()
    if s.get(SESSION) is not None and manager is not None:
        manager.logout(s[SESSION])
    _end(None)
    s[NOTICE] = "auth.signed_out"


def _notice(lang: str) -> None:
    # Kept until the next sign-in attempt: the cookie manager's own rerun must not wipe it at once.
    key = st.session_state.get(NOTICE)
    if not key:
        return
    wait = st.session_state.get("portal_auth_wait", 0)
    if key == "auth.too_many_attempts":
        st.error(tn(key, wait, lang))
    elif key in ("auth.wrong_credentials", "auth.login_failed_server"):
        st.error(t(key, lang))
    else:
        st.info(t(key, lang))


def sign_in_panel(lang: str, form: bool = True) -> None:
    """The sidebar's account block: who is signed in and a sign-out button, or the sign-in form (or,
    `form` False, a pointer to the form that the page itself shows: `restricted_page`)."""
    manager = session_manager()
    session = st.session_state.get(SESSION)
    with st.sidebar:
        st.subheader(t("nav.section.account", lang))
        _notice(lang)
        if manager is None:
            st.caption(t("auth.login_unavailable", lang))
            return
        if session is not None:
            st.caption(t("auth.signed_in_as", lang, name=session.name, role=t(f"auth.role.{session.role}", lang)))
            st.button(t("nav.sign_out", lang), key="signout", on_click=_on_sign_out)
        elif form:
            _sign_in_form(lang)
        else:
            st.caption(t("auth.sign_in_on_page", lang))


def _sign_in_form(lang: str) -> None:
    with st.form("signin", border=False):
        st.caption(t("auth.intro", lang))
        st.text_input(t("auth.username", lang), key="signin_username", autocomplete="username")
        st.text_input(t("auth.password", lang), key="signin_password", type="password",
                      autocomplete="current-password")
        st.form_submit_button(t("auth.submit", lang), on_click=_on_sign_in)
    link_to("access", t("access.link", lang))


def restricted_page(heading: str, role: str, lang: str) -> None:
    """What the URL of a page this visitor may not open shows (the router routes it to this, never to
    the page's module): the page's title, which role it needs, and the sign-in form for a visitor not
    signed in, so that a researcher's link to /microdata works after signing in on the spot."""
    st.title(heading)
    needed = t(f"auth.role.{role}", lang)
    if st.session_state.get(SESSION) is not None:
        st.warning(t("auth.needs_role", lang, role=needed), icon=":material/lock:")
        return
    st.info(t("auth.needs_sign_in", lang, role=needed), icon=":material/lock:")
    if session_manager() is None:
        st.caption(t("auth.login_unavailable", lang))
        return
    with st.container(border=True, width=420):
        _sign_in_form(lang)
