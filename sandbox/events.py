"""The event queue server: form-encoded POSTs to bound handlers from a thread, never retried (notes §2)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests

from sandbox import offline
from sandbox.core import CallContext
from sandbox.phpform import build_query
from sandbox.state import Delivery, InstalledApp, Portal, Sandbox
from sandbox.tokens import issue_token, server_endpoint

log = logging.getLogger("sandbox.events")

# notes §2.4 (`events`): the events this sandbox knows, with the scope that unlocks each ("basic" = every app)
KNOWN_EVENTS: dict[str, str] = {
    "ONAPPINSTALL": "basic",
    "ONAPPUPDATE": "basic",
    "ONAPPUNINSTALL": "basic",
    "ONAPPTEST": "basic",
    "ONAPPPAYMENT": "basic",
    "ONAPPMETHODCONFIRM": "basic",
    "ONOFFLINEEVENT": "basic",
    "ONCRMACTIVITYADD": "crm",
    "ONCRMACTIVITYUPDATE": "crm",
    "ONCRMACTIVITYDELETE": "crm",
    "ONCRMTIMELINEITEMACTION": "crm",
    "ONCRMLEADADD": "crm",
    "ONCRMDEALADD": "crm",
    "ONCRMDEALUPDATE": "crm",
    "ONCRMCONTACTADD": "crm",
    "ONCRMCOMPANYADD": "crm",
}
# notes §2.2: events registered with sendRefreshToken
REFRESH_EVENTS = {"ONAPPINSTALL", "ONAPPUPDATE", "ONAPPTEST", "ONSUBSCRIPTIONRENEW", "ONOFFLINEEVENT"}
HANDLER_SESSION_TTL = 7  # notes §2.3: CRestUtil::HANDLER_SESSION_TTL, loop protection
# notes §1.6, §2.2: events with sendAuth=false
NO_AUTH_EVENTS = {"ONAPPUNINSTALL", "ONAPPMETHODCONFIRM"}
Recorded = dict[str, tuple[InstalledApp, list[str]]]  # client_id -> (app, events put in its offline queue)


def bind_handler(
    portal: Portal, app: InstalledApp, event: str, handler: str, *, user_id: int, auth_type: int = 0
) -> dict[str, Any]:
    """Store an online handler row for an app (b_rest_event, notes §2.4)."""
    binding = {
        "id": portal.next_id("event_handler"),
        "event": event.upper(),
        "handler": handler,
        "auth_type": auth_type,
        "event_type": "online",
        "user_id": user_id,
        "connector": "",
        "version": app.version,
    }
    app.events.append(binding)
    return binding


def auth_block(
    sandbox: Sandbox,
    portal: Portal,
    app: InstalledApp,
    event: str,
    user_id: int | None,
    session_ttl: int | None = None,
) -> dict[str, Any]:
    """Build `auth[...]`: tokens for the user behind the change; none for robots or sendAuth=false (§2.2)."""
    base = {
        "domain": portal.domain,
        "client_endpoint": portal.client_endpoint,
        "server_endpoint": server_endpoint(sandbox),
        "member_id": portal.member_id,
        "application_token": app.application_token,
    }
    if user_id is None or event in NO_AUTH_EVENTS:
        return base
    token = issue_token(sandbox, portal, app, user_id)
    token.event_session_ttl = session_ttl
    auth = {
        "access_token": token.access_token,
        "expires": int(token.expires_at),
        "expires_in": int(sandbox.setting("token_lifetime")),
        "scope": ",".join(app.scope),  # notes §9.8: comma separated
        "domain": portal.domain,
        "server_endpoint": base["server_endpoint"],
        "status": app.status,
        "client_endpoint": portal.client_endpoint,
        "member_id": portal.member_id,
        "user_id": user_id,
    }
    if event in REFRESH_EVENTS:
        auth["refresh_token"] = token.refresh_token
    auth["application_token"] = app.application_token
    return auth


def event_body(event: str, handler_id: int, data: dict[str, Any], auth: dict[str, Any]) -> str:
    """Encode the body as PHP http_build_query would (notes §2.1: event, event_handler_id, data, ts, auth)."""
    payload = {
        "event": event,
        "event_handler_id": handler_id,
        "data": data,
        "ts": int(time.time()),
        "auth": auth,
    }
    return build_query(payload)


def enqueue(
    sandbox: Sandbox,
    portal: Portal,
    app: InstalledApp,
    binding: dict[str, Any],
    *,
    data: dict[str, Any],
    user_id: int | None,
    session_ttl: int | None = None,
) -> Delivery:
    """Log a delivery and hand it to the background sender (or drop it past the loop limit)."""
    event = binding["event"]
    auth_type = int(binding.get("auth_type") or 0)
    if auth_type and user_id is not None:
        user_id = auth_type  # notes §2.2: event.bind auth_type=<userId> fixes the token's user
    dropped = session_ttl is not None and session_ttl <= 0  # notes §2.3: CYCLIC_CALL_LIMIT, silently dropped
    auth = {} if dropped else auth_block(sandbox, portal, app, event, user_id, session_ttl)
    body = event_body(event, binding["id"], data, auth)
    sandbox.delivery_seq += 1
    delivery = Delivery(
        id=sandbox.delivery_seq,
        event=event,
        url=binding["handler"],
        body=body,
        member_id=portal.member_id,
        client_id=app.client_id,
        handler_id=binding["id"],
        created_at=time.time(),
    )
    with sandbox.lock:
        sandbox.deliveries.append(delivery)
    if dropped:
        delivery.error, delivery.done = "CYCLIC_CALL_LIMIT", True
        return delivery
    ensure_worker(sandbox)
    sandbox.outbox.put(delivery)
    return delivery


def fire(
    sandbox: Sandbox,
    portal: Portal,
    event: str,
    data: dict[str, Any],
    *,
    user_id: int | None,
    only_client_id: str | None = None,
    session_ttl: int | None = None,
    origin: tuple[str, str] | None = None,
    recorded: Recorded | None = None,
) -> list[Delivery]:
    """Send an event to installed apps' online handlers and record it for their offline ones.

    notes §1.1: nothing before installFinish. `origin` is the calling (client_id, auth_connector): the
    offline queue skips an app's own changes made with the binding's source key (sandbox/offline.py).
    """
    event = event.upper()
    sent = []
    with sandbox.lock:
        for app in list(portal.apps.values()):
            if not app.installed or (only_client_id and app.client_id != only_client_id):
                continue
            for binding in [b for b in app.events if b["event"] == event]:
                if binding["event_type"] == "offline":
                    stored = offline.record(portal, app, binding, data, user_id=user_id, origin=origin)
                    if stored and recorded is not None:
                        recorded.setdefault(app.client_id, (app, []))[1].append(event)
                    continue
                sent.append(
                    enqueue(
                        sandbox, portal, app, binding, data=data, user_id=user_id, session_ttl=session_ttl
                    )
                )
    return sent


def notify_offline(
    sandbox: Sandbox, portal: Portal, recorded: Recorded, *, user_id: int | None
) -> list[Delivery]:
    """ONOFFLINEEVENT to the apps whose queue this request filled, as minTimeout allows (on-offline-event)."""
    sent = []
    with sandbox.lock:
        for app, events in recorded.values():
            for binding, data in offline.due_notifications(app, events, time.time()):
                sent.append(enqueue(sandbox, portal, app, binding, data=data, user_id=user_id))
    return sent


def deliver_emitted(ctx: CallContext) -> list[Delivery]:
    """Send what a request emitted; ctx.emit already merged identical events (notes §2.3)."""
    user_id = None if ctx.via_robot else ctx.user.id  # notes §2.2: no tokens for robot changes
    parent = ctx.token.event_session_ttl if ctx.token and ctx.token.event_session_ttl is not None else None
    ttl = (HANDLER_SESSION_TTL if parent is None else parent) - 1
    origin = (ctx.app.client_id, ctx.auth_connector) if ctx.app is not None else None
    recorded: Recorded = {}
    sent = []
    for event, data in ctx.emitted:
        sent += fire(
            ctx.sandbox,
            ctx.portal,
            event,
            data,
            user_id=user_id,
            session_ttl=ttl,
            origin=origin,
            recorded=recorded,
        )
    ctx.emitted.clear()
    return sent + notify_offline(ctx.sandbox, ctx.portal, recorded, user_id=user_id)


def deliver_timeline_action(
    sandbox: Sandbox, portal: Portal, client_id: str, data: dict[str, Any], *, user_id: int | None
) -> list[Delivery]:
    """Fire ONCRMTIMELINEITEMACTION to the creating app only (notes §3.6: REST_EVENT_HOLD_EXCEPT_APP).

    `data` is actionParams plus entityTypeId, entityId, activityId and id (the action id).
    """
    return fire(sandbox, portal, "ONCRMTIMELINEITEMACTION", data, user_id=user_id, only_client_id=client_id)


def _post(sandbox: Sandbox, delivery: Delivery) -> None:
    """POST one delivery and record the outcome; failures are logged, never retried (notes §2.3)."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": str(sandbox.setting("event_user_agent")),
    }
    try:
        response = requests.post(
            delivery.url, data=delivery.body, headers=headers, timeout=float(sandbox.setting("event_timeout"))
        )
        delivery.status = response.status_code
        response.close()
    except requests.RequestException as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"
        log.info("event %s to %s failed: %s", delivery.event, delivery.url, delivery.error)
    delivery.sent_at = time.time()
    delivery.done = True


def _run(sandbox: Sandbox) -> None:
    while True:
        delivery = sandbox.outbox.get()
        if delivery is None:
            return
        try:
            _post(sandbox, delivery)
        except Exception as exc:  # never let the sender die
            delivery.error, delivery.done = repr(exc), True
            log.exception("event sender failed")


def ensure_worker(sandbox: Sandbox) -> None:
    """Start the background sender once."""
    with sandbox.lock:
        if sandbox.worker is None or not sandbox.worker.is_alive():
            sandbox.worker = threading.Thread(
                target=_run, args=(sandbox,), name="sandbox-events", daemon=True
            )
            sandbox.worker.start()


def stop_worker(sandbox: Sandbox, timeout: float = 5.0) -> None:
    """Let the sender finish its queue and stop."""
    worker = sandbox.worker
    if worker is not None and worker.is_alive():
        sandbox.outbox.put(None)
        worker.join(timeout)
    sandbox.worker = None
