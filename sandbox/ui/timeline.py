"""What the timeline and the activity grid show: activities turned into view rows, in the portal's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.crm.store import Activity
from sandbox.state import InstalledApp, Owner, Portal

OWNER_SLUGS = {1: "lead", 2: "deal", 3: "contact", 4: "company", 7: "quote"}  # notes §8.1
OWNER_LABELS = {1: "Lead", 2: "Deal", 3: "Contact", 4: "Company", 7: "Estimate"}
KIND_LABELS = {
    "call": "Call",
    "email": "E-mail",
    "meeting": "Meeting",
    "todo": "To-do",
    "rest_app": "Application activity",
    "configurable": "Application item",
    "other": "Activity",
}
# docs crm.activity.todo.updateColor: colour ids 1..7; the hex values are the sandbox's own palette
TODO_COLORS = {
    "1": "#2fc6f6",
    "2": "#9dcf00",
    "3": "#ff5752",
    "4": "#ffa900",
    "5": "#7b61ff",
    "6": "#55d0e0",
    "7": "#a8adb4",
}


@dataclass
class BlockSet:
    """One app's content blocks on an activity (notes §6.1: stored per activity per app)."""

    client_id: str
    app_title: str
    blocks: dict[str, Any]


@dataclass
class ActivityView:
    """One activity as the timeline and the grid render it."""

    activity: Activity
    kind: str
    label: str
    scheduled: bool
    deadline: str
    overdue: bool
    created: str
    responsible: str
    incoming: bool
    app: InstalledApp | None
    color: str | None
    owner: tuple[int, int]
    deadline_input: str = ""  # the deadline as a datetime-local value, for editable deadline blocks
    block_sets: list[BlockSet] = field(default_factory=list)
    badge: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        return self.activity.id

    @property
    def subject(self) -> str:
        return str(self.activity.fields.get("SUBJECT") or "")

    @property
    def description(self) -> str:
        return str(self.activity.fields.get("DESCRIPTION") or "")

    @property
    def layout(self) -> dict[str, Any] | None:
        return self.activity.layout


def kind_of(activity: Activity) -> str:
    """Classify an activity by provider, then by TYPE_ID (notes §8.2: 1 meeting, 2 call, 4 e-mail)."""
    provider = activity.provider.upper()
    by_provider = {"REST_APP": "rest_app", "CONFIGURABLE_REST_APP": "configurable", "CRM_TODO": "todo"}
    if provider in by_provider:
        return by_provider[provider]
    if provider in ("CRM_EMAIL",) or activity.fields.get("TYPE_ID") == 4:
        return "email"
    if "CALL" in provider or activity.fields.get("TYPE_ID") == 2:
        return "call"
    if provider == "CRM_MEETING" or activity.fields.get("TYPE_ID") == 1:
        return "meeting"
    return "other"


def format_dt(value: Any) -> str:
    """Show a stored datetime as the portal does in the timeline: `24 Nov 2026 14:30`."""
    return value.strftime("%d %b %Y %H:%M") if isinstance(value, datetime) else ""


def creating_app(portal: Portal, activity: Activity) -> InstalledApp | None:
    """Return the app behind a REST_APP or configurable activity (notes §3.5: ASSOCIATED_ENTITY_ID)."""
    if activity.client_id and activity.client_id in portal.apps:
        return portal.apps[activity.client_id]
    if activity.provider.upper() == "REST_APP":
        app_id = activity.fields.get("ASSOCIATED_ENTITY_ID")
        return next((a for a in portal.apps.values() if str(a.numeric_id) == str(app_id)), None)
    return None


def type_label(portal: Portal, activity: Activity, kind: str, app: InstalledApp | None) -> str:
    """Name REST_APP activities by their app's type (docs crm.activity.type.add NAME)."""
    if kind == "rest_app" and app is not None:
        row = portal.crm.types.get((app.client_id, str(activity.fields.get("PROVIDER_TYPE_ID") or "")))
        if row is not None and row.name:
            return row.name
    return KIND_LABELS[kind]


def user_name(portal: Portal, user_id: Any) -> str:
    """Return a user's display name, or an empty string."""
    try:
        user = portal.users.get(int(user_id))
    except (TypeError, ValueError):
        user = None
    return f"{user.name} {user.last_name}" if user else ""


def block_sets(portal: Portal, activity: Activity) -> list[BlockSet]:
    """Return the content-block sets apps put on the activity, in the order they were added (notes §6.1)."""
    sets = []
    for client_id, layout in portal.crm.blocks_of(activity.id).items():
        app = portal.apps.get(client_id)
        blocks = (layout or {}).get("blocks") or {}
        sets.append(BlockSet(client_id, app.code if app else client_id, blocks))
    return sets


def badge_of(portal: Portal, activity: Activity) -> dict[str, Any] | None:
    """Return the badge of a configurable activity (notes §6.3: fields.badgeCode)."""
    badge = portal.crm.badges.get(activity.badge_code) if activity.badge_code else None
    return badge.as_dict() if badge else None


def view(
    portal: Portal, activity: Activity, owner: tuple[int, int] | None = None, now: datetime | None = None
) -> ActivityView:
    """Build the view row of one activity, shown in the context of `owner` (its primary owner by default)."""
    kind = kind_of(activity)
    app = creating_app(portal, activity)
    deadline = activity.fields.get("DEADLINE")
    current = now or (datetime.now(deadline.tzinfo) if isinstance(deadline, datetime) else datetime.now())
    primary = activity.bindings[0] if activity.bindings else (0, 0)
    return ActivityView(
        activity=activity,
        kind=kind,
        label=type_label(portal, activity, kind, app),
        scheduled=not activity.completed,
        deadline=format_dt(deadline),
        overdue=isinstance(deadline, datetime) and not activity.completed and deadline < current,
        created=format_dt(activity.fields.get("CREATED")),
        responsible=user_name(portal, activity.fields.get("RESPONSIBLE_ID")),
        incoming=is_incoming(activity),
        app=app,
        color=TODO_COLORS.get(str(activity.color_id)) if activity.color_id else None,
        owner=owner or primary,
        deadline_input=deadline.strftime("%Y-%m-%dT%H:%M") if isinstance(deadline, datetime) else "",
        block_sets=block_sets(portal, activity),
        badge=badge_of(portal, activity),
    )


def is_incoming(activity: Activity) -> bool:
    """Tell incoming activities (notes §8.2: DIRECTION 1) and incoming-channel ones."""
    return str(activity.fields.get("DIRECTION")) == "1" or activity.fields.get("IS_INCOMING_CHANNEL") == "Y"


def _deadline_key(activity: Activity) -> tuple[int, float, int]:
    deadline = activity.fields.get("DEADLINE")
    return (0, deadline.timestamp(), activity.id) if isinstance(deadline, datetime) else (1, 0.0, activity.id)


def _recent_key(activity: Activity) -> tuple[float, int]:
    stamp = activity.fields.get("LAST_UPDATED") or activity.fields.get("CREATED")
    return (stamp.timestamp() if isinstance(stamp, datetime) else 0.0, activity.id)


def order(activities: list[Activity]) -> list[Activity]:
    """Open ones first by nearest deadline, then the history newest first, as the card timeline does."""
    scheduled = sorted((a for a in activities if not a.completed), key=_deadline_key)
    history = sorted((a for a in activities if a.completed), key=_recent_key, reverse=True)
    return scheduled + history


def owner_timeline(portal: Portal, owner: Owner) -> list[ActivityView]:
    """Return the timeline of one CRM item: every activity bound to it (docs crm.activity.binding.*)."""
    key = (owner.type_id, owner.id)
    bound = [a for a in portal.crm.activities.values() if key in a.bindings]
    return [view(portal, a, key) for a in order(bound)]


def all_activities(portal: Portal) -> list[ActivityView]:
    """Return every activity of the portal for the grid, newest first."""
    rows = sorted(portal.crm.activities.values(), key=lambda a: a.id, reverse=True)
    return [view(portal, a) for a in rows]


def owner_url(type_id: int, owner_id: int) -> str:
    """Return the card URL of a CRM item, shaped like the portal's (`/crm/deal/details/8061/`).

    Smart process items live under `/crm/type/<entityTypeId>/details/<id>/` on the portal (crm router).
    """
    if type_id in OWNER_SLUGS:
        return f"/crm/{OWNER_SLUGS[type_id]}/details/{owner_id}/"
    return f"/crm/type/{type_id}/details/{owner_id}/"


def owner_labels(portal: Portal) -> dict[int, str]:
    """Name every owner type of this portal: the fixed CRM types and its smart processes (crm.type.list)."""
    return {**OWNER_LABELS, **portal.smart_types}


def owner_groups(portal: Portal) -> dict[int, str]:
    """Headings of the home page's item lists: plural type names, a smart process by its own title."""
    plurals = {t: "Companies" if t == 4 else f"{label}s" for t, label in OWNER_LABELS.items()}
    return {**plurals, **portal.smart_types}
