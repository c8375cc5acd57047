"""crm.activity.configurable.add / update / get, and the restEvent click that fires ONCRMTIMELINEITEMACTION.

Sources: notes §6.3 and §3.6; docs configurable/crm-activity-configurable-{add,update,get}.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core import CallContext, method
from sandbox.crm.activity import create, update_deadline
from sandbox.crm.common import (
    CONFIGURABLE,
    can_edit,
    can_read,
    d7_error,
    emit,
    fmt,
    missing_param,
    owner,
    parse_dt,
    require_int_params,
    store,
    touch,
    user_exists,
)
from sandbox.crm.layout_schema import LayoutError, actions, is_missing, validate_layout
from sandbox.crm.params import as_list, to_bool, to_int
from sandbox.crm.store import Activity

if TYPE_CHECKING:
    from sandbox.state import Delivery, Portal, Sandbox

DEFAULT_TYPE = "CONFIGURABLE"  # docs configurable.add: typeId defaults to CONFIGURABLE
WRONG_CONTEXT = "The method can only be called in the context of an application"


@method("crm.activity.configurable.add", scope="crm")
def configurable_add(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Create a configurable activity owned by the calling app (docs configurable.add)."""
    app = ctx.app
    if app is None:
        raise d7_error("ERROR_WRONG_CONTEXT", WRONG_CONTEXT)
    type_id, owner_id = require_int_params(params, "ownerTypeId", "ownerId")
    fields, layout = read_fields_param(params), read_layout(ctx, params)
    if owner(ctx, type_id, owner_id) is None:
        raise d7_error("NOT_FOUND", "Not found.")
    check_edit(ctx)
    values = read_fields(ctx, fields, app.client_id)
    check_incoming(values)
    activity = create(ctx, base_values(ctx, values, layout), [(type_id, owner_id)], [])
    activity.client_id, activity.layout = app.client_id, layout
    apply_extras(activity, values)
    emit(ctx, "ADD", activity.id)
    return {"activity": {"id": activity.id}}


@method("crm.activity.configurable.update", scope="crm")
def configurable_update(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the layout and change the given fields; creating app only (docs configurable.update)."""
    if ctx.app is None:
        raise d7_error("ERROR_WRONG_CONTEXT", WRONG_CONTEXT)
    activity = find_configurable(ctx, params)
    if activity.client_id != ctx.app.client_id:
        raise d7_error(
            "ERROR_WRONG_APPLICATION", "The activity can only be updated by the application that created it"
        )
    fields, layout = read_fields_param(params), read_layout(ctx, params)
    check_edit(ctx, activity)
    values = read_fields(ctx, fields, ctx.app.client_id)
    check_incoming({**current_values(activity), **values})
    activity.fields.update(base_values(ctx, values, layout, updating=True))
    activity.layout = layout
    apply_extras(activity, values)
    update_deadline(activity)
    activity.locked = False  # notes §3.6: an update releases a loader/disable lock
    touch(ctx, activity)
    emit(ctx, "UPDATE", activity.id)
    return {"activity": {"id": activity.id}}


@method("crm.activity.configurable.get", scope="crm")
def configurable_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return a configurable activity with its fields and layout (docs configurable.get example)."""
    activity = find_configurable(ctx, params)
    if not can_read(ctx, activity):  # as crm.activity.get: the activity's items must be readable
        raise d7_error("ACCESS_DENIED", "Access denied.")
    type_id, owner_id = activity.bindings[0]
    fields = {"typeId": activity.field("PROVIDER_TYPE_ID"), **current_values(activity)}
    fields["deadline"] = fmt(ctx, fields["deadline"]) or None
    result = {"id": activity.id, "ownerTypeId": type_id, "ownerId": owner_id, "fields": fields}
    return {"activity": {**result, "layout": activity.layout}}


# --- reading ------------------------------------------------------------------------------------------------


def read_fields_param(params: dict[str, Any]) -> dict[str, Any]:
    fields = params.get("fields")
    if fields is None or fields == "":
        raise missing_param("fields")
    if fields == []:
        return {}
    if not isinstance(fields, dict):
        raise d7_error("WRONG_FIELD_VALUE", "The parameter fields must be an object")
    return fields


def read_layout(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Validate `layout`; an absent or empty one is ERROR_EMPTY_LAYOUT (docs configurable.add)."""
    if is_missing(params.get("layout")) or params.get("layout") == {}:
        raise d7_error("ERROR_EMPTY_LAYOUT", "The layout field must be filled")
    try:
        return validate_layout(params["layout"], ctx.portal.languages)
    except LayoutError as exc:
        raise exc.rest_error() from None


def read_fields(ctx: CallContext, fields: dict[str, Any], client_id: str) -> dict[str, Any]:
    """Coerce the documented `fields` keys; a bad value is WRONG_FIELD_VALUE (docs configurable.add)."""
    values = {}
    for name, value in fields.items():
        reader = READERS.get(name)
        if reader is None:
            continue  # keys the page does not list are ignored
        try:
            values[name] = reader(ctx, client_id, value)
        except ValueError:
            raise d7_error("WRONG_FIELD_VALUE", f"Invalid value of field {name}") from None
    return values


def checked(value: Any) -> Any:
    if value is None:
        raise ValueError("invalid")
    return value


def read_type(ctx: CallContext, client_id: str, value: Any) -> str:
    """typeId is CONFIGURABLE or this app's IS_CONFIGURABLE_TYPE=Y type (docs configurable.add `typeId`)."""
    if value in (None, "", DEFAULT_TYPE):
        return DEFAULT_TYPE
    registered = store(ctx).types.get((client_id, str(value)))
    if registered is None or not registered.is_configurable:
        raise ValueError("not a configurable type of this app")
    return registered.type_id


def read_deadline(ctx: CallContext, client_id: str, value: Any) -> Any:
    return None if value in ("", None) else parse_dt(ctx, value)


def read_offsets(ctx: CallContext, client_id: str, value: Any) -> list[int]:
    items = checked([] if value in ("", None) else as_list(value))
    return [checked(to_int(v)) for v in items]


def read_responsible(ctx: CallContext, client_id: str, value: Any) -> int:
    user_id = checked(to_int(value))
    if not user_exists(ctx, user_id):
        raise ValueError("no such user")
    return user_id


def read_text(ctx: CallContext, client_id: str, value: Any) -> str | None:
    return None if value is None else str(checked(value if isinstance(value, str | int) else None))


READERS = {
    "typeId": read_type,
    "completed": lambda ctx, client_id, value: checked(to_bool(value)),
    "deadline": read_deadline,
    "pingOffsets": read_offsets,
    "isIncomingChannel": lambda ctx, client_id, value: checked(to_bool(value)),
    "responsibleId": read_responsible,
    "badgeCode": lambda ctx, client_id, value: read_text(ctx, client_id, value) or "",
    "originatorId": read_text,
    "originId": read_text,
}


def check_incoming(values: dict[str, Any]) -> None:
    if values.get("isIncomingChannel") and values.get("deadline") is not None:
        # docs configurable.add: INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE
        raise d7_error(
            "INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE", "Incoming activity cannot have a deadline"
        )


def check_edit(ctx: CallContext, activity: Activity | None = None) -> None:
    """docs configurable.add/update, "Access denied: No permission to update the entity in CRM": the CRM
    edit right, and for an existing activity a bound item the user may see (own-scope users: their own)."""
    if not can_edit(ctx) or (activity is not None and not can_read(ctx, activity)):
        raise d7_error("ACCESS_DENIED", "Access denied.")


def find_configurable(ctx: CallContext, params: dict[str, Any]) -> Activity:
    (activity_id,) = require_int_params(params, "id")
    activity = store(ctx).activity(activity_id)
    if activity is None or activity.provider != CONFIGURABLE:
        raise d7_error("NOT_FOUND", "Not found.")
    return activity


# --- storing ------------------------------------------------------------------------------------------------


def base_values(
    ctx: CallContext, values: dict[str, Any], layout: dict[str, Any], *, updating: bool = False
) -> dict[str, Any]:
    """Map configurable `fields` onto activity fields; SUBJECT comes from the header title."""
    result: dict[str, Any] = {"SUBJECT": title_text(ctx, layout["header"].get("title"))}
    if not updating:
        result.update(
            TYPE_ID=6, PROVIDER_ID=CONFIGURABLE, RESPONSIBLE_ID=ctx.user.id, PROVIDER_TYPE_ID=DEFAULT_TYPE
        )
    mapping = {
        "typeId": "PROVIDER_TYPE_ID",
        "responsibleId": "RESPONSIBLE_ID",
        "originatorId": "ORIGINATOR_ID",
        "originId": "ORIGIN_ID",
    }
    result.update({field: values[key] for key, field in mapping.items() if key in values})
    if "deadline" in values:
        result.update(START_TIME=values["deadline"], END_TIME=values["deadline"])
    if "completed" in values:
        result["COMPLETED"] = "Y" if values["completed"] else "N"
    if "isIncomingChannel" in values:
        result["IS_INCOMING_CHANNEL"] = "Y" if values["isIncomingChannel"] else "N"
        result["DIRECTION"] = 1 if values["isIncomingChannel"] else 0
    return result


def apply_extras(activity: Activity, values: dict[str, Any]) -> None:
    if "completed" in values:
        activity.set_completed(values["completed"])
    if "pingOffsets" in values:
        activity.ping_offsets = values["pingOffsets"]
    if "badgeCode" in values:
        activity.badge_code = values["badgeCode"]


def current_values(activity: Activity) -> dict[str, Any]:
    """Return the activity's configurable `fields` (docs configurable.get example)."""
    return {
        "completed": activity.completed,
        "deadline": activity.field("DEADLINE"),
        "pingOffsets": list(activity.ping_offsets),
        "isIncomingChannel": activity.field("IS_INCOMING_CHANNEL") == "Y",
        "responsibleId": activity.field("RESPONSIBLE_ID"),
        "badgeCode": activity.badge_code,
        "originatorId": activity.field("ORIGINATOR_ID"),
        "originId": activity.field("ORIGIN_ID"),
    }


def title_text(ctx: CallContext, title: Any) -> str:
    """Resolve a textWithTranslation: current language → en → first entry (notes §6.2)."""
    if not isinstance(title, dict) or not title:  # a null title passes RequiredField (notes §6.2 codes)
        return "" if title is None else str(title)
    for lang in (ctx.portal.language, "en"):
        if lang in title:
            return str(title[lang])
    return str(next(iter(title.values())))


# --- restEvent clicks (for the portal UI) -------------------------------------------------------------------


def find_rest_event(
    sandbox: Sandbox, portal: Portal, activity_id: int, action_id: str, client_id: str | None
) -> Any:
    """Return (app client_id, restEvent action) clicked on an activity: its layout or a block set."""
    activity = portal.crm.activity(activity_id)
    if activity is None:
        raise LookupError(f"no activity {activity_id}")
    layouts = [(activity.client_id, activity.layout)] if activity.layout else []
    layouts += list(portal.crm.blocks_of(activity_id).items())
    for owner_app, layout in layouts:
        if client_id and owner_app != client_id:
            continue
        for action in actions(layout or {}):
            if action.get("type") == "restEvent" and action.get("id") == action_id:
                return owner_app, action
    raise LookupError(f"no restEvent action {action_id!r} on activity {activity_id}")


def emit_rest_event(
    sandbox: Sandbox,
    portal: Portal,
    activity_id: int,
    action_id: str,
    *,
    user_id: int | None,
    client_id: str | None = None,
    entity: tuple[int, int] | None = None,
) -> list[Delivery]:
    """Fire ONCRMTIMELINEITEMACTION for a clicked restEvent button, to the app that made the item only.

    notes §3.6: data = actionParams + entityTypeId, entityId, activityId, id (the action id);
    `loader`/`disable` lock the item until the app calls crm.activity.configurable.update. For blocks set by
    an app on another activity, the receiving app is the one that set them (pass its `client_id` to choose
    among several sets).
    `entity` is the timeline (owner type, id) the user clicked in; the activity's first binding by default.
    """
    from sandbox.events import deliver_timeline_action  # the platform's event queue; imported late (cycle)

    with sandbox.lock:
        target_app, action = find_rest_event(sandbox, portal, activity_id, action_id, client_id)
        activity = portal.crm.activities[activity_id]
        entity_type_id, entity_id = entity or activity.bindings[0]
        data = {**action.get("actionParams", {}), "entityTypeId": entity_type_id, "entityId": entity_id}
        data.update(activityId=activity_id, id=action_id)
        if action.get("animationType") in ("loader", "disable"):
            activity.locked = True
    return deliver_timeline_action(sandbox, portal, target_app, data, user_id=user_id)
