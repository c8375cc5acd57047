"""The crm.activity.* API as prepared requests with checked parameters and typed results.

Run one with `client.run(activities.get(42))`, or several in one round trip with `client.run_batch({...})`.
Parameter names are the vendor pages' own (legacy methods take `fields` in UPPER case, the newer
controllers camelCase).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.bitrix24.errors import InvalidParameter
from app.bitrix24.prepared import (
    Request,
    as_datetime,
    as_int,
    choice,
    flag,
    moment,
    positive_int,
    text,
)
from app.layout import LayoutError, parse_configurable_layout, parse_layout

# docs crm.activity.fields: the writable fields, by kind, for checking `fields` before sending.
INT_FIELDS = frozenset(
    {
        "OWNER_ID",
        "OWNER_TYPE_ID",
        "TYPE_ID",
        "ASSOCIATED_ENTITY_ID",
        "RESPONSIBLE_ID",
        "PRIORITY",
        "STATUS",
        "DIRECTION",
        "NOTIFY_TYPE",
        "NOTIFY_VALUE",
        "DESCRIPTION_TYPE",
        "AUTHOR_ID",
        "EDITOR_ID",
    }
)
TEXT_FIELDS = frozenset(
    {
        "SUBJECT",
        "DESCRIPTION",
        "LOCATION",
        "PROVIDER_ID",
        "PROVIDER_TYPE_ID",
        "PROVIDER_GROUP_ID",
        "PROVIDER_DATA",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "ORIGIN_VERSION",
        "RESULT_CURRENCY_ID",
        "RESULT_SOURCE_ID",
    }
)
TIME_FIELDS = frozenset({"START_TIME", "END_TIME", "DEADLINE"})
FLAG_FIELDS = frozenset({"COMPLETED", "IS_INCOMING_CHANNEL"})
OBJECT_FIELDS = frozenset(
    {"COMMUNICATIONS", "BINDINGS", "SETTINGS", "PROVIDER_PARAMS", "FILES", "WEBDAV_ELEMENTS"}
)
NUMBER_FIELDS = frozenset({"RESULT_MARK", "RESULT_VALUE", "RESULT_SUM", "RESULT_STATUS", "RESULT_STREAM"})
WRITABLE = INT_FIELDS | TEXT_FIELDS | TIME_FIELDS | FLAG_FIELDS | OBJECT_FIELDS | NUMBER_FIELDS
TODO_COLORS = tuple(str(n) for n in range(1, 8))  # docs crm.activity.todo.updateColor: 1–7
BADGE_TYPES = ("success", "failure", "warning", "primary", "secondary")  # notes §6.3


@dataclass(frozen=True)
class Activity:
    """An activity as crm.activity.get/list return it; `fields` keeps every raw value."""

    id: int
    owner_type_id: int
    owner_id: int
    type_id: int
    provider_id: str
    provider_type_id: str
    subject: str
    description: str
    completed: bool
    status: int
    responsible_id: int
    priority: int
    direction: int
    deadline: datetime | None
    associated_entity_id: int
    origin_id: str
    last_updated: datetime | None
    fields: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Binding:
    entity_type_id: int
    entity_id: int


@dataclass(frozen=True)
class ActivityType:
    type_id: str
    name: str
    configurable: bool
    icon_id: str


@dataclass(frozen=True)
class Badge:
    code: str
    title: Any
    value: Any
    type: str


@dataclass(frozen=True)
class Page:
    """One page of crm.activity.list."""

    items: list[Activity]
    next: int | None
    total: int | None


def parse_activity(raw: Any) -> Activity:
    """Type the fields the app reads; legacy methods send ids and enums as strings."""
    data = raw if isinstance(raw, dict) else {}
    return Activity(
        id=as_int(data.get("ID")),
        owner_type_id=as_int(data.get("OWNER_TYPE_ID")),
        owner_id=as_int(data.get("OWNER_ID")),
        type_id=as_int(data.get("TYPE_ID")),
        provider_id=str(data.get("PROVIDER_ID") or ""),
        provider_type_id=str(data.get("PROVIDER_TYPE_ID") or ""),
        subject=str(data.get("SUBJECT") or ""),
        description=str(data.get("DESCRIPTION") or ""),
        completed=data.get("COMPLETED") == "Y",
        status=as_int(data.get("STATUS")),
        responsible_id=as_int(data.get("RESPONSIBLE_ID")),
        priority=as_int(data.get("PRIORITY")),
        direction=as_int(data.get("DIRECTION")),
        deadline=as_datetime(data.get("DEADLINE")),
        associated_entity_id=as_int(data.get("ASSOCIATED_ENTITY_ID")),
        origin_id=str(data.get("ORIGIN_ID") or ""),
        last_updated=as_datetime(data.get("LAST_UPDATED")),
        fields=dict(data),
    )


def _true(result: Any) -> bool:
    return bool(result)


def _id(result: Any) -> int:
    """`{"id": 5}` (controllers) or a bare id (legacy)."""
    return as_int(result.get("id") if isinstance(result, dict) else result)


def _success(result: Any) -> bool:
    return bool(result.get("success")) if isinstance(result, dict) else bool(result)


def _activity_fields(method: str, fields: Mapping[str, Any], *, adding: bool) -> dict[str, Any]:
    """Check names and types of crm.activity.add/update fields before anything is sent."""
    if not isinstance(fields, Mapping) or not fields:
        raise InvalidParameter("fields", "must be a non-empty mapping of activity fields", method=method)
    checked = {name: _field(method, name, value) for name, value in fields.items()}
    if adding:
        for name in ("OWNER_ID", "OWNER_TYPE_ID", "RESPONSIBLE_ID"):
            if name not in checked:
                raise InvalidParameter(f"fields[{name}]", "is required", method=method)
        if "TYPE_ID" not in checked and "PROVIDER_ID" not in checked:
            raise InvalidParameter(
                "fields[TYPE_ID]", "is required unless PROVIDER_ID is given", method=method
            )
    return checked


def _field(method: str, name: str, value: Any) -> Any:
    """Check one activity field by its kind."""
    where = f"fields[{name}]"
    if name not in WRITABLE:
        raise InvalidParameter(
            where, "is not a writable activity field (see crm.activity.fields)", method=method
        )
    if name in INT_FIELDS:
        return positive_int(method, where, value) if name.endswith("_ID") else _integer(method, where, value)
    if name in TEXT_FIELDS:
        return text(method, where, value, required=name == "SUBJECT")
    if name in TIME_FIELDS:
        return moment(method, where, value)
    if name in FLAG_FIELDS:
        return flag(value) if isinstance(value, bool) else choice(method, where, value, ("Y", "N"))
    if name in OBJECT_FIELDS and not isinstance(value, list | tuple | Mapping):
        raise InvalidParameter(where, "must be a list or an object", method=method)
    return value


def _integer(method: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        raise InvalidParameter(name, f"must be an integer, not {value!r}", method=method)
    return int(value)


# --- crm.activity: add, update, get, list, delete, fields, communication.fields ---


def add(fields: Mapping[str, Any]) -> Request[int]:
    """crm.activity.add → the new activity's id."""
    method = "crm.activity.add"
    return Request(method, {"fields": _activity_fields(method, fields, adding=True)}, _id)


def update(activity_id: int, fields: Mapping[str, Any]) -> Request[bool]:
    """crm.activity.update."""
    method = "crm.activity.update"
    checked = _activity_fields(method, fields, adding=False)
    return Request(method, {"id": positive_int(method, "id", activity_id), "fields": checked}, _true)


def get(activity_id: int) -> Request[Activity]:
    """crm.activity.get."""
    method = "crm.activity.get"
    return Request(method, {"id": positive_int(method, "id", activity_id)}, parse_activity)


def list_(
    *,
    filter: Mapping[str, Any] | None = None,  # the method's own parameter name
    select: list[str] | None = None,
    order: Mapping[str, str] | None = None,
    start: int | None = None,
) -> Request[list[Activity]]:
    """crm.activity.list (one page; `client.iterate` walks them all)."""
    method = "crm.activity.list"
    params: dict[str, Any] = {}
    if filter is not None:
        params["filter"] = _mapping(method, "filter", filter)
    if select is not None:
        if not isinstance(select, list) or not all(isinstance(s, str) for s in select):
            raise InvalidParameter("select", "must be a list of field names", method=method)
        params["select"] = select
    if order is not None:
        params["order"] = {
            k: choice(method, f"order[{k}]", str(v).upper(), ("ASC", "DESC"))
            for k, v in _mapping(method, "order", order).items()
        }
    if start is not None:
        params["start"] = _integer(method, "start", start) if start != -1 else -1
    return Request(method, params, lambda result: [parse_activity(item) for item in result or []])


def delete(activity_id: int) -> Request[bool]:
    """crm.activity.delete."""
    method = "crm.activity.delete"
    return Request(method, {"id": positive_int(method, "id", activity_id)}, _true)


def fields() -> Request[dict[str, Any]]:
    """crm.activity.fields: the field descriptions."""
    return Request("crm.activity.fields", {}, lambda result: dict(result or {}))


def communication_fields() -> Request[dict[str, Any]]:
    """crm.activity.communication.fields."""
    return Request("crm.activity.communication.fields", {}, lambda result: dict(result or {}))


def _mapping(method: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameter(name, "must be an object", method=method)
    return dict(value)


# --- crm.activity.todo.* ---


def _owner(method: str, owner_type_id: int, owner_id: int) -> dict[str, int]:
    return {
        "ownerTypeId": positive_int(method, "ownerTypeId", owner_type_id),
        "ownerId": positive_int(method, "ownerId", owner_id),
    }


def todo_add(
    owner_type_id: int,
    owner_id: int,
    *,
    deadline: datetime | str,
    title: str = "",
    description: str = "",
    responsible_id: int | None = None,
    color_id: str | None = None,
    ping_offsets: list[int] | None = None,
    parent_activity_id: int | None = None,
) -> Request[int]:
    """crm.activity.todo.add → the new to-do's id."""
    method = "crm.activity.todo.add"
    params: dict[str, Any] = {
        **_owner(method, owner_type_id, owner_id),
        "deadline": moment(method, "deadline", deadline),
        "title": text(method, "title", title),
        "description": text(method, "description", description),
    }
    params.update(_todo_extras(method, responsible_id, color_id, ping_offsets, parent_activity_id))
    return Request(method, params, _id)


def todo_update(
    activity_id: int,
    owner_type_id: int,
    owner_id: int,
    *,
    deadline: datetime | str,
    title: str | None = None,
    description: str | None = None,
    responsible_id: int | None = None,
    color_id: str | None = None,
    ping_offsets: list[int] | None = None,
    parent_activity_id: int | None = None,
) -> Request[int]:
    """crm.activity.todo.update."""
    method = "crm.activity.todo.update"
    params: dict[str, Any] = {
        "id": positive_int(method, "id", activity_id),
        **_owner(method, owner_type_id, owner_id),
        "deadline": moment(method, "deadline", deadline),
    }
    if title is not None:
        params["title"] = text(method, "title", title)
    if description is not None:
        params["description"] = text(method, "description", description)
    params.update(_todo_extras(method, responsible_id, color_id, ping_offsets, parent_activity_id))
    return Request(method, params, _id)


def _todo_extras(
    method: str,
    responsible_id: int | None,
    color_id: str | None,
    ping_offsets: list[int] | None,
    parent_activity_id: int | None,
) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if responsible_id is not None:
        extras["responsibleId"] = positive_int(method, "responsibleId", responsible_id)
    if color_id is not None:
        extras["colorId"] = choice(method, "colorId", str(color_id), TODO_COLORS)
    if ping_offsets is not None:
        if not isinstance(ping_offsets, list) or not all(isinstance(p, int) and p >= 0 for p in ping_offsets):
            raise InvalidParameter(
                "pingOffsets", "must be a list of minutes (non-negative integers)", method=method
            )
        extras["pingOffsets"] = ping_offsets
    if parent_activity_id is not None:
        extras["parentActivityId"] = positive_int(method, "parentActivityId", parent_activity_id)
    return extras


def _todo_change(
    method: str, activity_id: int, owner_type_id: int, owner_id: int, **values: Any
) -> Request[bool]:
    params = {
        "id": positive_int(method, "id", activity_id),
        **_owner(method, owner_type_id, owner_id),
        **values,
    }
    return Request(method, params, _id_or_true)


def _id_or_true(result: Any) -> bool:
    return bool(result)


def todo_update_color(
    activity_id: int, owner_type_id: int, owner_id: int, color_id: str | int
) -> Request[bool]:
    """crm.activity.todo.updateColor (colours 1–7)."""
    method = "crm.activity.todo.updateColor"
    color = choice(method, "colorId", str(color_id), TODO_COLORS)
    return _todo_change(method, activity_id, owner_type_id, owner_id, colorId=color)


def todo_update_deadline(
    activity_id: int, owner_type_id: int, owner_id: int, value: datetime | str
) -> Request[bool]:
    """crm.activity.todo.updateDeadline."""
    method = "crm.activity.todo.updateDeadline"
    return _todo_change(method, activity_id, owner_type_id, owner_id, value=moment(method, "value", value))


def todo_update_description(activity_id: int, owner_type_id: int, owner_id: int, value: str) -> Request[bool]:
    """crm.activity.todo.updateDescription."""
    method = "crm.activity.todo.updateDescription"
    return _todo_change(method, activity_id, owner_type_id, owner_id, value=text(method, "value", value))


def todo_update_responsible_user(
    activity_id: int, owner_type_id: int, owner_id: int, responsible_id: int
) -> Request[bool]:
    """crm.activity.todo.updateResponsibleUser."""
    method = "crm.activity.todo.updateResponsibleUser"
    user = positive_int(method, "responsibleId", responsible_id)
    return _todo_change(method, activity_id, owner_type_id, owner_id, responsibleId=user)


# --- crm.activity.binding.* ---


def _binding_params(method: str, activity_id: int, entity_type_id: int, entity_id: int) -> dict[str, int]:
    return {
        "activityId": positive_int(method, "activityId", activity_id),
        "entityTypeId": positive_int(method, "entityTypeId", entity_type_id),
        "entityId": positive_int(method, "entityId", entity_id),
    }


def binding_add(activity_id: int, entity_type_id: int, entity_id: int) -> Request[bool]:
    """crm.activity.binding.add."""
    method = "crm.activity.binding.add"
    return Request(method, _binding_params(method, activity_id, entity_type_id, entity_id), _true)


def binding_delete(activity_id: int, entity_type_id: int, entity_id: int) -> Request[bool]:
    """crm.activity.binding.delete (the last binding cannot go)."""
    method = "crm.activity.binding.delete"
    return Request(method, _binding_params(method, activity_id, entity_type_id, entity_id), _true)


def binding_move(activity_id: int, source: Binding, target: Binding) -> Request[bool]:
    """crm.activity.binding.move (within one owner type)."""
    method = "crm.activity.binding.move"
    params = {
        "activityId": positive_int(method, "activityId", activity_id),
        "sourceEntityTypeId": positive_int(method, "sourceEntityTypeId", source.entity_type_id),
        "sourceEntityId": positive_int(method, "sourceEntityId", source.entity_id),
        "targetEntityTypeId": positive_int(method, "targetEntityTypeId", target.entity_type_id),
        "targetEntityId": positive_int(method, "targetEntityId", target.entity_id),
    }
    return Request(method, params, _true)


def binding_list(activity_id: int) -> Request[list[Binding]]:
    """crm.activity.binding.list."""
    method = "crm.activity.binding.list"
    return Request(method, {"activityId": positive_int(method, "activityId", activity_id)}, _bindings)


def _bindings(result: Any) -> list[Binding]:
    items = result if isinstance(result, list) else []
    return [
        Binding(as_int(i.get("entityTypeId")), as_int(i.get("entityId")))
        for i in items
        if isinstance(i, dict)
    ]


# --- crm.activity.type.* ---


def type_add(
    type_id: str, name: str, *, icon_file: tuple[str, str] | None = None, configurable: bool = False
) -> Request[bool]:
    """crm.activity.type.add; `icon_file` is (file name, base64 content)."""
    method = "crm.activity.type.add"
    fields: dict[str, Any] = {
        "TYPE_ID": text(method, "fields[TYPE_ID]", type_id, required=True, max_length=255),
        "NAME": text(method, "fields[NAME]", name, max_length=255),
        "IS_CONFIGURABLE_TYPE": flag(configurable),
    }
    if icon_file is not None:
        fields["ICON_FILE"] = {"fileData": list(icon_file)}
    return Request(method, {"fields": fields}, _true)


def type_list() -> Request[list[ActivityType]]:
    """crm.activity.type.list: this app's custom types."""
    return Request("crm.activity.type.list", {}, _types)


def _types(result: Any) -> list[ActivityType]:
    items = result if isinstance(result, list) else []
    return [
        ActivityType(
            str(i.get("TYPE_ID", "")),
            str(i.get("NAME", "")),
            i.get("IS_CONFIGURABLE_TYPE") == "Y",
            str(i.get("ICON_ID", "")),
        )
        for i in items
        if isinstance(i, dict)
    ]


def type_delete(type_id: str) -> Request[bool]:
    """crm.activity.type.delete."""
    method = "crm.activity.type.delete"
    return Request(method, {"TYPE_ID": text(method, "TYPE_ID", type_id, required=True)}, _true)


# --- crm.activity.layout.blocks.* ---


def _block_target(method: str, entity_type_id: int, entity_id: int, activity_id: int) -> dict[str, int]:
    return {
        "entityTypeId": positive_int(method, "entityTypeId", entity_type_id),
        "entityId": positive_int(method, "entityId", entity_id),
        "activityId": positive_int(method, "activityId", activity_id),
    }


def blocks_set(
    entity_type_id: int, entity_id: int, activity_id: int, layout: Mapping[str, Any]
) -> Request[bool]:
    """crm.activity.layout.blocks.set; `layout` is RestAppLayoutDto JSON, checked by app.layout first."""
    method = "crm.activity.layout.blocks.set"
    try:
        wire = parse_layout(layout).to_wire()
    except LayoutError as error:
        first = error.problems[0]
        raise InvalidParameter(
            f"layout.{first.path}", f"{first.code}: {first.message}", method=method
        ) from None
    params = {**_block_target(method, entity_type_id, entity_id, activity_id), "layout": wire}
    return Request(method, params, _success)


def blocks_get(entity_type_id: int, entity_id: int, activity_id: int) -> Request[dict[str, Any] | None]:
    """crm.activity.layout.blocks.get → this app's layout, or None when it set none."""
    method = "crm.activity.layout.blocks.get"
    return Request(method, _block_target(method, entity_type_id, entity_id, activity_id), _layout)


def _layout(result: Any) -> dict[str, Any] | None:
    layout = result.get("layout") if isinstance(result, dict) else None
    return layout if isinstance(layout, dict) else None


def blocks_delete(entity_type_id: int, entity_id: int, activity_id: int) -> Request[bool]:
    """crm.activity.layout.blocks.delete."""
    method = "crm.activity.layout.blocks.delete"
    return Request(method, _block_target(method, entity_type_id, entity_id, activity_id), _success)


# --- crm.activity.configurable.* ---


def configurable_add(
    owner_type_id: int, owner_id: int, layout: Mapping[str, Any], fields: Mapping[str, Any] | None = None
) -> Request[int]:
    """crm.activity.configurable.add → the new activity's id."""
    method = "crm.activity.configurable.add"
    params = {
        **_owner(method, owner_type_id, owner_id),
        "fields": _mapping(method, "fields", fields or {}),
        "layout": _configurable_layout(method, layout),
    }
    return Request(method, params, _configurable_id)


def configurable_update(
    activity_id: int, layout: Mapping[str, Any], fields: Mapping[str, Any] | None = None
) -> Request[int]:
    """crm.activity.configurable.update (only the creating app may)."""
    method = "crm.activity.configurable.update"
    params = {
        "id": positive_int(method, "id", activity_id),
        "fields": _mapping(method, "fields", fields or {}),
        "layout": _configurable_layout(method, layout),
    }
    return Request(method, params, _configurable_id)


def configurable_get(activity_id: int) -> Request[dict[str, Any]]:
    """crm.activity.configurable.get → {"id", "fields", "layout", …}."""
    method = "crm.activity.configurable.get"
    return Request(method, {"id": positive_int(method, "id", activity_id)}, _configurable)


def _configurable_layout(method: str, layout: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return parse_configurable_layout(layout).to_wire()
    except LayoutError as error:
        first = error.problems[0]
        raise InvalidParameter(
            f"layout.{first.path}", f"{first.code}: {first.message}", method=method
        ) from None


def _configurable(result: Any) -> dict[str, Any]:
    activity = result.get("activity") if isinstance(result, dict) else None
    return dict(activity) if isinstance(activity, dict) else {}


def _configurable_id(result: Any) -> int:
    return as_int(_configurable(result).get("id"))


# --- crm.activity.badge.* ---


def badge_add(
    code: str, title: str | Mapping[str, str], value: str | Mapping[str, str], type: str
) -> Request[Badge]:
    """crm.activity.badge.add (administrators only)."""
    method = "crm.activity.badge.add"
    params = {
        "code": text(method, "code", code, required=True, max_length=255),
        "title": _translated(method, "title", title),
        "value": _translated(method, "value", value),
        "type": choice(method, "type", type, BADGE_TYPES),
    }
    return Request(method, params, _badge)


def badge_get(code: str) -> Request[Badge]:
    """crm.activity.badge.get."""
    method = "crm.activity.badge.get"
    return Request(method, {"code": text(method, "code", code, required=True)}, _badge)


def badge_list() -> Request[list[Badge]]:
    """crm.activity.badge.list."""
    return Request("crm.activity.badge.list", {}, _badges)


def badge_delete(code: str) -> Request[bool]:
    """crm.activity.badge.delete."""
    method = "crm.activity.badge.delete"
    return Request(method, {"code": text(method, "code", code, required=True)}, _true)


def _translated(method: str, name: str, value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping) and value and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise InvalidParameter(name, "must be a non-empty string or a map of language → string", method=method)


def _badge(result: Any) -> Badge:
    data = result.get("badge", result) if isinstance(result, dict) else {}
    return Badge(str(data.get("code", "")), data.get("title"), data.get("value"), str(data.get("type", "")))


def _badges(result: Any) -> list[Badge]:
    items = result.get("badges", []) if isinstance(result, dict) else result
    return [_badge({"badge": item}) for item in items or [] if isinstance(item, dict)]
