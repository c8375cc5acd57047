"""The drill's mixed load, as threads: portal users changing activities, page opens, actions, API calls,
duplicate and forged events, and a Prometheus scraper. Every answer the app gives is recorded.

Activity changes go through the sandbox portal (its UI endpoints, as a user clicking, and a robot's
REST call), so the events the app receives are the ones the portal sends. Page opens and placements
are the slider's real frame POSTs (`/_ui/frame`, then the form to the app), each with a fresh AUTH_ID.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from bench.drill_stack import Stack, sandbox_control

PAGE_TOKEN = re.compile(r'name="page_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
NEW_KEY = re.compile(r'id="new-api-key-value"[^>]*>([^<]+)<')
FORGED_HANDLER = "999"  # forged events carry this handler id, so the report can look for them in the inbox
USER_KINDS = ("page", "placement", "action", "api")  # answers a person (or an external system) waits for


@dataclass
class Sample:
    kind: str
    at: float  # wall-clock time the request was sent
    seconds: float
    status: int  # 0 when no HTTP answer came
    note: str = ""
    portal: str = ""


@dataclass
class Recorder:
    """Every request the load made to the app, thread-safe."""

    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def timed(
        self,
        kind: str,
        send: Callable[[], requests.Response],
        note: str = "",
        note_of: Callable[[requests.Response], str] | None = None,
        portal: str = "",
    ) -> requests.Response | None:
        """Send a request to the app and record its status and latency (status 0 on a transport error)."""
        began, wall = time.perf_counter(), time.time()
        try:
            response = send()
        except requests.RequestException as error:
            self.add(Sample(kind, wall, time.perf_counter() - began, 0, type(error).__name__, portal))
            return None
        seconds = time.perf_counter() - began
        if note_of is not None:
            note = note_of(response)
        self.add(Sample(kind, wall, seconds, response.status_code, note, portal))
        return response


@dataclass
class PortalInfo:
    """One installed sandbox portal as the load sees it."""

    member_id: str
    domain: str
    url: str
    application_token: str
    rule_id: int | None = None
    api_key: str = ""
    open_ids: list[int] = field(default_factory=list)  # to-dos created by the drill, not completed
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Features:
    """Which load kinds the app supports today (read from its routes at start-up)."""

    placement: bool = False
    actions: bool = False
    api: bool = False
    notes: list[str] = field(default_factory=list)


def frame(portal: PortalInfo, body: dict[str, Any], user_id: int) -> dict[str, Any] | None:
    """Ask the sandbox slider for a frame form (installer, main page, placement), as portal.js does."""
    response = requests.post(f"{portal.url}/_ui/frame?user_id={user_id}", json=body, timeout=30)
    return response.json() if response.status_code == 200 else None


def post_frame(
    recorder: Recorder, kind: str, opened: dict[str, Any], portal: PortalInfo
) -> requests.Response | None:
    """Submit the frame form to the app, as the slider's <form target=app-frame> does."""
    send = lambda: requests.post(opened["url"], data=opened["fields"], timeout=60)  # noqa: E731
    return recorder.timed(kind, send, portal=portal.domain)


class Load:
    """Runs every load kind in its own threads until `stop()`."""

    def __init__(
        self, stack: Stack, portals: list[PortalInfo], features: Features, *, scale: float = 1.0
    ) -> None:
        self.stack = stack
        self.portals = portals
        self.features = features
        self.recorder = Recorder()
        self.stopping = threading.Event()
        self.rng = random.Random(8)
        self.threads: list[threading.Thread] = []
        self.changes: dict[str, int] = {}
        self.lag_samples: list[tuple[float, float, float]] = []  # (time, lag seconds, pending)
        self.duplicates_sent: list[str] = []  # bodies re-posted
        self.forged = 0
        self.last_delivery = 0
        self.scale = scale
        self.last_api_body: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        plan: list[tuple[Callable[[], None], float, int]] = [
            (self.change_activity, 10.0, 3),  # per second in all, threads
            (self.open_page, 2.0, 2),
            (self.post_duplicates, 0.4, 1),
            (self.post_forged, 1.5, 1),
            (self.scrape_metrics, 0.5, 1),
        ]
        if self.features.placement:
            plan.append((self.open_placement, 1.0, 2))
        if self.features.api:
            plan.append((self.call_api, 1.0, 1))
        for step, rate, threads in plan:
            for _ in range(threads):
                thread = threading.Thread(
                    target=self._loop, args=(step, threads / (rate * self.scale)), daemon=True
                )
                thread.start()
                self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(90)

    def _loop(self, step: Callable[[], None], interval: float) -> None:
        """Call `step` every `interval` seconds (with jitter) until stopped; a failing step is counted."""
        while not self.stopping.is_set():
            began = time.monotonic()
            try:
                step()
            except (requests.RequestException, ValueError, KeyError) as error:
                self._count(f"load error {type(error).__name__}")
            rest = interval * random.uniform(0.5, 1.5) - (time.monotonic() - began)
            self.stopping.wait(max(rest, 0.0))

    def _count(self, what: str) -> None:
        with self._lock:
            self.changes[what] = self.changes.get(what, 0) + 1

    def _portal(self, *, interactive: bool = False) -> PortalInfo:
        """Any portal; for placement and API load not the last, whose activity reads get 429 for a while."""
        return random.choice(self.portals[:-1] if interactive and len(self.portals) > 1 else self.portals)

    # --- portal users change activities; the portal sends the events ---

    def change_activity(self) -> None:
        portal = self._portal()
        with portal.lock:
            ids = list(portal.open_ids)
        roll = random.random()
        if len(ids) < 5 or roll < 0.3:
            self._add_todo(portal)
        elif roll < 0.4:
            self._ui(
                portal, f"/_ui/owner/2/{random.randint(1, 3)}/todo", {"title": "Drill quick to-do"}, "ui add"
            )
        elif roll < 0.75:
            day = datetime.now(UTC) + timedelta(days=random.randint(1, 20), hours=random.randint(0, 8))
            value = day.strftime("%Y-%m-%dT%H:%M")
            self._ui(portal, f"/_ui/activity/{random.choice(ids)}/deadline", {"deadline": value}, "deadline")
        elif roll < 0.88:
            self._finish(portal, random.choice(ids), "complete")
        else:
            self._finish(portal, random.choice(ids), "delete")

    def _add_todo(self, portal: PortalInfo) -> None:
        """A robot adds a to-do through crm.activity.todo.add: ONCRMACTIVITYADD without user tokens."""
        deadline = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
        params = {
            "ownerTypeId": random.choice((1, 2)),
            "ownerId": random.randint(1, 3),
            "deadline": deadline,
            "title": f"Drill to-do {uuid.uuid4().hex[:6]}",
            "responsibleId": random.choice((1, 2)),
        }
        payload = {"member_id": portal.member_id, "method": "crm.activity.todo.add", "params": params}
        result = sandbox_control(self.stack, "robot", payload)["result"]
        with portal.lock:
            portal.open_ids.append(int(result["id"]))
        self._count("robot add")

    def _finish(self, portal: PortalInfo, activity_id: int, action: str) -> None:
        with portal.lock:
            if activity_id in portal.open_ids:
                portal.open_ids.remove(activity_id)
        self._ui(portal, f"/_ui/activity/{activity_id}/{action}", {}, action)

    def _ui(self, portal: PortalInfo, path: str, form: dict[str, str], what: str) -> None:
        """A change from the portal UI as user 2 (may edit CRM): the sandbox sends the user's event."""
        requests.post(f"{portal.url}{path}?user_id=2", data=form, allow_redirects=False, timeout=30)
        self._count(f"ui {what}" if not what.startswith("ui") else what)

    # --- people open the app ---

    def open_page(self) -> None:
        """The main page (PLACEMENT=DEFAULT) for an administrator or a CRM user; sometimes an admin action."""
        portal = self._portal()
        user_id = 1 if random.random() < 0.6 else 2
        opened = frame(portal, {"mode": "app"}, user_id)
        if opened is None:
            self._count("frame refused")
            return
        response = post_frame(self.recorder, "page", opened, portal)
        if response is None or response.status_code != 200 or user_id != 1 or portal.rule_id is None:
            return
        token = PAGE_TOKEN.search(response.text)
        if token and random.random() < 0.25:
            action = random.choice(("disable", "enable"))
            url = f"{self.stack.app_url}/rules/{portal.rule_id}/{action}"
            form = {"page_token": token.group(1), "lang": "en"}
            self.recorder.timed("action", lambda: requests.post(url, data=form, timeout=60), f"rule {action}")

    def open_placement(self) -> None:
        """CRM_ACTIVITY_LIST_MENU on a drill to-do; sometimes complete it from the page (an action)."""
        portal = self._portal(interactive=True)
        with portal.lock:
            if not portal.open_ids:
                return
            activity_id = random.choice(portal.open_ids)
        body = {"mode": "placement", "placement": "CRM_ACTIVITY_LIST_MENU", "activity_id": activity_id}
        opened = frame(portal, body, 2)
        if opened is None:
            self._count("placement frame refused")
            return
        response = post_frame(self.recorder, "placement", opened, portal)
        if not self.features.actions or response is None or response.status_code != 200:
            return
        if random.random() < 0.3:
            self._complete_from_page(portal, activity_id, response.text)

    def _complete_from_page(self, portal: PortalInfo, activity_id: int, html: str) -> None:
        """Submit the page's own "complete" form (its hidden fields: page token, lang, owner)."""
        fields = dict(HIDDEN.findall(html))
        if "page_token" not in fields:
            return
        with portal.lock:
            if activity_id in portal.open_ids:
                portal.open_ids.remove(activity_id)
        url = f"{self.stack.app_url}/activity/{activity_id}/complete"
        self.recorder.timed("action", lambda: requests.post(url, data=fields, timeout=60), "complete")

    def call_api(self) -> None:
        """POST /api/v1/activities with a portal's API key; now and then the same request again (a retry)."""
        portal = self._portal(interactive=True)
        if not portal.api_key:
            return
        with self._lock:
            repeat = self.last_api_body if self.last_api_body and random.random() < 0.2 else None
        body = repeat or {
            "portal": portal.member_id,
            "owner": {"type_id": 2, "id": random.randint(1, 3)},
            "subject": f"Drill ticket {uuid.uuid4().hex[:8]}",
            "idempotency_key": uuid.uuid4().hex,
        }
        key = next(p.api_key for p in self.portals if p.member_id == body["portal"])
        with self._lock:
            self.last_api_body = body
        headers = {"Authorization": f"Bearer {key}"}
        url = f"{self.stack.app_url}/api/v1/activities"
        note = "retry" if repeat else ""
        self.recorder.timed("api", lambda: requests.post(url, json=body, headers=headers, timeout=60), note)

    # --- the portal's queue misbehaves: duplicates; attackers: forged events ---

    def post_duplicates(self) -> None:
        """Re-post, byte for byte, activity events the portal already delivered with a 200."""
        listing = requests.get(
            f"{self.stack.oauth_url}/_sandbox/deliveries?after={self.last_delivery}", timeout=60
        ).json()["deliveries"]
        done = [d for d in listing if d["done"]]
        if done:
            self.last_delivery = max(d["id"] for d in done)
        delivered = [d for d in done if d["status"] == 200 and d["event"].startswith("ONCRMACTIVITY")]
        for delivery in random.sample(delivered, min(3, len(delivered))):
            self._post_event(delivery["body"], "duplicate")
            self.duplicates_sent.append(delivery["body"])

    def post_forged(self) -> None:
        """An event a portal never sent: wrong token, unknown portal, or no token."""
        portal = self._portal()
        with self._lock:
            self.forged += 1
            n = self.forged
        shape = n % 4
        member_id = portal.member_id if shape != 1 else uuid.uuid4().hex
        token = {
            0: uuid.uuid4().hex,
            1: portal.application_token,
            2: "",
            3: portal.application_token[:-1] + "x",
        }
        pairs = [
            ("event", random.choice(("ONCRMACTIVITYADD", "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE"))),
            ("event_handler_id", FORGED_HANDLER),
            ("data[FIELDS][ID]", str(random.randint(1, 50))),
            ("ts", f"9{n:09d}"),
            ("auth[domain]", portal.domain),
            ("auth[member_id]", member_id),
        ]
        if token[shape]:
            pairs.append(("auth[application_token]", token[shape]))
        self._post_event(urlencode(pairs), "forged")

    def _post_event(self, body: str, kind: str) -> None:
        url = f"{self.stack.app_url}/events"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Bitrix24 Webhook Engine",
        }
        self.recorder.timed(
            kind, lambda: requests.post(url, data=body, headers=headers, timeout=30), note_of=event_outcome
        )

    # --- Prometheus ---

    def scrape_metrics(self) -> None:
        response = self.recorder.timed(
            "metrics", lambda: requests.get(f"{self.stack.app_url}/metrics", timeout=30)
        )
        if response is None or response.status_code != 200:
            return
        values = dict(
            line.rsplit(" ", 1) for line in response.text.splitlines() if line.startswith("tb_inbox_")
        )
        with self._lock:
            self.lag_samples.append(
                (
                    time.time(),
                    float(values.get("tb_inbox_lag_seconds", 0)),
                    float(values.get("tb_inbox_pending", 0)),
                )
            )


def event_outcome(response: requests.Response) -> str:
    """What /events said it did: "accepted" or "duplicate" (200), else nothing."""
    if response.status_code != 200:
        return ""
    try:
        return str(response.json().get("status", ""))
    except ValueError:
        return "not json"


def natural_key(body: str) -> tuple[str, str, str, str, str]:
    """(member_id, EVENT, event_handler_id, entity id, ts) of a form-encoded event body."""
    form = dict(parse_qsl(body, keep_blank_values=True))
    return (
        form.get("auth[member_id]", ""),
        form.get("event", "").upper(),
        form.get("event_handler_id", ""),
        form.get("data[FIELDS][ID]", ""),
        form.get("ts", ""),
    )
