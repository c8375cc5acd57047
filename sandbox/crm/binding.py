"""crm.activity.binding.add / move / list / delete: which CRM items an activity is bound to."""

from __future__ import annotations

from typing import Any

from sandbox.core import CallContext, method
from sandbox.crm.common import (
    can_edit,
    can_read,
    can_read_owner,
    d7_error,
    emit,
    owner,
    require_int_params,
    store,
    touch,
)
from sandbox.crm.store import MAX_BINDINGS, Activity

# Messages as the pages print them: docs binding.add/delete "Entity not found", list/move "Element not found".
ENTITY_NOT_FOUND = "Entity not found"
ELEMENT_NOT_FOUND = "Element not found"


@method("crm.activity.binding.add", scope="crm")
def binding_add(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Bind an activity to one more CRM item, at most 100 (docs crm.activity.binding.add)."""
    activity_id, type_id, entity_id = require_int_params(params, "activityId", "entityTypeId", "entityId")
    activity = find_activity(ctx, activity_id, ENTITY_NOT_FOUND)
    check_owner(ctx, type_id, entity_id, "Owner of the entity not found")
    check_edit(ctx, (type_id, entity_id))
    if (type_id, entity_id) in activity.bindings:
        raise d7_error("ACTIVITY_IS_ALREADY_BOUND", "The activity is already bound to this entity")
    if len(activity.bindings) >= MAX_BINDINGS:
        # docs binding.add "Limit": 100; the page lists no code for it, so this one is the sandbox's
        raise d7_error("TOO_MANY_BINDINGS", f"The maximum number of bindings is {MAX_BINDINGS}")
    activity.bindings.append((type_id, entity_id))
    return changed(ctx, activity)


@method("crm.activity.binding.move", scope="crm")
def binding_move(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Move a binding to another item of the same type (docs crm.activity.binding.move)."""
    names = ("activityId", "sourceEntityTypeId", "sourceEntityId", "targetEntityTypeId", "targetEntityId")
    activity_id, source_type, source_id, target_type, target_id = require_int_params(params, *names)
    activity = find_activity(ctx, activity_id, ELEMENT_NOT_FOUND)
    if source_type != target_type:
        raise d7_error(
            "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL", "Cannot move the activity to another type"
        )
    if source_id == target_id:
        raise d7_error(
            "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR", "Cannot move the activity to the same entity"
        )
    for entity_id in (source_id, target_id):
        check_owner(ctx, source_type, entity_id, "Owner of the element not found")
    check_edit(ctx, (source_type, source_id), (target_type, target_id))
    source, target = (source_type, source_id), (target_type, target_id)
    if source not in activity.bindings:
        raise d7_error("BINDING_NOT_FOUND", "The activity is not bound to the specified entity")
    if target in activity.bindings:
        raise d7_error("ACTIVITY_IS_ALREADY_BOUND", "The activity is already bound to this entity")
    activity.bindings[activity.bindings.index(source)] = target
    sync_owner(activity)
    return changed(ctx, activity)


@method("crm.activity.binding.list", scope="crm")
def binding_list(ctx: CallContext, params: dict[str, Any]) -> list[dict[str, int]]:
    """List an activity's bindings as integers (docs crm.activity.binding.list example)."""
    (activity_id,) = require_int_params(params, "activityId")
    activity = find_activity(ctx, activity_id, ELEMENT_NOT_FOUND)
    if not can_read(ctx, activity):  # Crm\Controller\Activity\Binding::listAction checks the read right
        raise d7_error("ACCESS_DENIED", "Access denied.")
    return [{"entityTypeId": type_id, "entityId": entity_id} for type_id, entity_id in activity.bindings]


@method("crm.activity.binding.delete", scope="crm")
def binding_delete(ctx: CallContext, params: dict[str, Any]) -> bool:
    """Unbind an activity from an item; the last binding stays (docs crm.activity.binding.delete)."""
    activity_id, type_id, entity_id = require_int_params(params, "activityId", "entityTypeId", "entityId")
    activity = find_activity(ctx, activity_id, ENTITY_NOT_FOUND)
    check_owner(ctx, type_id, entity_id, "Owner of the entity not found")
    check_edit(ctx, (type_id, entity_id))
    if (type_id, entity_id) not in activity.bindings:
        raise d7_error("BINDING_NOT_FOUND", "Activity not linked to this entity")
    if len(activity.bindings) == 1:
        # docs crm.activity.binding.delete: LAST_BINDING_CANNOT_BE_DELETED
        raise d7_error("LAST_BINDING_CANNOT_BE_DELETED", "Cannot delete the only binding of the activity")
    activity.bindings.remove((type_id, entity_id))
    sync_owner(activity)
    return changed(ctx, activity)


def find_activity(ctx: CallContext, activity_id: int, message: str) -> Activity:
    activity = store(ctx).activity(activity_id)
    if activity is None:
        raise d7_error("NOT_FOUND", message)
    return activity


def check_owner(ctx: CallContext, type_id: int, entity_id: int, message: str) -> None:
    if owner(ctx, type_id, entity_id) is None:
        raise d7_error("OWNER_NOT_FOUND", message)


def check_edit(ctx: CallContext, *items: tuple[int, int]) -> None:
    """The user may change CRM items, and each of `items` (Binding::canEdit: canUpdate per item).

    In the sandbox's model a user updates what they may read: a user with "own" rights cannot bind the
    activity to, or move it onto, someone else's item (crm/lib/controller/activity/binding.php).
    """
    if not can_edit(ctx) or not all(can_read_owner(ctx, t, i) for t, i in items):
        raise d7_error("ACCESS_DENIED", "Access denied.")


def sync_owner(activity: Activity) -> None:
    """Keep OWNER_TYPE_ID/OWNER_ID on a binding the activity still has: the first one."""
    if (activity.field("OWNER_TYPE_ID"), activity.field("OWNER_ID")) not in activity.bindings:
        activity.fields["OWNER_TYPE_ID"], activity.fields["OWNER_ID"] = activity.bindings[0]


def changed(ctx: CallContext, activity: Activity) -> bool:
    touch(ctx, activity)
    emit(ctx, "UPDATE", activity.id)
    return True
