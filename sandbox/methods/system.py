"""Identity methods on the portal: app.info, user.current, user.admin, profile, scope, server.time (§7)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sandbox.core import METHODS, CallContext, RestError, method
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
        "WORK_POSITION": "Administrator" if user.is_admin else "Sales manager",
        "UF_EMPLOYMENT_DATE": "",
        "UF_DEPARTMENT": [1],
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
