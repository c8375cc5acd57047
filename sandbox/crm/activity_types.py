"""crm.activity.type.add / list / delete: custom activity types, one namespace per app."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, RestError, method
from sandbox.crm.common import store
from sandbox.crm.legacy_input import read_file
from sandbox.crm.params import ci_get, to_bool
from sandbox.crm.store import ActivityType


def invalid(description: str) -> RestError:
    return RestError("INVALID_ARG_VALUE", description, 400)


@method("crm.activity.type.add", scope="crm")
def type_add(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Register a type for the calling app (docs crm.activity.type.add)."""
    app = ctx.require_app()  # docs type.add: "Access denied! Application context required"
    fields = ci_get(params, "fields")
    fields = {str(k).upper(): v for k, v in fields.items()} if isinstance(fields, dict) else {}
    type_id = str(fields.get("TYPE_ID") or "").strip()
    if not type_id:
        raise invalid("The required field TYPE_ID is not filled")  # docs type.add "Possible Error Codes"
    if (app.client_id, type_id) in store(ctx).types:
        raise invalid("A custom activity type with the specified TYPE_ID already exists")
    configurable = to_bool(fields.get("IS_CONFIGURABLE_TYPE", "N"))
    if configurable is None:
        raise invalid("The field IS_CONFIGURABLE_TYPE must be Y or N")
    icon = fields.get("ICON_FILE")
    icon_id = read_file(ctx, icon)["id"] if icon not in (None, "") and not isinstance(icon, str) else 0
    name = str(fields.get("NAME") or "")
    store(ctx).types[(app.client_id, type_id)] = ActivityType(
        app.client_id, type_id, name, configurable, icon_id
    )
    return True


@method("crm.activity.type.list", scope="crm")
def type_list(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, str]]:
    """List the calling app's types (docs crm.activity.type.list example)."""
    app = ctx.require_app()
    return [
        {
            "TYPE_ID": t.type_id,
            "NAME": t.name,
            "IS_CONFIGURABLE_TYPE": "Y" if t.is_configurable else "N",
            "ICON_ID": str(t.icon_id),
        }
        for (client_id, _), t in store(ctx).types.items()
        if client_id == app.client_id
    ]


@method("crm.activity.type.delete", scope="crm")
def type_delete(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Remove one of the calling app's types (docs crm.activity.type.delete)."""
    app = ctx.require_app()
    type_id = str(ci_get(params, "TYPE_ID") or "").strip()
    if store(ctx).types.pop((app.client_id, type_id), None) is None:
        raise invalid("Custom activity type with the specified TYPE_ID does not exist")  # docs type.delete
    return True
