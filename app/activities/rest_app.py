"""Creating the app's own activities (PROVIDER_ID=REST_APP) with content blocks, for the page and the API.

The order, and why nothing stays half-written:

1. `crm.activity.add` with PROVIDER_ID=REST_APP, PROVIDER_TYPE_ID = the manifest's activity type, bound to
   the owner by OWNER_TYPE_ID/OWNER_ID (docs "How to create an activity from an application": a REST_APP
   activity takes no COMMUNICATIONS), ORIGIN_ID = the caller's idempotency key.
2. `crm.activity.layout.blocks.set` on it. Whether a portal accepts blocks on REST_APP activities is disputed
   (notes §3.5, §9.10); there is no way to ask, so the portal's answer decides, every time.
3. On UNSUITABLE_ACTIVITY_TYPE_ERROR: `crm.activity.todo.add` (same owner, subject, description,
   responsible, deadline), ORIGIN_ID put on the to-do, the blocks set on it, and only then the REST_APP
   activity deleted. The REST_APP activity is made first because most creations need nothing else; the
   to-do exists before the REST_APP one goes, so the timeline never lacks the item.

A step that fails is undone (what this call made is deleted) before the error is raised. A process that dies
between steps leaves activities carrying the ORIGIN_ID; `resume_app_activity` finds them by ORIGIN_ID and
finishes the job (blocks.set replaces, so setting again is harmless). The one window it cannot see is a crash
between todo.add and putting ORIGIN_ID on the to-do: a resume then makes another to-do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from app.bitrix24 import activities
from app.bitrix24.activities import Activity
from app.bitrix24.client import Client
from app.bitrix24.errors import Bitrix24Error, NotFound, UnsuitableActivityType
from app.bitrix24.prepared import Request, as_int
from app.layout import parse_layout

log = logging.getLogger(__name__)
REST_APP = "REST_APP"
TODO = "CRM_TODO"
TODO_DEADLINE = timedelta(days=1)  # a to-do needs a deadline; the REST_APP activity does not


@dataclass(frozen=True)
class Created:
    """What was made: the activity's id, whether it is the to-do fallback, whether blocks were set."""

    activity_id: int
    fallback: bool  # the portal refused blocks on REST_APP activities, so this is a CRM_TODO with them
    blocks_set: bool
    provider_id: str  # REST_APP or CRM_TODO
    owner_type_id: int
    owner_id: int
    resumed: bool = False  # found by ORIGIN_ID: an earlier attempt had made it

    def as_dict(self) -> dict[str, Any]:
        """The JSON the API answers with."""
        return {
            "activity_id": self.activity_id,
            "provider_id": self.provider_id,
            "fallback": self.fallback,
            "blocks_set": self.blocks_set,
            "owner": {"type_id": self.owner_type_id, "id": self.owner_id},
        }


@dataclass(frozen=True)
class _Order:
    """One creation's inputs, checked."""

    owner_type_id: int
    owner_id: int
    subject: str
    description: str
    layout: dict[str, Any] | None
    responsible_id: int
    deadline: datetime | None
    origin_id: str | None


def create_app_activity(
    client: Client,
    *,
    owner_type_id: int,
    owner_id: int,
    subject: str,
    description: str = "",
    layout: dict[str, Any] | None = None,
    responsible_id: int | None = None,
    deadline: datetime | None = None,
    origin_id: str | None = None,
) -> Created:
    """Make a REST_APP activity with blocks, or a to-do with them where the portal refuses; see the module."""
    order = _order(client, owner_type_id, owner_id, subject, description, layout, responsible_id, deadline)
    order = replace(order, origin_id=origin_id or None)
    activity_id = client.run(activities.add(_rest_app_fields(order)))
    return _finish(client, order, activity_id, resumed=False)


def resume_app_activity(
    client: Client,
    *,
    origin_id: str,
    owner_type_id: int,
    owner_id: int,
    subject: str,
    description: str = "",
    layout: dict[str, Any] | None = None,
    responsible_id: int | None = None,
    deadline: datetime | None = None,
) -> Created:
    """Finish what an earlier attempt with this ORIGIN_ID began (or begin it): never a second activity."""
    found = find_by_origin(client, origin_id)
    if not found:
        return create_app_activity(
            client,
            owner_type_id=owner_type_id,
            owner_id=owner_id,
            subject=subject,
            description=description,
            layout=layout,
            responsible_id=responsible_id,
            deadline=deadline,
            origin_id=origin_id,
        )
    order = _order(client, owner_type_id, owner_id, subject, description, layout, responsible_id, deadline)
    order = replace(order, origin_id=origin_id)
    todos = [a for a in found if a.provider_id == TODO]
    rest_apps = [a for a in found if a.provider_id == REST_APP]
    if todos:  # the fallback got as far as the to-do: set its blocks again, drop the REST_APP leftovers
        _delete_quietly(client, [a.id for a in rest_apps])
        return _fallback_blocks(client, order, todos[0].id, resumed=True)
    _delete_quietly(client, [a.id for a in rest_apps[1:]])
    return _finish(client, order, rest_apps[0].id, resumed=True)


def find_by_origin(client: Client, origin_id: str) -> list[Activity]:
    """The app's activities (REST_APP) and fallback to-dos carrying this ORIGIN_ID, oldest first."""
    request = activities.list_(
        filter={"ORIGIN_ID": origin_id},
        select=["ID", "OWNER_TYPE_ID", "OWNER_ID", "PROVIDER_ID", "ORIGIN_ID"],
        order={"ID": "ASC"},
    )
    return [a for a in client.run(request) if a.origin_id == origin_id and a.provider_id in (REST_APP, TODO)]


def _order(
    client: Client,
    owner_type_id: int,
    owner_id: int,
    subject: str,
    description: str,
    layout: dict[str, Any] | None,
    responsible_id: int | None,
    deadline: datetime | None,
) -> _Order:
    """Check the layout before anything is sent; the token's user is responsible unless one is named."""
    wire = parse_layout(layout).to_wire() if layout is not None else None  # LayoutError: nothing sent
    if responsible_id is None:
        responsible_id = as_int((client.call("user.current") or {}).get("ID"))
    return _Order(
        owner_type_id, owner_id, subject, description, wire, responsible_id, deadline, origin_id=None
    )


def _rest_app_fields(order: _Order) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "OWNER_TYPE_ID": order.owner_type_id,
        "OWNER_ID": order.owner_id,
        "PROVIDER_ID": REST_APP,
        "PROVIDER_TYPE_ID": provider_type_id(),
        "SUBJECT": order.subject,
        "DESCRIPTION": order.description,
        "RESPONSIBLE_ID": order.responsible_id,
        "COMPLETED": "N",
    }
    if order.deadline is not None:
        fields["END_TIME"] = order.deadline  # DEADLINE is derived from END_TIME (docs crm.activity.add)
    if order.origin_id:
        fields["ORIGIN_ID"] = order.origin_id
    return fields


def provider_type_id() -> str:
    """The activity type the manifest registers: the PROVIDER_TYPE_ID of every activity the app makes."""
    return str(current_app.extensions["manifest"].activity_types[0].type_id)


def _finish(client: Client, order: _Order, activity_id: int, *, resumed: bool) -> Created:
    """Set the blocks on the REST_APP activity, falling back to a to-do; undo on any other failure."""
    made = Created(activity_id, False, False, REST_APP, order.owner_type_id, order.owner_id, resumed)
    if order.layout is None:
        return made
    try:
        client.run(_blocks(order, activity_id, order.layout))
    except UnsuitableActivityType:
        log.info("REST_APP activity %s takes no blocks on this portal: making a to-do instead", activity_id)
        created = _undoing(client, [activity_id], lambda: _fallback(client, order))
        _delete_quietly(client, [activity_id])
        return replace(created, resumed=resumed)
    except Bitrix24Error:
        _undo(client, [activity_id])
        raise
    return Created(activity_id, False, True, REST_APP, order.owner_type_id, order.owner_id, resumed)


def _fallback(client: Client, order: _Order) -> Created:
    """A to-do with the same texts, the ORIGIN_ID and the blocks."""
    deadline = order.deadline or datetime.now(UTC).replace(microsecond=0) + TODO_DEADLINE
    todo_id = client.run(
        activities.todo_add(
            order.owner_type_id,
            order.owner_id,
            deadline=deadline,
            title=order.subject,
            description=order.description,
            responsible_id=order.responsible_id,
        )
    )
    return _undoing(client, [todo_id], lambda: _fallback_blocks(client, order, todo_id, resumed=False))


def _fallback_blocks(client: Client, order: _Order, todo_id: int, *, resumed: bool) -> Created:
    if order.origin_id:
        client.run(activities.update(todo_id, {"ORIGIN_ID": order.origin_id}))
    if order.layout is not None:
        client.run(_blocks(order, todo_id, order.layout))
    return Created(
        todo_id, True, order.layout is not None, TODO, order.owner_type_id, order.owner_id, resumed
    )


def _blocks(order: _Order, activity_id: int, layout: dict[str, Any]) -> Request[bool]:
    return activities.blocks_set(order.owner_type_id, order.owner_id, activity_id, layout)


def _undoing(client: Client, made: list[int], step: Callable[[], Created]) -> Created:
    """Run a step; if it fails, delete what was made for it and raise the step's error."""
    try:
        return step()
    except Bitrix24Error:
        _undo(client, made)
        raise


def _undo(client: Client, ids: list[int]) -> None:
    log.info("undoing activities %s after a failed step", ids)
    _delete_quietly(client, ids)


def _delete_quietly(client: Client, ids: list[int]) -> None:
    """Delete activities this module made; a failure is logged, the caller's own error matters more."""
    for activity_id in ids:
        try:
            client.run(activities.delete(activity_id))
        except NotFound:
            pass
        except Bitrix24Error as error:
            log.warning("activity %s could not be deleted and stays behind: %s", activity_id, error)


def owner_of(fields: Mapping[str, Any]) -> tuple[int, int]:
    """(OWNER_TYPE_ID, OWNER_ID) of an activity as crm.activity.get returns it."""
    return as_int(fields.get("OWNER_TYPE_ID")), as_int(fields.get("OWNER_ID"))
