"""Unverified tokens cannot drain a portal's bucket; people wait a bounded time; floods stay local."""

from __future__ import annotations

import math
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from app.bitrix24.errors import PortalBusy
from app.extensions import db
from app.metrics.exposition import sample
from app.models import RateLimitBucket
from app.portals import throttle
from app.portals.ratelimit import INTERACTIVE_WAIT, limiter_for
from bench.loadgen import install_portal
from sandbox.apps import find_app
from sandbox.testing import serve
from sandbox.ui.frame import open_frame
from tests.test_main import open_main_page, page_token
from tests.test_timeline_page import activity_of, bind_list_menu, open_activity, open_from_menu


def portal_requests(sandbox: Any, domain: str) -> int:
    """REST requests that reached one sandbox portal host (counted by the sandbox itself)."""
    with sandbox.state.lock:
        return sum(n for (host, *_), n in sandbox.state.requests.items() if host == domain.lower())


def fake_open(client: Any, sandbox: Any, *, address: str = "127.0.0.1", portal: Any = None) -> Any:
    """Open the main page as an attacker does: the portal's real member_id and DOMAIN, a made-up AUTH_ID."""
    return open_main_page(
        client, sandbox, portal=portal, AUTH_ID=secrets.token_hex(16), environ_base={"REMOTE_ADDR": address}
    )


def test_fake_opens_from_one_address_reach_the_portal_a_few_times_then_are_refused_unsent(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    before = portal_requests(sandbox, sandbox.portal.domain)
    answers = [fake_open(client, sandbox, address="203.0.113.7") for _ in range(30)]
    assert portal_requests(sandbox, sandbox.portal.domain) - before == throttle.PER_ADDRESS
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * throttle.PER_ADDRESS + [429] * (30 - throttle.PER_ADDRESS)
    assert sample("tb_frames_throttled_total", {"scope": "address"}) >= 30 - throttle.PER_ADDRESS
    refused = answers[-1]
    assert 0 < int(refused.headers["Retry-After"]) <= throttle.WINDOW
    assert "open Timeline Bridge again in" in refused.get_data(as_text=True)
    verified = open_main_page(client, sandbox, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert verified.status_code == 200 and 'id="health"' in verified.get_data(as_text=True)


def test_the_activity_page_spends_the_same_budget(connected_app, sandbox, portal) -> None:
    bind_list_menu(portal)
    client = connected_app.test_client()
    activity = activity_of(sandbox)
    before = portal_requests(sandbox, sandbox.portal.domain)
    for _ in range(12):
        open_activity(client, sandbox, activity.id, AUTH_ID=secrets.token_hex(16))
        open_from_menu(client, sandbox, {"ID": activity.id}, AUTH_ID=secrets.token_hex(16))
    assert portal_requests(sandbox, sandbox.portal.domain) - before == throttle.PER_ADDRESS
    assert open_activity(client, sandbox, activity.id, AUTH_ID=secrets.token_hex(16)).status_code == 429


def test_a_flood_from_many_addresses_costs_the_portal_a_bounded_number_of_requests(
    connected_app, sandbox, portal
) -> None:
    client = connected_app.test_client()
    opened = open_main_page(client, sandbox)  # an administrator's page, opened before the flood
    before = portal_requests(sandbox, sandbox.portal.domain)
    answers = [fake_open(client, sandbox, address=f"10.0.{n // 250}.{n % 250}") for n in range(60)]
    assert portal_requests(sandbox, sandbox.portal.domain) - before == throttle.PER_PORTAL
    assert [a.status_code for a in answers].count(429) == 60 - throttle.PER_PORTAL
    # Verified work goes on: the administrator's page token acts, the portal answers.
    repaired = client.post("/repair", data={"page_token": page_token(opened), "lang": "en"})
    assert repaired.status_code == 200


def test_accepted_tokens_give_their_unit_back(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    assert fake_open(client, sandbox, address="192.0.2.9").status_code == 401  # now every open takes a unit
    for _ in range(3 * throttle.PER_ADDRESS):
        assert open_main_page(client, sandbox, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
    assert fake_open(client, sandbox, address="192.0.2.9").status_code == 401  # the budget is still whole


@pytest.fixture
def served(connected_app) -> Any:
    """The app on a real threaded HTTP server, for requests in flight at once."""
    server, thread = serve(connected_app)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


# As many as gunicorn's threads (each holds two of SQLite's 15 pooled connections at a time).
IN_FLIGHT = 6


def concurrent_fake_opens(sandbox: Any, served: str, count: int) -> list[int]:
    """`count` fake opens of the demo portal, IN_FLIGHT at once, over real HTTP; their statuses."""
    frames = [
        open_frame(
            sandbox.state,
            sandbox.portal,
            find_app(sandbox.state, sandbox.portal),
            sandbox.portal.users[1],
            lang="en",
        )
        for _ in range(count)
    ]

    def post(frame: Any) -> int:
        url = served + frame.url[frame.url.index("/", len("http://")) :]
        fields = {**frame.fields, "AUTH_ID": secrets.token_hex(16)}
        return requests.post(url, data=fields, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        return list(pool.map(post, frames))


def test_once_refusals_are_counted_opens_in_flight_cannot_overshoot_the_budget(
    connected_app, sandbox, portal, served
) -> None:
    before = portal_requests(sandbox, sandbox.portal.domain)
    assert fake_open(connected_app.test_client(), sandbox).status_code == 401  # one refusal counted
    statuses = concurrent_fake_opens(sandbox, served, 40)
    assert portal_requests(sandbox, sandbox.portal.domain) - before == throttle.PER_ADDRESS
    assert statuses.count(401) == throttle.PER_ADDRESS - 1 and statuses.count(429) == 40 - statuses.count(401)


def test_a_flood_that_starts_all_at_once_overshoots_at_most_by_the_opens_in_flight(
    connected_app, sandbox, portal, served
) -> None:
    before = portal_requests(sandbox, sandbox.portal.domain)
    statuses = concurrent_fake_opens(sandbox, served, 40)
    slipped = portal_requests(sandbox, sandbox.portal.domain) - before
    assert statuses.count(401) == slipped <= throttle.PER_ADDRESS + IN_FLIGHT  # those in flight at the start
    assert statuses.count(429) == 40 - slipped


# --- the bounded wait ---


class Clock:
    """A clock that moves only when the limiter sleeps: the waits are counted, not lived.

    `meanwhile` runs after every sleep (another caller taking the slot that freed up).
    """

    def __init__(self, meanwhile: Any = None) -> None:
        self.now = time.time()
        self.slept = 0.0
        self.meanwhile = meanwhile

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        if self.slept > 120:
            raise AssertionError("the limiter would keep this person waiting for minutes")
        if self.meanwhile is not None:
            self.meanwhile(self.now)


def full_bucket(portal: Any, *, rate: float, burst: int) -> None:
    """The portal's bucket as a flood (or the portal's own 503) leaves it: full, just now."""
    portal.rate_limit = RateLimitBucket(rate=rate, burst=burst)
    db.session.commit()
    limiter_for(db.engine, portal, interactive=True).overflowed()


def test_a_person_waits_at_most_the_bounded_wait_then_hears_when_to_retry(connected_app, portal) -> None:
    full_bucket(portal, rate=1.0, burst=10)  # a slot frees up every second...
    others = limiter_for(db.engine, portal, interactive=True)
    clock = Clock(meanwhile=lambda now: others.overflowed())  # ...and somebody else always takes it
    others.clock = clock
    people = limiter_for(db.engine, portal, interactive=True)
    people.clock, people.sleep = clock, clock.sleep
    with pytest.raises(PortalBusy) as busy:
        people.acquire()
    assert 0 < clock.slept <= INTERACTIVE_WAIT
    assert busy.value.retry_after == 1 and busy.value.status == 503


def test_a_slot_further_away_than_the_bounded_wait_is_not_waited_for(connected_app, portal) -> None:
    full_bucket(portal, rate=1 / (INTERACTIVE_WAIT + 0.5), burst=10)  # the next slot half a second too late
    clock = Clock()
    people = limiter_for(db.engine, portal, interactive=True)
    people.clock, people.sleep = clock, clock.sleep
    with pytest.raises(PortalBusy) as busy:
        people.acquire()
    assert clock.slept == 0 and busy.value.retry_after == math.ceil(INTERACTIVE_WAIT + 0.5)


def test_a_slot_within_the_bounded_wait_is_waited_for(connected_app, portal) -> None:
    full_bucket(portal, rate=1.0, burst=10)
    clock = Clock()
    people = limiter_for(db.engine, portal, interactive=True)
    people.clock, people.sleep = clock, clock.sleep
    people.acquire()
    assert 0 < clock.slept <= INTERACTIVE_WAIT


def test_calls_nobody_waits_on_still_wait_for_their_slot(connected_app, portal) -> None:
    full_bucket(portal, rate=0.1, burst=10)
    clock = Clock()
    worker = limiter_for(db.engine, portal, interactive=False)
    worker.clock, worker.sleep = clock, clock.sleep
    worker.acquire()
    assert clock.slept > INTERACTIVE_WAIT


def test_a_busy_portal_answers_its_pages_at_once_and_another_portal_is_untouched(
    connected_app, sandbox, portal
) -> None:
    other = install_portal(sandbox, portal=sandbox.portals[1])
    full_bucket(portal, rate=0.1, burst=10)  # the next slot in 10 s: more than a person waits
    client = connected_app.test_client()
    before = portal_requests(sandbox, sandbox.portal.domain)
    busy = open_main_page(client, sandbox)
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) == 10
    assert "Try again in 10 s" in busy.get_data(as_text=True)
    assert portal_requests(sandbox, sandbox.portal.domain) == before  # nothing was sent
    for _ in range(throttle.PER_PORTAL + 5):
        assert fake_open(client, sandbox).status_code in (503, 429)
    elsewhere = open_main_page(client, sandbox, portal=sandbox.portals[1])
    assert elsewhere.status_code == 200, other.member_id


def test_a_busy_portal_refuses_an_action_in_words(connected_app, sandbox, portal) -> None:
    client = connected_app.test_client()
    activity = activity_of(sandbox)
    token = page_token(open_activity(client, sandbox, activity.id))
    full_bucket(portal, rate=0.1, burst=10)
    response = client.post(f"/activity/{activity.id}/complete", data={"page_token": token, "lang": "en"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert "nothing was done" in response.get_data(as_text=True)
    assert not sandbox.portal.crm.activities[activity.id].completed


def test_a_busy_portal_answers_the_api_in_json_and_a_retry_may_come_later(
    connected_app, sandbox, portal
) -> None:
    from app.api import keys

    _, key = keys.create_key(portal.member_id, "helpdesk")
    db.session.commit()
    full_bucket(portal, rate=0.1, burst=10)
    body = {
        "portal": portal.member_id,
        "owner": {"type_id": 2, "id": 1},
        "subject": "Ticket",
        "idempotency_key": "busy-1",
    }
    api = connected_app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    response = api.post("/api/v1/activities", json=body, headers=headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert response.json["error"] == "portal_busy" and "try again in 10 s" in response.json["message"]
    portal.rate_limit.rate, portal.rate_limit.burst, portal.rate_limit.level = 1000.0, 1000, 0.0
    db.session.commit()
    retried = api.post("/api/v1/activities", json=body, headers=headers)
    assert retried.status_code == 201, retried.json
    made = [a for a in sandbox.portal.crm.activities.values() if str(a.field("ORIGIN_ID")).endswith("busy-1")]
    assert len(made) == 1
