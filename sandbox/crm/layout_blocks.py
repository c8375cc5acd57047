"""crm.activity.layout.blocks.set / get / delete: an app's extra blocks on an activity (notes §6.1)."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method
from sandbox.crm.common import (
    CONFIGURABLE,
    REST_APP,
    can_edit,
    can_read,
    d7_error,
    missing_param,
    owner,
    require_int_params,
    store,
)
from sandbox.crm.layout_schema import LayoutError, validate_blocks_layout
from sandbox.crm.store import Activity

# The pages word ERROR_WRONG_CONTEXT differently; each method answers with its own page's text.
WRONG_CONTEXT = {
    "set": "The method call is only possible in the context of a REST application",
    "get": "The method can only be called in the context of a rest application",
    "delete": "The method can only be called in the context of a REST application",
}


@method("crm.activity.layout.blocks.set", scope="crm")
def blocks_set(ctx: CallContext, params: dict[str, Any]) -> dict[str, bool]:
    """Store this app's block set on an activity, replacing its previous one (docs layout.blocks.set)."""
    client_id, activity = target(ctx, params, "set", edit=True)
    check_suitable(ctx, activity)
    if "layout" not in params:
        raise missing_param("layout")
    try:
        layout = validate_blocks_layout(params["layout"], ctx.portal.languages)
    except LayoutError as exc:
        raise exc.rest_error() from None
    store(ctx).layout_blocks.setdefault(activity.id, {})[client_id] = layout
    return {"success": True}


@method("crm.activity.layout.blocks.get", scope="crm")
def blocks_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return this app's block set, or layout null (notes §6.1)."""
    client_id, activity = target(ctx, params, "get", edit=False)
    return {"layout": store(ctx).blocks_of(activity.id).get(client_id)}


@method("crm.activity.layout.blocks.delete", scope="crm")
def blocks_delete(ctx: CallContext, params: dict[str, Any]) -> dict[str, bool]:
    """Remove this app's block set; NOT_FOUND when it has none (notes §6.1)."""
    client_id, activity = target(ctx, params, "delete", edit=True)
    if store(ctx).blocks_of(activity.id).pop(client_id, None) is None:
        raise d7_error("NOT_FOUND", "The set of content blocks was not found")
    return {"success": True}


def target(ctx: CallContext, params: dict[str, Any], action: str, *, edit: bool) -> tuple[str, Activity]:
    """Run the shared preconditions in the controller's order (notes §6.1); return (client_id, activity)."""
    if ctx.app is None:
        raise d7_error("ERROR_WRONG_CONTEXT", WRONG_CONTEXT[action])
    type_id, entity_id, activity_id = require_int_params(params, "entityTypeId", "entityId", "activityId")
    if owner(ctx, type_id, entity_id) is None:
        raise d7_error("OWNER_NOT_FOUND", "The element to which the activity is linked was not found")
    activity = store(ctx).activity(activity_id)
    if activity is None or (type_id, entity_id) not in activity.bindings:
        raise d7_error("NOT_FOUND", "The activity was not found")
    if not can_read(ctx, activity) or (edit and not can_edit(ctx)):
        raise d7_error("ACCESS_DENIED", "Access denied")  # notes §6.1: read for get, update for set/delete
    if ctx.sandbox.setting("layout_blocks_admin_only") and not ctx.user.is_admin:
        raise d7_error("ACCESS_DENIED", "Access denied")  # disputed: the docs pages say "administrator"
    return ctx.app.client_id, activity


# Providers whose new-timeline item is a "Configurable" one (crm/lib/Service/Timeline/Item/Activity/*).
CONFIGURABLE_ITEMS = frozenset({"CRM_TODO", "VOXIMPLANT_CALL", "CRM_EMAIL", "CRM_MEETING"})


def check_suitable(ctx: CallContext, activity: Activity) -> None:
    """Only activities shown as configurable timeline items take blocks (notes §6.1, §3.5, §9.10).

    blocks.php validateActivity / isAssociateTimelineItemConfigurable: configurable (CONFIGURABLE_REST_APP)
    activities and legacy types (e.g. TYPE_ID 5 with no provider, drawn by Item/Compatible) are refused;
    REST_APP ones are disputed (switch rest_app_blocks_allowed).
    """
    rest_app_ok = bool(ctx.sandbox.settings.get("rest_app_blocks_allowed", False))
    legacy = activity.provider not in (*CONFIGURABLE_ITEMS, REST_APP, CONFIGURABLE)
    if legacy or activity.provider == CONFIGURABLE or (activity.provider == REST_APP and not rest_app_ok):
        raise d7_error(
            "UNSUITABLE_ACTIVITY_TYPE_ERROR", "This activity type is not supported for adding layout blocks"
        )
