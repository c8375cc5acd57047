"""Identity methods: app.info, user.current/get/search, user.admin, profile, scope, server.time (§7)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sandbox.core import METHODS, CallContext, ListResult, RestError, method
from sandbox.state import User


@method("app.info", scope="basic")
def app_info(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Describe the calling app on this portal: no member_id, domain or user (notes §7)."""
    app = ctx.require_app()
    portal = ctx.portal
    return {
        "ID": app.numeric_id,
        "CODE": app.code,
        "VERSION": app.version,
        "STATUS": app.status,
        "INSTALLED": app.installed,
        "PAYMENT_EXPIRED": "N",
        "DAYS": None,
        "LANGUAGE_ID": portal.language,
        "LICENSE": portal.license,
        "LICENSE_TYPE": portal.license_type,
        "LICENSE_FAMILY": portal.license_family,
    }


def user_row(user: User) -> dict[str, Any]:
    """Render a user as user.current does (notes §7): string ID, ISO dates."""
    return {
        "ID": str(user.id),
        "ACTIVE": user.active,
        "NAME": user.name,
        "LAST_NAME": user.last_name,
        "EMAIL": user.email,
        "LAST_LOGIN": "2026-11-01T09:00:00+00:00",
        "DATE_REGISTER": "2024-07-22T00:00:00+00:00",
        "IS_ONLINE": "Y",
        "LAST_ACTIVITY_DATE": "2026-11-01 09:05:00",
        "PERSONAL_GENDER": "",
        "PERSONAL_BIRTHDAY": "",
        "WORK_POSITION": user.position or ("Administrator" if user.is_admin else "Sales manager"),
        "UF_EMPLOYMENT_DATE": "",
        "UF_DEPARTMENT": [1],
        "USER_TYPE": "employee",
        **({"PERSONAL_PHOTO": user.photo} if user.photo else {}),
    }


@method("user.current", scope="user")
def user_current(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return the calling user (scope user / user_brief, notes §7)."""
    return user_row(ctx.user)


@method("user.admin", scope="basic")
def user_admin(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Tell whether the calling user may manage app settings (notes §7)."""
    return ctx.user.is_admin


@method("profile", scope="basic")
def profile(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return the calling user's basic profile; empty for an inactive user (notes §7)."""
    if ctx.via_robot:
        raise RestError("ACCESS_DENIED", "User authorization required", 401)
    user = ctx.user
    if not user.active:
        return {}
    return {
        "ID": str(user.id),
        "ADMIN": user.is_admin,
        "NAME": user.name,
        "LAST_NAME": user.last_name,
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
    }


@method("scope", scope="basic")
def scope(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    """List the app's scopes, or every scope with FULL=true (notes §7)."""
    if str(params.get("full", params.get("FULL", ""))).lower() in ("1", "true", "y"):
        return sorted({spec.scope for spec in METHODS.values()} - {"basic"})
    return list(ctx.app.scope) if ctx.app else []


@method("server.time", scope="basic")
def server_time(ctx: CallContext, params: dict[str, Any]) -> str:
    """Return the portal time in ISO 8601 (notes §7)."""
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds")


@method("user.get", scope="user")
def user_get(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Users by ID (docs user.get: filter keys at the top level or in FILTER/filter); unknown IDs give []."""
    nested = params.get("FILTER") or params.get("filter")
    wanted = params.get("ID", nested.get("ID") if isinstance(nested, dict) else None)
    ids = (
        None if wanted in (None, "") else {str(i) for i in (wanted if isinstance(wanted, list) else [wanted])}
    )
    users = sorted(ctx.portal.users.values(), key=lambda u: u.id)
    return [user_row(u) for u in users if ids is None or str(u.id) in ids]


# user.search (docs api-reference/user/user-search.md) is user.get with FIND and the name fields
# (rest/lib/api/user.php: 'user.search' => userGet, FIND and UF_DEPARTMENT_NAME allowed only for it; with
# FILTER given, the FILTER object is the whole query). The portal searches from the start of a word
# (fulltext, or USER_NAME LIKE "Text%"), so "ali" finds "Alice Brown" and "brown", but "lic" finds nothing.
SEARCH_FIELDS = ("NAME", "LAST_NAME", "SECOND_NAME", "WORK_POSITION", "UF_DEPARTMENT_NAME")
PAGE_SIZE = 50  # docs user-search.md `start`: "The result page size is always static: 50 records"


@method("user.search", scope="user")
def user_search(ctx: CallContext, params: dict[str, Any]) -> ListResult:
    """Users whose words start with every word of FIND (or of each named field), a page of 50."""
    query = {str(k).upper(): v for k, v in params.items()}
    start = max(_int(query.get("START")), 0)
    if isinstance(query.get("FILTER"), dict):
        query = {str(k).upper(): v for k, v in query["FILTER"].items()}
    users = [u for u in sorted(ctx.portal.users.values(), key=lambda u: u.id) if _found(user_row(u), query)]
    if "ACTIVE" in query:
        wanted = str(query["ACTIVE"]).lower() in ("y", "true", "1")
        users = [u for u in users if u.active == wanted]
    page = users[start : start + PAGE_SIZE]
    following = start + PAGE_SIZE if start + PAGE_SIZE < len(users) else None
    return ListResult([user_row(u) for u in page], total=len(users), next=following)


def _found(row: dict[str, Any], query: dict[str, Any]) -> bool:
    if "FIND" in query:
        words = " ".join(str(row.get(f) or "") for f in SEARCH_FIELDS)
        return _prefixes(str(query["FIND"]), words)
    named = [f for f in SEARCH_FIELDS if query.get(f) not in (None, "")]
    return all(_prefixes(str(query[f]), str(row.get(f) or "")) for f in named)


def _prefixes(text: str, words: str) -> bool:
    """Every word of `text` starts some word of `words`, ignoring case; an empty text finds everyone."""
    haystack = words.lower().split()
    return all(any(w.startswith(part) for w in haystack) for part in text.lower().split())


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
