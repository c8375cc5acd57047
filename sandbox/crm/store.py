"""Per-portal CRM activity state: activities, bindings, custom types, block sets, badges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_BINDINGS = 100  # docs crm.activity.binding.add: "The maximum number of bindings ... is 100"

# Activity field values as stored: ints for ids/enums, "Y"/"N" for chars, datetimes, str, float, dict.
# The order is the order of crm.activity.get's example (docs crm.activity.get).
DEFAULT_SELECT = (
    "ID",
    "OWNER_ID",
    "OWNER_TYPE_ID",
    "TYPE_ID",
    "PROVIDER_ID",
    "PROVIDER_TYPE_ID",
    "PROVIDER_GROUP_ID",
    "ASSOCIATED_ENTITY_ID",
    "SUBJECT",
    "CREATED",
    "LAST_UPDATED",
    "START_TIME",
    "END_TIME",
    "DEADLINE",
    "COMPLETED",
    "STATUS",
    "RESPONSIBLE_ID",
    "PRIORITY",
    "NOTIFY_TYPE",
    "NOTIFY_VALUE",
    "DESCRIPTION",
    "DESCRIPTION_TYPE",
    "DIRECTION",
    "LOCATION",
    "SETTINGS",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
    "AUTHOR_ID",
    "EDITOR_ID",
    "PROVIDER_PARAMS",
    "PROVIDER_DATA",
    "RESULT_MARK",
    "RESULT_VALUE",
    "RESULT_SUM",
    "RESULT_CURRENCY_ID",
    "RESULT_STATUS",
    "RESULT_STREAM",
    "RESULT_SOURCE_ID",
    "AUTOCOMPLETE_RULE",
)
# Selectable on request only (docs crm.activity.list: "To get the fields COMMUNICATIONS and FILES, specify").
EXTRA_SELECT = (
    "IS_INCOMING_CHANNEL",
    "ORIGIN_VERSION",
    "BINDINGS",
    "COMMUNICATIONS",
    "FILES",
    "WEBDAV_ELEMENTS",
)


def blank_fields() -> dict[str, Any]:
    """Return the stored defaults of a new activity (the zeros of docs crm.activity.get's example)."""
    values: dict[str, Any] = dict.fromkeys(DEFAULT_SELECT)
    values.update(
        ASSOCIATED_ENTITY_ID=0,
        COMPLETED="N",
        STATUS=1,
        PRIORITY=2,
        NOTIFY_TYPE=0,
        NOTIFY_VALUE=0,
        DESCRIPTION="",
        DESCRIPTION_TYPE=1,
        DIRECTION=0,
        LOCATION="",
        SETTINGS={},
        PROVIDER_PARAMS={},
        RESULT_MARK=0,
        RESULT_STATUS=0,
        RESULT_STREAM=0,
        AUTOCOMPLETE_RULE=0,
        IS_INCOMING_CHANNEL="N",
        ORIGIN_VERSION=None,
    )
    return values


@dataclass
class Activity:
    """One activity: its REST fields plus what the portal keeps beside them."""

    id: int
    fields: dict[str, Any]
    bindings: list[tuple[int, int]] = field(default_factory=list)  # (OWNER_TYPE_ID, OWNER_ID), primary first
    communications: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"ID","TYPE","VALUE","ENTITY_ID","ENTITY_TYPE_ID"}
    files: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "size"}
    client_id: str | None = (
        None  # the creating app of REST_APP / CONFIGURABLE_REST_APP activities (notes §3.5)
    )
    color_id: str | None = None  # to-do colour "1".."7"; None = default (docs crm.activity.todo.updateColor)
    ping_offsets: list[int] = field(default_factory=list)
    parent_id: int | None = None  # parentActivityId of a to-do
    layout: dict[str, Any] | None = None  # LayoutDto of a configurable activity (notes §6.3)
    badge_code: str = ""
    locked: bool = (
        False  # a restEvent with animationType loader/disable locks it until the next update (notes §3.6)
    )

    def __post_init__(self) -> None:
        self.fields["ID"] = self.id  # filters and sorting read ID like any other field

    @property
    def provider(self) -> str:
        return self.fields.get("PROVIDER_ID") or ""

    @property
    def completed(self) -> bool:
        return self.fields.get("COMPLETED") == "Y"

    def field(self, name: str) -> Any:
        return self.fields.get(name)

    def set_completed(self, done: bool) -> None:
        """Keep COMPLETED and STATUS in step (notes §8.2: STATUS 1 waiting, 2 completed)."""
        self.fields["COMPLETED"] = "Y" if done else "N"
        self.fields["STATUS"] = 2 if done else 1

    def touch(self, user_id: int, now: datetime) -> None:
        self.fields["EDITOR_ID"] = user_id
        self.fields["LAST_UPDATED"] = now


@dataclass
class ActivityType:
    """A custom activity type registered by one app (docs crm.activity.type.add)."""

    client_id: str
    type_id: str
    name: str = ""
    is_configurable: bool = False
    icon_id: int = 0


@dataclass
class Badge:
    """A kanban badge of configurable activities (docs crm.activity.badge.add)."""

    code: str
    title: Any
    value: Any
    type: str
    client_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "title": self.title, "value": self.value, "type": self.type}


@dataclass
class CrmStore:
    """Everything activity-related on one portal."""

    activities: dict[int, Activity] = field(default_factory=dict)
    types: dict[tuple[str, str], ActivityType] = field(default_factory=dict)  # (client_id, TYPE_ID)
    # activity id → client_id → RestAppLayoutDto, in display order (docs layout.blocks.set "Appearance")
    layout_blocks: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    badges: dict[str, Badge] = field(default_factory=dict)  # by code

    def activity(self, activity_id: int | None) -> Activity | None:
        return self.activities.get(activity_id) if activity_id is not None else None

    def blocks_of(self, activity_id: int) -> dict[str, dict[str, Any]]:
        """Return every app's block set on an activity, in the order they were added."""
        return self.layout_blocks.get(activity_id, {})

    def remove_activity(self, activity_id: int) -> None:
        self.activities.pop(activity_id, None)
        self.layout_blocks.pop(activity_id, None)

    def on_app_uninstalled(self, app: Any, clean: bool) -> None:
        """Drop an uninstalled app's block sets and types (docs "Additional Content Blocks")."""
        for sets in self.layout_blocks.values():
            sets.pop(app.client_id, None)
        for key in [k for k in self.types if k[0] == app.client_id]:
            del self.types[key]
