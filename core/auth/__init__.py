"""Who may do what.

    access    roles (public, researcher, admin) and which pages each may open
    users     the user store (users.yaml): accounts, password hashes, one-time passwords, locking
    sessions  sign-in sessions: sign in and out, idle and absolute time-outs, cookies
    throttle  slowing down password guessing, per account and per address
    proxies   the client's address behind a trusted reverse proxy (X-Forwarded-For), for the throttle
    audit     the audit log (SQLite): every page of rows shown and every file made, and admin actions
    grants    researcher access: requests, grants per dataset with an expiry, terms of use (in the
              audit log's SQLite file); a researcher's tier of each dataset

With PORTAL_DATABASE_URL set (several replicas), users, the throttle's counters, the idle-session registry,
the audit log and grants live in PostgreSQL instead, behind the same interfaces (core/shared_state.py).

Imports only the foundation (core.settings, core.i18n, core.pages). No Streamlit here: the sign-in form
is components/auth.py.
"""
