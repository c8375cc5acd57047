"""Changes a user makes in the portal UI: they emit the same events as REST changes do (notes §2.1, §2.2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sandbox.core import CallContext, RestError
from sandbox.crm.activity import update_deadline
from sandbox.crm.common import emit, now, parse_dt, touch
from sandbox.crm.configurable import emit_rest_event
from sandbox.crm.store import Activity
from sandbox.dispatch import invoke
from sandbox.events import deliver_emitted
from sandbox.state import Portal, Sandbox, User


class UiRefused(Exception):
    """A UI change the portal refuses (no permission, unknown item)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@contextmanager
def user_change(sandbox: Sandbox, portal: Portal, user: User) -> Iterator[CallContext]:
    """Run a change as a portal user (no app context) and deliver its events with that user's auth."""
    with sandbox.lock:
        ctx = CallContext(sandbox=sandbox, portal=portal, user=user)
        try:
            yield ctx
        finally:
            deliver_emitted(ctx)


def editable(portal: Portal, user: User, activity_id: int) -> Activity:
    """Return an activity the user may change, or refuse."""
    activity = portal.crm.activity(activity_id)
    if activity is None:
        raise UiRefused("Activity is not found", 404)
    if not user.can_edit_crm:
        raise UiRefused("Access denied.", 403)
    return activity


def complete(sandbox: Sandbox, portal: Portal, user: User, activity_id: int) -> Activity:
    """Mark an activity done from its timeline card: ONCRMACTIVITYUPDATE (notes §2.1)."""
    with user_change(sandbox, portal, user) as ctx:
        activity = editable(portal, user, activity_id)
        activity.set_completed(True)
        activity.locked = False
        touch(ctx, activity)
        emit(ctx, "UPDATE", activity.id)
    return activity


def delete(sandbox: Sandbox, portal: Portal, user: User, activity_id: int) -> None:
    """Delete an activity from the timeline: ONCRMACTIVITYDELETE (notes §2.1)."""
    with user_change(sandbox, portal, user) as ctx:
        activity = editable(portal, user, activity_id)
        portal.crm.remove_activity(activity.id)
        emit(ctx, "DELETE", activity.id)


def add_todo(sandbox: Sandbox, portal: Portal, user: User, owner: tuple[int, int], title: str) -> int:
    """Add a quick to-do through crm.activity.todo.add as this user: ONCRMACTIVITYADD."""
    if not user.can_edit_crm:
        raise UiRefused("Access denied.", 403)
    if owner not in portal.owners:
        raise UiRefused("CRM item is not found", 404)
    with user_change(sandbox, portal, user) as ctx:
        deadline = (now(ctx) + timedelta(days=1)).replace(minute=0, second=0)
        params = {
            "ownerTypeId": owner[0],
            "ownerId": owner[1],
            "deadline": deadline.isoformat(),
            "title": title.strip() or "To-do",
            "description": "",
            "responsibleId": user.id,
        }
        try:
            result: Any = invoke(ctx, "crm.activity.todo.add", params)
        except RestError as error:
            raise UiRefused(error.description or str(error.code), 400) from error
    return int(result["id"]) if isinstance(result, dict) else int(result)


def rest_event(
    sandbox: Sandbox,
    portal: Portal,
    user: User,
    *,
    activity_id: int,
    client_id: str,
    action_id: str,
    owner: tuple[int, int],
) -> int:
    """Fire ONCRMTIMELINEITEMACTION to the app that owns the action only (notes §3.6); return deliveries.

    The action's params come from the stored layout (the portal signs them), never from the browser.
    """
    entity = owner if owner[0] and owner[1] else None
    try:
        sent = emit_rest_event(
            sandbox,
            portal,
            activity_id,
            action_id,
            user_id=user.id,
            client_id=client_id or None,
            entity=entity,
        )
    except LookupError as error:
        raise UiRefused("Action is not found", 404) from error
    return len(sent)


def change_deadline(sandbox: Sandbox, portal: Portal, user: User, activity_id: int, value: str) -> Activity:
    """Move an open activity's deadline from its deadline block: ONCRMACTIVITYUPDATE (notes §6.2)."""
    with user_change(sandbox, portal, user) as ctx:
        activity = editable(portal, user, activity_id)
        if activity.completed:
            raise UiRefused("A completed activity cannot be changed", 400)  # notes §6.2: forced read-only
        try:
            deadline = parse_dt(ctx, value)
        except ValueError as error:
            raise UiRefused("Incorrect date", 400) from error
        if activity.fields.get("TYPE_ID") in (1, 2):
            activity.fields["START_TIME"] = deadline
        elif activity.provider == "CRM_TODO":
            activity.fields.update(START_TIME=deadline, END_TIME=deadline)  # as todo.updateDeadline does
        else:
            start = activity.fields.get("START_TIME") or deadline
            activity.fields.update(START_TIME=min(start, deadline), END_TIME=deadline)
        update_deadline(activity)
        touch(ctx, activity)
        emit(ctx, "UPDATE", activity.id)
    return activity
