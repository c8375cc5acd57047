"""The offline event queue: records kept per app and source key instead of a POST (b_rest_event_offline).

Sources: vendor pages api-reference/events/offline-events.md ("offline-events"), event-offline-get.md,
event-offline-clear.md, event-offline-error.md, event-offline-list.md, on-offline-event.md, event-bind.md,
common/system/feature-get.md; the platform's rest module: lib/eventoffline.php (`EventOfflineTable`),
lib/event/provideroffline.php (`ProviderOffline::finalize`), lib/api/event.php (`eventOffline*`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.state import InstalledApp, Portal, Sandbox

FEATURES = ("rest_offline_extended", "rest_auth_connector")  # feature-get.md: the codes it knows
NOTIFY_EVENT = "ONOFFLINEEVENT"
DEFAULT_MIN_TIMEOUT = 1  # eventoffline.php OFFLINE_EVENT_DEFAULT_TIMEOUT; on-offline-event.md "1 sec"


@dataclass
class OfflineRecord:
    """One row of b_rest_event_offline (eventoffline.php getMap)."""

    id: int
    timestamp: float
    message_id: str
    event: str
    data: dict[str, Any]
    additional: dict[str, Any] | bool  # offline get: EVENT_ADDITIONAL becomes {"user_id": …}
    connector: str
    process_id: str = ""
    error: int = 0

    def row(self, portal: Portal, *, full: bool) -> dict[str, Any]:
        """Render as event.offline.get (full=False) or event.offline.list (full=True) returns it."""
        out: dict[str, Any] = {
            "ID": str(self.id),
            "TIMESTAMP_X": iso(self.timestamp, portal),
            "EVENT_NAME": self.event,
            "EVENT_DATA": self.data,
            "EVENT_ADDITIONAL": self.additional,
            "MESSAGE_ID": self.message_id,
        }
        if full:  # event-offline-list.md: PROCESS_ID and ERROR as strings
            out.update(PROCESS_ID=self.process_id, ERROR=str(self.error))
        return out


@dataclass
class OfflineQueue:
    """An app's offline records and when each ONOFFLINEEVENT handler was last called."""

    records: list[OfflineRecord] = field(default_factory=list)
    notified_at: dict[int, float] = field(default_factory=dict)  # handler id -> last send (minTimeout)


def queue(app: InstalledApp) -> OfflineQueue:
    """The app's queue, made on first use (uninstall drops the app row and its queue with it)."""
    if app.offline is None:
        app.offline = OfflineQueue()
    return app.offline  # type: ignore[no-any-return]


def feature_enabled(sandbox: Sandbox, portal: Portal, code: str) -> bool:
    """A plan feature: the setting is True, False, or the list of portal domains that have it."""
    value = sandbox.setting(code)
    if isinstance(value, list | tuple):
        return portal.domain in value
    return bool(value)


def effective_connector(sandbox: Sandbox, portal: Portal, connector: str) -> str:
    """The caller's auth_connector, or "" where the plan lacks it (offline-events: "Pro plan and above")."""
    return connector if feature_enabled(sandbox, portal, "rest_auth_connector") else ""


def message_id(event: str, data: dict[str, Any]) -> str:
    """eventoffline.php getMessageId: md5(EVENT_NAME . '|' . Json::encode(EVENT_DATA))."""
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
    return hashlib.md5(f"{event}|{encoded}".encode()).hexdigest()  # noqa: S324 - the platform's key


def iso(ts: float, portal: Portal) -> str:
    """TIMESTAMP_X in the portal's time zone, as CRestUtil::convertDateTime renders it."""
    from sandbox.dispatch import _iso  # dispatch imports events, which imports this module

    return _iso(ts, portal)


def record(
    portal: Portal,
    app: InstalledApp,
    binding: dict[str, Any],
    data: dict[str, Any],
    *,
    user_id: int | None,
    origin: tuple[str, str] | None,
) -> bool:
    """Store one change for an offline binding; False when the app itself made it with that source key.

    provideroffline.php finalize: skipped when the caller is this app *and* its auth_connector equals the
    binding's CONNECTOR_ID ("Event skipped because initializer is current application"). offline-events:
    one record per object, the latest state kept (EventOfflineTable::callEvent merges on MESSAGE_ID, APP_ID,
    CONNECTOR_ID, PROCESS_ID: a change to a record a process has reserved makes a new, unreserved record).
    """
    connector = str(binding.get("connector") or "")
    if origin is not None and origin == (app.client_id, connector):
        return False
    event = binding["event"]
    key = message_id(event, data)
    additional: dict[str, Any] | bool = {"user_id": user_id} if user_id is not None else False
    now = time.time()
    records = queue(app).records
    for row in records:
        if (row.message_id, row.connector, row.process_id) == (key, connector, ""):
            row.timestamp, row.data, row.additional = now, data, additional  # ERROR is kept
            return True
    records.append(
        OfflineRecord(
            id=portal.next_id("event_offline"),
            timestamp=now,
            message_id=key,
            event=event,
            data=data,
            additional=additional,
            connector=connector,
        )
    )
    return True


def due_notifications(
    app: InstalledApp, recorded: list[str], now: float
) -> list[tuple[dict[str, Any], dict]]:
    """ONOFFLINEEVENT sends owed after a request put records in the queue: (binding, data) pairs.

    on-offline-event.md: minTimeout 0 sends one event per hit; above 0 one, then a pause of at least the
    timeout (eventoffline.php checkSendTime; prepareOfflineEvent "Time is not up").
    """
    due = []
    state = queue(app)
    for binding in app.events:
        if binding["event"] != NOTIFY_EVENT or binding["event_type"] != "online":
            continue
        timeout = int((binding.get("options") or {}).get("minTimeout", DEFAULT_MIN_TIMEOUT))
        last = state.notified_at.get(binding["id"])
        if timeout > 0 and last is not None and now - last < timeout:
            continue
        state.notified_at[binding["id"]] = now
        data: dict[str, Any] = {
            "type": change_type(recorded[0]),
            "event": recorded[0],
            "handler": binding["handler"],
        }
        if timeout != DEFAULT_MIN_TIMEOUT:
            data["minTimeout"] = timeout  # on-offline-event.md: present only when set
        due.append((binding, data))
    return due


def change_type(event: str) -> str:
    """on-offline-event.md data[type]: add, remove or update, read off the event name."""
    if event.endswith("ADD"):
        return "add"
    if event.endswith("DELETE"):
        return "remove"
    return "update"


def new_process_id() -> str:
    """eventoffline.php getProcessId: Random::getString(32)."""
    return secrets.token_hex(16)
