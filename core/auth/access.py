"""Who may see what: roles, the data tier each role queries with, and the pages each role may open.

The role comes from the server-side login session (core.auth.sessions), never from the browser. The router
builds its navigation from `can_open`: a page a role may not see is not in its menu, and its URL runs only
the sign-in request (components.auth.restricted_page), never the page's module; every internal page asks
`can_open` again when it draws (design.md, Layout).
"""

from __future__ import annotations

from core.pages import PAGES

# The roles a user may have, the least first: each includes the ones before it (an admin is also a
# researcher). The only definition of the roles: core.auth.users, the admin page and scripts/users.py read it.
ROLES = ("researcher", "admin")
_RANK = {None: 0, **{role: rank for rank, role in enumerate(ROLES, start=1)}}

# The least role that may open each internal page (core/pages.py); pages not listed are public.
PAGE_ROLES = {page.id: page.role for page in PAGES if page.role}


def tier_for(role: str | None) -> str:
    """The data tier of core.query for a role: anonymous visitors get the protected public tier. The most
    a role may have: a researcher has it of a dataset only under an unexpired grant of that dataset
    (core.auth.grants.Grants.access, which the router asks)."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return role or "public"


def has_role(role: str | None, least: str | None) -> bool:
    """True when `role` is `least` or above it (None: anonymous)."""
    return _RANK.get(role, -1) >= _RANK[least]


def can_open(page: str, role: str | None) -> bool:
    return has_role(role, PAGE_ROLES.get(page))
