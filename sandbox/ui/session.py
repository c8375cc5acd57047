"""Who is looking at the portal UI: the portal named by the Host header, the logged-in user, the language."""

from __future__ import annotations

from flask import abort, request

from sandbox.state import Portal, User
from sandbox.web import current_portal

USER_COOKIE = "sandbox_user_id"
LANG_COOKIE = "sandbox_lang"


def portal_or_404() -> Portal:
    """Return the portal the Host header names; other hosts (the OAuth server) have no UI."""
    portal = current_portal()
    if portal is None:
        abort(404, description="No portal answers on this host")
    return portal


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def current_user(portal: Portal) -> User:
    """Return the user chosen by ?user_id= or the cookie; the portal owner (admin) by default."""
    for value in (request.args.get("user_id"), request.cookies.get(USER_COOKIE)):
        user = portal.users.get(_int(value) or 0)
        if user is not None and user.active:
            return user
    return portal.admin


def current_lang(portal: Portal) -> str:
    """Return the UI language: ?lang= or the cookie when installed on the portal, else the portal's."""
    for value in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value and value in portal.languages:
            return value
    return portal.language
