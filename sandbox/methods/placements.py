"""placement.bind / placement.unbind / placement.get / placement.list (notes §3.1)."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, RestError, method
from sandbox.dispatch import scope_granted
from sandbox.methods.events import check_handler_url
from sandbox.state import InstalledApp, Portal


def _known() -> dict[str, dict[str, Any]]:
    """Placements the sandbox knows: code → scope, max count, user mode (notes §3.3, §3.4, §3.1)."""
    table: dict[str, dict[str, Any]] = {"CRM_ACTIVITY_LIST_MENU": {"scope": "crm"}}
    for entity in ("LEAD", "DEAL", "CONTACT", "COMPANY", "QUOTE", "SMART_INVOICE"):
        for suffix in ("LIST_MENU", "DETAIL_TAB", "DETAIL_ACTIVITY", "DETAIL_TOOLBAR"):
            table[f"CRM_{entity}_{suffix}"] = {"scope": "crm"}
    for entity in ("LEAD", "DEAL", "QUOTE", "SMART_INVOICE"):  # notes §3.4: no CONTACT/COMPANY version
        table[f"CRM_{entity}_ACTIVITY_TIMELINE_MENU"] = {"scope": "crm"}
    table["REST_APP_URI"] = {"scope": "placement", "max": 1}
    table["PAGE_BACKGROUND_WORKER"] = {"scope": "placement", "max": 1, "user_mode": True}
    table["LEFT_MENU"] = {"scope": "placement"}
    return table


PLACEMENTS = _known()


def placements(portal: Portal) -> dict[str, dict[str, Any]]:
    """The fixed placements and the timeline menus of this portal's smart processes.

    Notes §3.4: CRM_#ENTITY_TYPE_NAME#_ACTIVITY_TIMELINE_MENU, a smart process's name being DYNAMIC_<id>
    (crm/lib/integration/intranet/bindingmenu/codebuilder.php): a code exists only for the portal's own types.
    """
    dynamic = {
        f"CRM_DYNAMIC_{type_id}_ACTIVITY_TIMELINE_MENU": {"scope": "crm"} for type_id in portal.smart_types
    }
    return {**PLACEMENTS, **dynamic}


def upper_keys(params: dict[str, Any]) -> dict[str, Any]:
    """Keys are case-insensitive (notes §3.1)."""
    return {str(k).upper(): v for k, v in params.items()}


def placement_error(ctx: CallContext, code: str, text: str) -> RestError:
    """Build a placement error with the disputed HTTP status (notes §3.1, §9.5)."""
    return RestError(code, text, int(ctx.sandbox.setting("placement_error_status")))


def require_admin_app(ctx: CallContext) -> InstalledApp:
    """App context and an administrator (notes §3.1)."""
    if ctx.app is None:
        raise RestError(
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method. Application context required",
            403,
        )
    if not ctx.user.is_admin:
        raise RestError("ACCESS_DENIED", "Access denied! Administrator permissions required", 403)
    return ctx.app


def placement_code(ctx: CallContext, app: InstalledApp, params: dict[str, Any]) -> str:
    """Read PLACEMENT, upper-cased; unknown, DEFAULT or out-of-scope → ERROR_PLACEMENT_NOT_FOUND."""
    value = params.get("PLACEMENT")
    if value is None or value == "":
        raise placement_error(
            ctx, "ERROR_ARGUMENT", "Argument 'The placement code is not specified' is null or empty"
        )
    if not isinstance(value, str):
        raise placement_error(ctx, "ERROR_ARGUMENT", "Argument 'PLACEMENT' must be a string")
    code = value.strip().upper()
    spec = placements(ctx.portal).get(code)
    if spec is None or not scope_granted(app.scope, spec["scope"]):
        raise placement_error(ctx, "ERROR_PLACEMENT_NOT_FOUND", "Placement not found")
    return code


def lang_all(ctx: CallContext, params: dict[str, Any]) -> dict[str, dict[str, str]]:
    """LANG_ALL wins; else TITLE/DESCRIPTION/GROUP_NAME go to the portal's language (notes §3.1)."""
    given = params.get("LANG_ALL")
    langs = {
        str(lang): {k: str(v.get(k) or "") for k in ("TITLE", "DESCRIPTION", "GROUP_NAME")}
        for lang, v in (given.items() if isinstance(given, dict) else [])
        if isinstance(v, dict)
    }
    if langs:
        return langs
    fields = {k: str(params.get(k) or "") for k in ("TITLE", "DESCRIPTION", "GROUP_NAME")}
    return {ctx.portal.language: fields}


@method("placement.bind", scope="placement")
def placement_bind(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Bind a widget handler; admin only; options are dropped for these placements (notes §3.1)."""
    app = require_admin_app(ctx)
    params = upper_keys(params)
    code = placement_code(ctx, app, params)
    handler = params.get("HANDLER")
    if not isinstance(handler, str) or not handler.strip():
        raise placement_error(ctx, "ERROR_ARGUMENT", "Argument 'HANDLER' is null or empty")
    check_handler_url(handler.strip())
    spec = placements(ctx.portal)[code]
    raw_user = str(params.get("USER_ID") or "0")
    user_id = int(raw_user) if raw_user.isdigit() else -1  # not a user id: refused below as user mode
    if user_id and not spec.get("user_mode"):
        raise placement_error(
            ctx, "ERROR_PLACEMENT_USER_MODE", "User mode is not available for this placement"
        )
    rows = [p for p in app.placements if p["placement"] == code]
    if any(p["handler"] == handler.strip() and p["user_id"] == user_id for p in rows):
        raise placement_error(ctx, "ERROR_CORE", "Unable to set placement handler: Handler already binded")
    if "max" in spec and len(rows) >= spec["max"]:
        raise placement_error(ctx, "ERROR_PLACEMENT_MAX_COUNT", f"Placement max count: {spec['max']}")
    langs = lang_all(ctx, params)
    first = langs.get(ctx.portal.language) or next(iter(langs.values()))
    app.placements.append(
        {
            "id": ctx.portal.next_id("placement"),
            "placement": code,
            "handler": handler.strip(),
            "title": first["TITLE"],
            "description": first["DESCRIPTION"],
            "group_name": first["GROUP_NAME"],
            "lang_all": langs,
            "options": {},  # notes §3.1: unknown options silently dropped
            "user_id": user_id,
        }
    )
    return True


@method("placement.unbind", scope="placement")
def placement_unbind(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Remove handlers; count is 2 per removed row, the documented quirk (notes §3.1)."""
    app = require_admin_app(ctx)
    params = upper_keys(params)
    code = placement_code(ctx, app, params)
    handler = str(params.get("HANDLER") or "").strip()
    user_id = params.get("USER_ID")
    found = [
        p
        for p in app.placements
        if p["placement"] == code
        and (not handler or p["handler"] == handler)
        and (user_id in (None, "") or str(p["user_id"]) == str(user_id))
    ]
    app.placements[:] = [p for p in app.placements if p not in found]
    return {"count": 2 * len(found)}  # +1 per found row, +1 per delete


@method("placement.get", scope="placement")
def placement_get(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    """List the app's bound placements (notes §3.1); empty options serialise as []."""
    app = ctx.require_app()
    return [
        {
            "placement": p["placement"],
            "userId": p["user_id"],
            "handler": p["handler"],
            "options": p["options"],
            "title": p["title"],
            "description": p["description"],
            "langAll": p["lang_all"],
        }
        for p in sorted(app.placements, key=lambda p: p["id"])
    ]


@method("placement.list", scope="placement")
def placement_list(ctx: CallContext, params: dict[str, Any]) -> list[str]:
    """List placement codes available to the app's scopes, or to SCOPE / FULL (notes §3.1)."""
    params = upper_keys(params)
    known = placements(ctx.portal)
    if str(params.get("FULL", "")).lower() in ("1", "true", "y"):
        return list(known)
    if params.get("SCOPE"):
        return [c for c, s in known.items() if s["scope"] == str(params["SCOPE"]).lower()]
    scopes = ctx.app.scope if ctx.app else []
    return [c for c, s in known.items() if scope_granted(scopes, s["scope"])]
