"""crm.activity.todo.*: universal activities (provider CRM_TODO), a D7 controller with coded errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.core import CallContext, method
from sandbox.crm.activity import create, update_deadline
from sandbox.crm.common import (
    TODO,
    can_edit,
    d7_error,
    emit,
    missing_param,
    owner,
    parse_dt,
    require_int_params,
    store,
    touch,
    user_exists,
)
from sandbox.crm.params import as_list, to_int
from sandbox.crm.store import Activity

COMPLETED_TODO = "CAN_NOT_UPDATE_COMPLETED_TODO"  # docs todo.update/updateDeadline/updateDescription


@method("crm.activity.todo.add", scope="crm")
def todo_add(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Create a to-do on an owner (docs crm.activity.todo.add)."""
    type_id, owner_id = require_int_params(params, "ownerTypeId", "ownerId")
    deadline = read_deadline(ctx, params, "deadline")
    check_owner_and_access(ctx, type_id, owner_id)
    values = {"TYPE_ID": 6, "PROVIDER_ID": TODO, "PROVIDER_TYPE_ID": "TODO", "START_TIME": deadline}
    values.update(END_TIME=deadline, SUBJECT=text(params, "title"), DESCRIPTION=text(params, "description"))
    values["RESPONSIBLE_ID"] = read_responsible(ctx, params) or ctx.user.id
    parent = read_parent(ctx, params, None)
    color, offsets = read_color(params), read_offsets(params)
    activity = create(ctx, values, [(type_id, owner_id)], [])
    activity.parent_id, activity.color_id, activity.ping_offsets = parent, color, offsets or []
    emit(ctx, "ADD", activity.id)
    return {"id": activity.id}


@method("crm.activity.todo.update", scope="crm")
def todo_update(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Replace a to-do's deadline, texts, responsible, parent, pings and colour (docs todo.update)."""
    activity = load_todo(ctx, params, "deadline", open_code=COMPLETED_TODO)
    deadline = read_deadline(ctx, params, "deadline")
    responsible, parent = read_responsible(ctx, params), read_parent(ctx, params, activity.id)
    color, offsets = read_color(params), read_offsets(params)
    set_deadline(activity, deadline)
    for key, name in (("title", "SUBJECT"), ("description", "DESCRIPTION")):
        if key in params:
            activity.fields[name] = text(params, key)
    activity.fields["RESPONSIBLE_ID"] = responsible or activity.fields["RESPONSIBLE_ID"]
    activity.parent_id = parent if "parentActivityId" in params else activity.parent_id
    activity.color_id = color if "colorId" in params else activity.color_id
    activity.ping_offsets = offsets if offsets is not None else activity.ping_offsets
    return saved(ctx, activity)


@method("crm.activity.todo.updateColor", scope="crm")
def todo_update_color(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Change a to-do's colour, 1..7 (docs crm.activity.todo.updateColor)."""
    activity = load_todo(ctx, params, "colorId", open_code="CAN_NOT_UPDATE_COLOR_COMPLETED_TODO")
    activity.color_id = read_color(params)
    return saved(ctx, activity)


@method("crm.activity.todo.updateDeadline", scope="crm")
def todo_update_deadline(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Move a to-do's deadline (docs crm.activity.todo.updateDeadline)."""
    activity = load_todo(ctx, params, "value", open_code=COMPLETED_TODO, deadline_param="value")
    set_deadline(activity, read_deadline(ctx, params, "value"))
    return saved(ctx, activity)


@method("crm.activity.todo.updateDescription", scope="crm")
def todo_update_description(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Replace a to-do's description (docs crm.activity.todo.updateDescription)."""
    activity = load_todo(ctx, params, "value", open_code=COMPLETED_TODO)
    activity.fields["DESCRIPTION"] = text(params, "value")
    return saved(ctx, activity)


@method("crm.activity.todo.updateResponsibleUser", scope="crm")
def todo_update_responsible(ctx: CallContext, params: dict[str, Any]) -> dict[str, int]:
    """Hand a to-do to another user (docs crm.activity.todo.updateResponsibleUser)."""
    responsible = to_int(params.get("responsibleId"))
    if responsible is not None and responsible <= 0:
        # docs todo.updateResponsibleUser: INVALID_ARG_VALUE
        raise d7_error("INVALID_ARG_VALUE", 'Parameter "responsibleId" must be greater than 0')
    activity = load_todo(
        ctx, params, "responsibleId", open_code="CAN_NOT_UPDATE_RESPONSIBLE_USER_COMPLETED_TODO"
    )
    activity.fields["RESPONSIBLE_ID"] = read_responsible(ctx, params)
    return saved(ctx, activity)


# --- shared steps -------------------------------------------------------------------------------------------


def load_todo(
    ctx: CallContext, params: dict[str, Any], required: str, *, open_code: str, deadline_param: str = ""
) -> Activity:
    """Run the checks every todo.update* method shares, in the controller's order, and return the to-do."""
    activity_id, type_id, owner_id = require_int_params(params, "id", "ownerTypeId", "ownerId")
    if params.get(required) in (None, ""):
        raise missing_param(required)
    if deadline_param:
        read_deadline(ctx, params, deadline_param)
    check_owner_and_access(ctx, type_id, owner_id)
    activity = store(ctx).activity(activity_id)
    if activity is None or activity.provider != TODO or (type_id, owner_id) not in activity.bindings:
        raise d7_error("NOT_FOUND", "Not found.")  # docs todo.* "Error Handling" example
    if activity.completed:
        raise d7_error(
            open_code, "Completed activity cannot be modified"
        )  # docs todo.* "Possible Error Codes"
    return activity


def check_owner_and_access(ctx: CallContext, type_id: int, owner_id: int) -> None:
    if owner(ctx, type_id, owner_id) is None:
        raise d7_error(
            "OWNER_NOT_FOUND", "Owner of the entity not found"
        )  # docs todo.add "Possible Error Codes"
    if not can_edit(ctx):
        raise d7_error("ACCESS_DENIED", "Access denied.")


def saved(ctx: CallContext, activity: Activity) -> dict[str, int]:
    """Stamp the change, queue ONCRMACTIVITYUPDATE and answer {"id": …} (docs todo.update*)."""
    touch(ctx, activity)
    activity.locked = False
    emit(ctx, "UPDATE", activity.id)
    return {"id": activity.id}


def set_deadline(activity: Activity, deadline: datetime) -> None:
    activity.fields.update(START_TIME=deadline, END_TIME=deadline)
    update_deadline(activity)


def read_deadline(ctx: CallContext, params: dict[str, Any], name: str) -> datetime:
    value = params.get(name)
    if value in (None, ""):
        raise missing_param(name)
    try:
        return parse_dt(ctx, value)
    except ValueError:
        raise d7_error("WRONG_DATETIME_FORMAT", f"Incorrect date format in parameter {name}") from None


def text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value)


def read_responsible(ctx: CallContext, params: dict[str, Any]) -> int | None:
    """Read responsibleId; an unknown user is a missing entity."""
    if params.get("responsibleId") in (None, ""):
        return None
    user_id = to_int(params["responsibleId"])
    if not user_exists(ctx, user_id):
        raise d7_error("NOT_FOUND", "Not found.")
    return user_id


def read_parent(ctx: CallContext, params: dict[str, Any], own_id: int | None) -> int | None:
    """Read parentActivityId: it must exist; on update it must still be open.

    docs crm.activity.todo.update "Error codes": ERROR_PARENT_ACTIVITY_RESTRICT "Cannot schedule a deal for a
    closed deal" (the page's translation of "an activity for a closed activity"): the parent is completed.
    """
    if params.get("parentActivityId") in (None, "", 0, "0"):
        return None
    parent_id = to_int(params["parentActivityId"])
    parent = store(ctx).activity(parent_id)
    if parent is None:
        raise d7_error("NOT_FOUND", "Not found.")
    if own_id is not None and parent.completed:
        raise d7_error("ERROR_PARENT_ACTIVITY_RESTRICT", "Cannot schedule a deal for a closed deal")
    return parent_id


def read_color(params: dict[str, Any]) -> str | None:
    """Read colorId: "1".."7", or empty for the default colour (docs todo.updateColor)."""
    value = params.get("colorId")
    if value in (None, ""):
        return None
    color = to_int(value)
    if color is None or not 1 <= color <= 7:
        raise d7_error("CAN_NOT_UPDATE_WRONG_COLOR_TODO", "Invalid color value")  # docs todo.updateColor
    return str(color)


def read_offsets(params: dict[str, Any]) -> list[int] | None:
    """Read pingOffsets: a list of minutes (docs todo.add)."""
    if "pingOffsets" not in params or params["pingOffsets"] in ("", None):
        return None if "pingOffsets" not in params else []
    items = as_list(params["pingOffsets"])
    offsets = [to_int(v) for v in items] if items is not None else [None]
    if any(v is None or v < 0 for v in offsets):
        raise d7_error("INVALID_ARG_VALUE", 'Parameter "pingOffsets" must be an array of minutes')
    return [v for v in offsets if v is not None]
