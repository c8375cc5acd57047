"""The activity page's data: who is looking and everything the page shows, in one batch; the actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.bitrix24 import activities
from app.bitrix24.activities import Activity, Binding
from app.bitrix24.client import Client, Command
from app.bitrix24.errors import (
    AccessDenied,
    AuthError,
    Bitrix24Error,
    InvalidParameter,
    NotFound,
    UnsuitableActivityType,
)
from app.bitrix24.prepared import Request
from app.inputs import MAX_ID, JsonRefused, as_id, load_json
from app.layout import LayoutError, Problem, parse_layout
from app.layout.problems import Code
from app.main.service import Refused, unavailable

TODO_PROVIDER = "CRM_TODO"
CONFIGURABLE_PROVIDER = "CONFIGURABLE_REST_APP"


@dataclass(frozen=True)
class Viewer:
    """The user the portal vouched for with their own token (user.current)."""

    user_id: int
    name: str


@dataclass
class ActivityPage:
    """One round trip's answer: the viewer, the activity, its links and this app's content blocks."""

    viewer: Viewer
    activity: Activity
    bindings: list[Binding] = field(default_factory=list)
    bindings_error: Bitrix24Error | None = None
    layout: dict[str, Any] | None = None
    blocks_error: Bitrix24Error | None = None
    titles: dict[tuple[int, int], str] = field(default_factory=dict)  # CRM items read in the batch
    asked: set[tuple[int, int]] = field(default_factory=set)  # the items the batch asked crm.item.get for
    responsible_name: str = ""

    def title(self, type_id: int, item_id: int) -> str | None:
        """The item's title as the portal gave it; None when it was not found or not visible."""
        return self.titles.get((type_id, item_id))

    @property
    def is_todo(self) -> bool:
        return self.activity.provider_id == TODO_PROVIDER

    @property
    def blocks_allowed(self) -> bool:
        """Configurable activities never take blocks (notes §6.1); for others the portal says so on set."""
        unsuitable = isinstance(self.blocks_error, UnsuitableActivityType)
        return not unsuitable and self.activity.provider_id != CONFIGURABLE_PROVIDER


def page_commands(activity_id: int) -> dict[str, Command]:
    """The page's one batch; the blocks' owner comes from the activity by a `$result` reference (§5.5)."""
    return {
        "user": ("user.current", {}),
        "activity": ("crm.activity.get", {"id": activity_id}),
        "bindings": ("crm.activity.binding.list", {"activityId": activity_id}),
        "blocks": (
            "crm.activity.layout.blocks.get",
            {
                "entityTypeId": "$result[activity][OWNER_TYPE_ID]",
                "entityId": "$result[activity][OWNER_ID]",
                "activityId": activity_id,
            },
        ),
        **name_commands(),
    }


MAX_NAMED_BINDINGS = 20  # the batch holds 50; the rest of the links are shown by number


def name_commands() -> dict[str, Command]:
    """Titles of the owner and the first links, and the responsible's name, by `$result` references (§5.5).

    A link slot past the activity's last binding keeps its unresolved reference and fails on its own.
    """
    commands: dict[str, Command] = {
        "owner_item": (
            "crm.item.get",
            {"entityTypeId": "$result[activity][OWNER_TYPE_ID]", "id": "$result[activity][OWNER_ID]"},
        ),
        "responsible": ("user.get", {"ID": "$result[activity][RESPONSIBLE_ID]"}),
    }
    for i in range(MAX_NAMED_BINDINGS):
        ref = f"$result[bindings][{i}]"
        commands[f"item_{i}"] = (
            "crm.item.get",
            {"entityTypeId": f"{ref}[entityTypeId]", "id": f"{ref}[entityId]"},
        )
    return commands


def load(client: Client, activity_id: int) -> ActivityPage:
    """Ask the portal, as the user, who they are and what the page shows; Refused when it cannot be shown."""
    try:
        found = client.batch(page_commands(activity_id))
    except AuthError:
        raise Refused("reopen", 401) from None
    except Bitrix24Error as error:
        raise unavailable(error) from None
    if isinstance(found.errors.get("user"), AuthError):
        raise Refused("reopen", 401)
    viewer = _viewer(found.results.get("user"))
    activity_error = found.errors.get("activity")
    if isinstance(activity_error, NotFound | AccessDenied):
        raise Refused("no_activity", 404 if isinstance(activity_error, NotFound) else 403)
    if activity_error is not None:
        raise Refused("unavailable", 502, message=activity_error.user_message)
    activity = activities.parse_activity(found.results.get("activity"))
    if activity.id != activity_id:
        raise Refused("no_activity", 404)
    page = ActivityPage(viewer, activity)
    page.bindings_error = found.errors.get("bindings")
    if page.bindings_error is None:
        page.bindings = activities.binding_list(activity_id).parse(found.results.get("bindings"))
    _read_names(page, found.results)
    page.blocks_error = found.errors.get("blocks")
    blocks = found.results.get("blocks")
    if page.blocks_error is None and isinstance(blocks, Mapping) and isinstance(blocks.get("layout"), dict):
        page.layout = blocks["layout"]
    return page


def _read_names(page: ActivityPage, results: Mapping[str, Any]) -> None:
    """File every item title and the responsible's name the batch found; a refused one is simply absent."""
    page.asked = {(page.activity.owner_type_id, page.activity.owner_id)}
    page.asked |= {(b.entity_type_id, b.entity_id) for b in page.bindings[:MAX_NAMED_BINDINGS]}
    keys = ["owner_item", *(f"item_{i}" for i in range(MAX_NAMED_BINDINGS))]
    for key in keys:
        answer = results.get(key)
        item = answer.get("item") if isinstance(answer, Mapping) else None
        if isinstance(item, Mapping):
            _file_title(page, item)
    users = results.get("responsible")
    user = users[0] if isinstance(users, list) and users else None
    if isinstance(user, Mapping) and as_id(user.get("ID")) == page.activity.responsible_id:
        page.responsible_name = _full_name(user)


def _file_title(page: ActivityPage, item: Mapping[str, Any]) -> None:
    type_id, item_id = as_id(item.get("entityTypeId")), as_id(item.get("id"))
    if type_id is None or item_id is None:
        return
    title = item_title(item)
    if title:
        page.titles[(type_id, item_id)] = title


def item_title(item: Mapping[str, Any]) -> str:
    """A CRM item's name as crm.item.* give it: its title, else (a contact) its first and last name."""
    return (
        str(item.get("title") or "").strip()
        or " ".join(str(item.get(k) or "").strip() for k in ("name", "lastName")).strip()
    )


def _full_name(user: Mapping[str, Any]) -> str:
    return " ".join(str(user.get(key) or "") for key in ("NAME", "LAST_NAME")).strip()


def _viewer(user: Any) -> Viewer:
    """The user from user.current; a refused or inactive user's token shows nothing."""
    user_id = as_id(user.get("ID")) if isinstance(user, Mapping) else None
    if user_id is None:
        raise Refused("reopen", 401)
    return Viewer(user_id, _full_name(user))


# --- actions: each one portal call as the user; a Bitrix24Error (or InvalidParameter) says what failed ---


def run(client: Client, request: Request[Any]) -> None:
    """Send one prepared request; the typed error propagates."""
    client.run(request)


def user_exists(client: Client, user_id: int) -> bool:
    """Whether the portal knows user `user_id`: user.get by ID answers an empty list for an unknown one."""
    return bool(client.call("user.get", {"ID": user_id}))


def read_layout(raw: str) -> dict[str, Any]:
    """The editor's layout JSON, checked by app.layout; LayoutError with paths if the portal would refuse."""
    try:
        data = load_json(raw or "")
    except JsonRefused as refused:
        raise LayoutError([Problem(Code.WRONG_FIELD_VALUE, "", f"The layout {refused}.")]) from None
    return parse_layout(data).to_wire()


def check_layout(data: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Validate a layout for the live editor: the wire form, or the problems by path."""
    try:
        return parse_layout(data).to_wire(), []
    except LayoutError as error:
        return None, error.problems


def deadline_value(value: str, offset: str) -> str:
    """A datetime-local value with the activity's UTC offset, as ISO 8601; InvalidParameter when unfit."""
    value = value.strip()
    if len(value) == 16:  # YYYY-MM-DDTHH:MM from <input type="datetime-local">
        value += ":00"
    offset = offset.strip() or "+00:00"
    try:
        moment = datetime.fromisoformat(value + offset)
    except ValueError:
        raise InvalidParameter("deadline", "not a date and a time") from None
    if moment.tzinfo is None:
        raise InvalidParameter("deadline", "not a date and a time")
    return moment.isoformat(timespec="seconds")


def positive(value: str, name: str) -> int:
    """A positive integer from a form field; InvalidParameter when it is not one."""
    number = as_id(value or "")
    if number is None:
        raise InvalidParameter(name, f"must be a positive integer of at most {MAX_ID}")
    return number
