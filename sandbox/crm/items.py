"""crm.item.get: one CRM item by entityTypeId and id (docs api-reference/crm/universal/crm-item-get.md)."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method
from sandbox.crm.common import can_read_owner, d7_error, owner, require_int_params

# docs crm-item-get.md "Error Handling": HTTP 400 NOT_FOUND "Element not found" (the example), ACCESS_DENIED.
NOT_FOUND = "Element not found"


def item_row(type_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """The item with camelCase field names, as crm.item.* answers (docs crm-item-get.md, result.item)."""
    keys = {
        "ID": "id",
        "TITLE": "title",
        "NAME": "name",
        "LAST_NAME": "lastName",
        "ASSIGNED_BY_ID": "assignedById",
    }
    row: dict[str, Any] = {"entityTypeId": type_id}
    for key, value in fields.items():
        name = keys.get(key, key)
        row[name] = int(value) if name in ("id", "assignedById") else value
    return row


@method("crm.item.get", scope="crm")
def item_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return {"item": {...}}; NOT_FOUND for a missing item, ACCESS_DENIED for one the user may not read."""
    type_id, item_id = require_int_params(params, "entityTypeId", "id")
    item = owner(ctx, type_id, item_id)
    if item is None:
        raise d7_error("NOT_FOUND", NOT_FOUND)
    if not can_read_owner(ctx, type_id, item_id):
        raise d7_error("ACCESS_DENIED", "You do not have permission to view this item")
    return {"item": item_row(type_id, item.fields)}
