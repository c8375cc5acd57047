"""crm.activity.add / update / get / delete / fields / communication.fields (legacy system activities)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core import CallContext, method
from sandbox.crm import legacy_input as li
from sandbox.crm.common import (
    CONFIGURABLE,
    REST_APP,
    can_edit,
    can_read,
    emit,
    legacy_error,
    now,
    owner,
    require_creating_app,
    require_crm_access,
    store,
    touch,
    user_exists,
)
from sandbox.crm.fields_meta import ACTIVITY_FIELDS, COMMUNICATION_FIELDS, IMMUTABLE, describe
from sandbox.crm.params import ci_get, to_int
from sandbox.crm.render import render
from sandbox.crm.store import DEFAULT_SELECT, Activity, blank_fields

if TYPE_CHECKING:
    from sandbox.state import InstalledApp

NOT_FOUND = "Activity is not found"  # docs crm.activity.update/get/delete "Possible Error Codes"
ACCESS_DENIED = "Access denied."  # docs crm.activity.add "Error Handling"
APP_PROVIDERS = (REST_APP, CONFIGURABLE)


@method("crm.activity.add", scope="crm")
def activity_add(ctx: CallContext, params: dict[str, Any]) -> int:
    """Create a system or REST_APP activity; return its id (docs crm.activity.add)."""
    require_crm_access(ctx)
    raw = li.fields_param(params)
    app = app_of_provider(ctx, raw)
    if not can_edit(ctx):
        raise legacy_error(ACCESS_DENIED)
    values = li.coerce_fields(ctx, raw)
    if app is not None:
        values.update(PROVIDER_ID=REST_APP, TYPE_ID=6, ASSOCIATED_ENTITY_ID=app.numeric_id)  # notes §3.5
        values["PROVIDER_TYPE_ID"] = values.get("PROVIDER_TYPE_ID") or "LINK"
    else:
        check_type(values)
    default_responsible(ctx, values)
    check_subject_and_responsible(ctx, values, creating=True)
    owner_pair = (values.get("OWNER_TYPE_ID"), values.get("OWNER_ID"))
    comms = (
        li.read_communications(raw.get("COMMUNICATIONS"), values["TYPE_ID"], owner_pair)
        if app is None
        else []
    )
    li.check_email_recipients(values["TYPE_ID"], values.get("DIRECTION"), comms)
    bindings, files = li.build_bindings(ctx, values, comms), read_files(ctx, raw)
    activity = create(ctx, values, bindings, comms)  # everything is checked: nothing is half-written
    activity.client_id, activity.files = (app.client_id if app else None), files or []
    emit(ctx, "ADD", activity.id)
    return activity.id


def app_of_provider(ctx: CallContext, raw: dict[str, Any]) -> InstalledApp | None:
    """Return the calling app for PROVIDER_ID=REST_APP (app context only, notes §3.5); refuse configurable."""
    provider = str(raw.get("PROVIDER_ID") or "").upper()
    if provider == CONFIGURABLE:
        raise legacy_error(
            "Use crm.activity.configurable.add for this activity provider"
        )  # docs activity.add
    return ctx.require_app() if provider == REST_APP else None


def read_files(ctx: CallContext, raw: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Read FILES (or the deprecated WEBDAV_ELEMENTS); None when neither is given."""
    for name in ("FILES", "WEBDAV_ELEMENTS"):
        if name in raw:
            return li.read_files(ctx, raw[name])
    return None


def check_type(values: dict[str, Any]) -> None:
    """Check TYPE_ID and fill in its provider (docs crm.activity.add "Possible Error Codes")."""
    type_id = values.get("TYPE_ID")
    if type_id not in (1, 2, 3, 4, 5, 6):
        raise legacy_error("The field TYPE_ID is not defined or invalid")
    if type_id == 6 and not values.get("PROVIDER_ID"):
        raise legacy_error("The custom activity without provider is not supported in current context")
    if type_id in (
        3,
        6,
    ):  # tasks come from the tasks module; providers other than REST_APP from their modules
        raise legacy_error("Activity type is not supported in the specified context")
    provider, provider_type = li.TYPE_PROVIDERS.get(type_id, (None, None))
    values["PROVIDER_ID"] = values.get("PROVIDER_ID") or provider
    values["PROVIDER_TYPE_ID"] = values.get("PROVIDER_TYPE_ID") or provider_type


def default_responsible(ctx: CallContext, values: dict[str, Any]) -> None:
    """A missing RESPONSIBLE_ID is the owner's ASSIGNED_BY_ID, else the current user.

    CCrmActivityRestProxy::innerAdd (crm/classes/general/restservice.php) fills it in before
    CCrmActivity::CheckFields, so only a given but unknown user is "not defined or invalid".
    """
    if values.get("RESPONSIBLE_ID") is not None:
        return
    item = owner(ctx, values.get("OWNER_TYPE_ID"), values.get("OWNER_ID"))
    assigned = to_int(item.fields.get("ASSIGNED_BY_ID")) if item is not None else None
    values["RESPONSIBLE_ID"] = assigned if user_exists(ctx, assigned) else ctx.user.id


def check_subject_and_responsible(ctx: CallContext, values: dict[str, Any], *, creating: bool) -> None:
    """SUBJECT and RESPONSIBLE_ID are required (docs crm.activity.add "Possible Error Codes")."""
    if (creating or "SUBJECT" in values) and not str(values.get("SUBJECT") or "").strip():
        raise legacy_error("The field SUBJECT is not defined or empty")
    if (creating or "RESPONSIBLE_ID" in values) and not user_exists(ctx, values.get("RESPONSIBLE_ID")):
        raise legacy_error("The field RESPONSIBLE_ID is not defined or invalid")


def create(
    ctx: CallContext, values: dict[str, Any], bindings: list[tuple[int, int]], comms: list[dict[str, Any]]
) -> Activity:
    """Store a new activity with its bindings and communications; the first binding is its owner."""
    stamp = now(ctx)
    fields = blank_fields()
    fields.update(values)
    fields.update(
        OWNER_TYPE_ID=bindings[0][0], OWNER_ID=bindings[0][1], CREATED=stamp, LAST_UPDATED=stamp,
        AUTHOR_ID=ctx.user.id, EDITOR_ID=ctx.user.id,
    )  # fmt: skip
    activity = Activity(id=ctx.portal.next_id("activity"), fields=fields, bindings=bindings)
    set_communications(ctx, activity, comms)
    activity.set_completed(fields.get("COMPLETED") == "Y")
    update_deadline(activity)
    store(ctx).activities[activity.id] = activity
    return activity


def set_communications(ctx: CallContext, activity: Activity, comms: list[dict[str, Any]]) -> None:
    activity.communications = [{"ID": ctx.portal.next_id("communication"), **comm} for comm in comms]


def update_deadline(activity: Activity) -> None:
    """DEADLINE follows START_TIME for calls and meetings, END_TIME otherwise (docs crm.activity.add)."""
    start, end = activity.field("START_TIME"), activity.field("END_TIME")
    activity.fields["DEADLINE"] = start if activity.field("TYPE_ID") in (1, 2) else (end or start)


@method("crm.activity.update", scope="crm")
def activity_update(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Change an activity's fields (docs crm.activity.update)."""
    activity = readable(ctx, find(ctx, params))
    raw = li.fields_param(params)
    if activity.provider == CONFIGURABLE:
        raise legacy_error("Use crm.activity.configurable.update for this activity provider")
    if activity.provider == REST_APP:
        require_creating_app(ctx, activity)
        if str(raw.get("PROVIDER_ID") or REST_APP).upper() != REST_APP:
            raise legacy_error(
                "Incorrect PROVIDER_ID parameter for the activity created in the application context"
            )
    if not can_edit(ctx):
        raise legacy_error(ACCESS_DENIED)
    names = tuple(
        n for n in li.WRITABLE if n not in IMMUTABLE and n != "PROVIDER_ID"
    )  # immutable: docs fields
    values = li.coerce_fields(ctx, raw, names)
    check_immutable(ctx, raw)
    check_subject_and_responsible(ctx, values, creating=False)
    apply_update(ctx, activity, values, raw)
    emit(ctx, "UPDATE", activity.id)
    return True


def check_immutable(ctx: CallContext, raw: dict[str, Any]) -> None:
    """TYPE_ID and the owner cannot change, yet a given one is checked (docs crm.activity.update errors).

    The page lists "The field TYPE_ID is not defined or invalid" and "Could not build binding…" for update.
    """
    if "TYPE_ID" in raw and to_int(raw["TYPE_ID"]) not in (1, 2, 3, 4, 5, 6):
        raise legacy_error("The field TYPE_ID is not defined or invalid")
    both = "OWNER_TYPE_ID" in raw and "OWNER_ID" in raw
    if both and owner(ctx, to_int(raw["OWNER_TYPE_ID"]), to_int(raw["OWNER_ID"])) is None:
        raise li.binding_error()


def apply_update(ctx: CallContext, activity: Activity, values: dict[str, Any], raw: dict[str, Any]) -> None:
    """Check the new communications and files first, then change the activity."""
    comms = None
    if "COMMUNICATIONS" in raw and activity.provider != REST_APP:
        owner_pair = (activity.field("OWNER_TYPE_ID"), activity.field("OWNER_ID"))
        comms = li.read_communications(raw["COMMUNICATIONS"], activity.field("TYPE_ID"), owner_pair)
        li.check_email_recipients(activity.field("TYPE_ID"), values.get("DIRECTION"), comms)
    files = read_files(ctx, raw)
    if comms is not None:
        set_communications(ctx, activity, comms)
    activity.files = activity.files if files is None else files
    activity.fields.update(values)
    if "COMPLETED" in values:
        activity.set_completed(values["COMPLETED"] == "Y")
    elif "STATUS" in values:
        activity.set_completed(values["STATUS"] in (2, 3))
    update_deadline(activity)
    activity.locked = False
    touch(ctx, activity)


def readable(ctx: CallContext, activity: Activity) -> Activity:
    """Refuse an activity the user may not read: CCrmActivityRestProxy::innerGet's "Access denied."."""
    if not can_read(ctx, activity):
        raise legacy_error(ACCESS_DENIED)
    return activity


def find(ctx: CallContext, params: dict[str, Any]) -> Activity:
    """Return the activity named by `id` or fail as the legacy methods do."""
    require_crm_access(ctx)
    activity_id = to_int(ci_get(params, "id"))
    if activity_id is None or activity_id <= 0:
        raise legacy_error("ID is not defined or invalid.")
    activity = store(ctx).activity(activity_id)
    if activity is None:
        raise legacy_error(NOT_FOUND)
    return activity


@method("crm.activity.get", scope="crm")
def activity_get(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Return one activity with the fields of docs crm.activity.get's example."""
    return render(ctx, readable(ctx, find(ctx, params)), DEFAULT_SELECT)


@method("crm.activity.delete", scope="crm")
def activity_delete(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Delete an activity and its content blocks (docs crm.activity.delete)."""
    activity = readable(ctx, find(ctx, params))
    if activity.provider in APP_PROVIDERS:
        require_creating_app(ctx, activity)  # docs "How to create an activity from an application": warning
    if not can_edit(ctx):
        raise legacy_error(ACCESS_DENIED)
    store(ctx).remove_activity(activity.id)
    emit(ctx, "DELETE", activity.id)
    return True


@method("crm.activity.fields", scope="crm")
def activity_fields(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Describe the activity fields (docs crm.activity.fields)."""
    require_crm_access(ctx)
    return describe(ACTIVITY_FIELDS)


@method("crm.activity.communication.fields", scope="crm")
def communication_fields(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """Describe the communication fields (docs crm.activity.communication.fields)."""
    require_crm_access(ctx)
    return describe(COMMUNICATION_FIELDS)
