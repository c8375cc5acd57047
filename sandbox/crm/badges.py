"""crm.activity.badge.add / get / list / delete: kanban badges of configurable activities (notes §6.3).

Sources: docs configurable/badges/crm-activity-badge-{add,get,list,delete}.md (b24restdocs): add takes code,
title, value, type and answers {"badge": …}; list answers {"badges": […]}; delete answers true; "users with
administrative access to the crm section" may add and delete. No app context needed
(docs configurable/index.md note).
"""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method
from sandbox.crm.common import d7_error, store
from sandbox.crm.layout_schema import LayoutError, enum, text
from sandbox.crm.store import Badge

BADGE_TYPES = ("success", "failure", "warning", "primary", "secondary")  # docs badges/index.md "Badge Type"


@method("crm.activity.badge.add", scope="crm")
def badge_add(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Register a badge; code, title, value and type are required (docs badge.add)."""
    check_admin(ctx)
    for name in ("code", "title", "value", "type"):
        if params.get(name) in (None, "", [], {}):
            raise d7_error("REQUIRED_ARG_MISSING", f"Required argument {name} is missing")  # docs badge.add
    langs = frozenset(ctx.portal.languages)
    try:
        title, value = (
            text(params["title"], "title", "badge", langs),
            text(params["value"], "value", "badge", langs),
        )
        kind = enum(*BADGE_TYPES)(params["type"], "type", "badge", langs)
    except LayoutError as exc:
        raise exc.rest_error() from None
    client_id = ctx.app.client_id if ctx.app else None
    badge = Badge(str(params["code"]), title, value, kind, client_id)
    store(ctx).badges[badge.code] = badge
    return {"badge": badge.as_dict()}


@method("crm.activity.badge.get", scope="crm")
def badge_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return one badge by code (docs badge.get)."""
    return {"badge": find(ctx, params).as_dict()}


@method("crm.activity.badge.list", scope="crm")
def badge_list(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return every registered badge (docs badge.list)."""
    return {"badges": [badge.as_dict() for badge in store(ctx).badges.values()]}


@method("crm.activity.badge.delete", scope="crm")
def badge_delete(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Remove a badge by code; NOT_FOUND if there is none (docs badge.delete)."""
    check_admin(ctx)
    del store(ctx).badges[find(ctx, params).code]
    return True


def find(ctx: CallContext, params: dict[str, Any]) -> Badge:
    code = params.get("code")
    if code in (None, ""):
        raise d7_error("REQUIRED_ARG_MISSING", "Required argument code is missing")
    badge = store(ctx).badges.get(str(code))
    if badge is None:
        raise d7_error(
            "NOT_FOUND", "Not found."
        )  # docs badge.delete: "Badge with the specified code not found"
    return badge


def check_admin(ctx: CallContext) -> None:
    if not (ctx.user.is_admin and ctx.user.can_edit_crm):
        raise d7_error("ACCESS_DENIED", "Access denied.")
