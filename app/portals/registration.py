"""What the app registers on a portal (manifest.json): bind it all in one batch; check it is still there."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bitrix24 import activities
from app.bitrix24.client import BatchResult, Client
from app.bitrix24.errors import Bitrix24Error
from app.manifest import Badge, Manifest

# Answers that mean "it is there already" (notes §2.4, §3.1; docs crm.activity.type.add).
ALREADY = ("already binded", "already exists", "already bound")
# Seconds between two ONOFFLINEEVENT wake-ups at least: each wake costs a drain (a few portal requests),
# and the online events carry the changes meanwhile; the queue is the backstop, not the fast path.
WAKE_TIMEOUT = 30


@dataclass
class Step:
    """One registration: what, and how it went."""

    kind: str  # "activity type", "placement", "event", "badge"
    name: str
    outcome: str = "pending"  # "registered", "already there", "failed"
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("registered", "already there")


@dataclass
class Report:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed(self) -> list[Step]:
        return [step for step in self.steps if not step.ok]


def register(client: Client, manifest: Manifest, *, base_url: str, static_folder: Path) -> Report:
    """Register activity types, placements and event handlers in one batch, then the badges the portal lacks.

    "Already there" counts as done. crm.activity.badge.add overwrites a badge with the same code instead of
    refusing it, so the badges are listed in the first batch and only the missing ones added in a second.
    """
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    steps: dict[str, Step] = {}
    for n, activity_type in enumerate(manifest.activity_types):
        icon = static_folder / activity_type.icon
        fields = {
            "TYPE_ID": activity_type.type_id,
            "NAME": activity_type.name,
            "ICON_FILE": {"fileData": [icon.name, base64.b64encode(icon.read_bytes()).decode()]},
            "IS_CONFIGURABLE_TYPE": "Y" if activity_type.configurable else "N",
        }
        commands[f"type{n}"] = ("crm.activity.type.add", {"fields": fields})
        steps[f"type{n}"] = Step("activity type", activity_type.type_id)
    types = smart_process_ids(client) if manifest.per_smart_process else []
    for n, (code, placement) in enumerate(manifest.bound(types)):
        commands[f"placement{n}"] = ("placement.bind", placement_params(placement, base_url, code))
        steps[f"placement{n}"] = Step("placement", code)
    for n, event in enumerate(manifest.events):
        handler = base_url + manifest.handlers["events"]
        commands[f"event{n}"] = ("event.bind", {"event": event, "handler": handler, **event_options(event)})
        steps[f"event{n}"] = Step("event", event)
    if manifest.badges:
        commands["badges"] = ("crm.activity.badge.list", {})
    outcome = client.batch(commands)
    for key, step in steps.items():
        _settle(step, outcome.errors.get(key), key in outcome.results)
    return Report(list(steps.values()) + _register_badges(client, manifest.badges, outcome))


def event_options(event: str) -> dict[str, Any]:
    """ONOFFLINEEVENT wakes the worker at most every WAKE_TIMEOUT seconds (on-offline-event.md minTimeout)."""
    return {"options": {"minTimeout": WAKE_TIMEOUT}} if event == "ONOFFLINEEVENT" else {}


def register_offline(client: Client, events: list[str], *, connector: str) -> list[Step]:
    """Bind `events` offline under the source key `connector`, in one batch (offline-events.md).

    The key travels beside `auth` (event.bind keeps the call's own auth_connector), so this is a batch of
    its own, never mixed with the online bindings.
    """
    if not events:
        return []
    steps = {f"offline{n}": Step("offline event", event) for n, event in enumerate(events)}
    commands = {
        key: ("event.bind", {"event": step.name, "event_type": "offline"}) for key, step in steps.items()
    }
    previous, client.auth_connector = client.auth_connector, connector
    try:
        outcome = client.batch(commands)
    finally:
        client.auth_connector = previous
    for key, step in steps.items():
        _settle(step, outcome.errors.get(key), key in outcome.results)
    return list(steps.values())


def _register_badges(client: Client, badges: tuple[Badge, ...], listed: BatchResult) -> list[Step]:
    """Add, in one batch, the badges crm.activity.badge.list did not return; the others are already there."""
    steps = {f"badge{n}": Step("badge", badge.code) for n, badge in enumerate(badges)}
    present = badge_codes(listed.results.get("badges"))
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, badge in zip(steps, badges, strict=True):
        if badge.code in present:
            steps[key].outcome = "already there"
            continue
        request = activities.badge_add(badge.code, badge.title, badge.value, badge.type)
        commands[key] = (request.method, request.params)
    if commands:
        outcome = client.batch(commands)
        for key in commands:
            _settle(steps[key], outcome.errors.get(key), key in outcome.results)
    return list(steps.values())


def badge_codes(result: Any) -> set[str]:
    """The codes in a crm.activity.badge.list answer ({"badges": [...]})."""
    rows = result.get("badges") if isinstance(result, dict) else result
    return {str(row.get("code")) for row in _rows(rows)}


def smart_process_ids(client: Client) -> list[int]:
    """The portal's smart processes (crm.type.list, first page of 50): each has its own timeline menu."""
    try:
        return type_ids(client.call("crm.type.list", {}))
    except Bitrix24Error:  # no smart processes on this portal's edition: the fixed menus still bind
        return []


def type_ids(result: Any) -> list[int]:
    """The entityTypeIds in a crm.type.list answer ({"types": [...]})."""
    rows = _rows(result.get("types")) if isinstance(result, dict) else []
    return sorted({int(row["entityTypeId"]) for row in rows if str(row.get("entityTypeId", "")).isdigit()})


def type_titles(result: Any) -> dict[int, str]:
    """entityTypeId → title in a crm.type.list answer, for naming each smart process's menu."""
    rows = _rows(result.get("types")) if isinstance(result, dict) else []
    return {
        int(row["entityTypeId"]): str(row.get("title") or "")
        for row in rows
        if str(row.get("entityTypeId", "")).isdigit() and row.get("title")
    }


def placement_params(placement: Any, base_url: str, code: str) -> dict[str, Any]:
    """placement.bind parameters for `code`, titles per language in LANG_ALL (notes §3.1)."""
    languages = sorted(set(placement.title) | set(placement.description))
    lang_all = {
        lang: {
            "TITLE": placement.title.get(lang, placement.title["en"]),
            "DESCRIPTION": placement.description.get(lang, placement.description.get("en", "")),
        }
        for lang in languages
    }
    return {
        "PLACEMENT": code,
        "HANDLER": base_url + placement.handler,
        "TITLE": placement.title["en"],
        "DESCRIPTION": placement.description.get("en", ""),
        "LANG_ALL": lang_all,
    }


def _settle(step: Step, error: Bitrix24Error | None, answered: bool) -> None:
    if error is None:
        step.outcome = "registered" if answered else "failed"
        step.error = "" if answered else "no answer for this step"
    elif any(words in error.description.lower() for words in ALREADY):
        step.outcome = "already there"
    else:
        step.outcome, step.error = "failed", f"{error.code}: {error.description}".strip(": ")


@dataclass
class Health:
    """What the portal reports as bound, against what the manifest wants."""

    missing_events: list[str]
    missing_placements: list[str]
    missing_types: list[str]
    extra_events: list[str]
    missing_badges: list[str] = field(default_factory=list)
    bound_placements: list[str] = field(
        default_factory=list
    )  # the manifest's codes the portal lists as bound
    smart_titles: dict[int, str] = field(default_factory=dict)  # entityTypeId → title (crm.type.list)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_events or self.missing_placements or self.missing_types or self.missing_badges
        )


# What the portal has bound for this app; batch them with whatever else a page needs.
HEALTH_COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "events": ("event.get", {}),
    "placements": ("placement.get", {}),
    "types": ("crm.activity.type.list", {}),
    "badges": ("crm.activity.badge.list", {}),
    "smart_types": ("crm.type.list", {}),
}


def check(client: Client, manifest: Manifest, *, base_url: str) -> Health:
    """Compare what the portal lists as bound (HEALTH_COMMANDS) with the manifest, in one round trip."""
    return health_from(client.batch(HEALTH_COMMANDS), manifest, base_url=base_url)


def health_from(found: BatchResult, manifest: Manifest, *, base_url: str) -> Health:
    """Build Health from a batch that ran HEALTH_COMMANDS (alone or beside other commands)."""
    # A portal that cannot list smart processes has no per-type menus to miss; the rest must answer.
    errors = [found.errors[key] for key in HEALTH_COMMANDS if key in found.errors and key != "smart_types"]
    if errors:
        raise errors[0]
    handler = base_url + manifest.handlers["events"]
    events = {(str(e.get("event", "")).upper(), e.get("handler")) for e in _rows(found.results.get("events"))}
    placements = {(p.get("placement"), p.get("handler")) for p in _rows(found.results.get("placements"))}
    types = {t.get("TYPE_ID") for t in _rows(found.results.get("types"))}
    wanted = manifest.bound(type_ids(found.results.get("smart_types")))
    badges = badge_codes(found.results.get("badges"))
    return Health(
        missing_events=[e for e in manifest.events if (e, handler) not in events],
        missing_placements=[code for code, p in wanted if (code, base_url + p.handler) not in placements],
        bound_placements=[code for code, p in wanted if (code, base_url + p.handler) in placements],
        missing_types=[t.type_id for t in manifest.activity_types if t.type_id not in types],
        extra_events=sorted(e for e, h in events if h == handler and e not in manifest.events),
        missing_badges=[b.code for b in manifest.badges if b.code not in badges],
        smart_titles=type_titles(found.results.get("smart_types")),
    )


def _rows(value: Any) -> list[dict[str, Any]]:
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []
