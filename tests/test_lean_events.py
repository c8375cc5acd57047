"""The lean WSGI path of POST /events (app.events.lean) answers exactly as the Flask view does.

Each case is posted to the app as served (the lean path in front) and to the Flask app behind it, on the
same database; status, body and headers must match (the request id aside, which differs per request),
and what is stored must match too. A counting wrapper round the Flask app shows which path answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from app.events.lean import LeanEvents
from app.extensions import db
from app.models import InboxEvent
from app.portals.store import set_application_token

TOKEN = "a1" * 16
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Counting:
    """The Flask app behind the lean path, counting the requests that reach it."""

    def __init__(self, inner: Callable[..., Iterable[bytes]]) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        return self.inner(environ, start_response)


@pytest.fixture
def paths(connected_app, portal) -> tuple[Client, Client, Counting]:
    """(the served app, the Flask app alone, the counter of requests the lean path passed on)."""
    set_application_token(portal, TOKEN)
    db.session.commit()
    lean = connected_app.wsgi_app
    assert isinstance(lean, LeanEvents)
    counting = Counting(lean.inner)
    lean.inner = counting
    return Client(connected_app), Client(counting.inner), counting


def body(
    member_id: str, ts: str, *, token: str = TOKEN, event: str = "ONCRMACTIVITYADD", **extra: str
) -> str:
    pairs = [("event", event), ("event_handler_id", "7"), ("data[FIELDS][ID]", "42"), ("ts", ts)]
    pairs += [("auth[member_id]", member_id), ("auth[application_token]", token), ("auth[access_token]", "x")]
    return urlencode(pairs + list(extra.items()))


def answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k != "X-Request-Id"}
    assert response.headers.get("X-Request-Id")
    return response.status_code, response.get_data(), headers


def both(paths: tuple[Client, Client, Counting], make: Callable[[str], str | bytes], **kwargs: Any) -> Any:
    """Post make(ts) to each path (its own ts, so neither sees the other's row); both answers, compared."""
    served, flask_only, _ = paths
    kwargs.setdefault("headers", FORM)
    lean = served.post("/events", data=make("1762089975"), **kwargs)
    flask = flask_only.post("/events", data=make("1762089976"), **kwargs)
    assert answer(lean) == answer(flask)
    return lean


def test_a_good_event_is_answered_and_stored_alike_without_flask(paths, portal) -> None:
    first = both(paths, lambda ts: body(portal.member_id, ts))
    assert first.status_code == 200 and first.get_json() == {
        "status": "accepted",
        "event": "ONCRMACTIVITYADD",
    }
    assert paths[2].calls == 0
    rows = db.session.scalars(select(InboxEvent).order_by(InboxEvent.id)).all()
    assert [r.payload["ts"] for r in rows] == ["1762089975", "1762089976"]
    lean, flask = ({**r.payload, "ts": ""} for r in rows)
    assert lean == flask and rows[0].event == rows[1].event and rows[0].member_id == rows[1].member_id


def test_a_redelivery_is_a_duplicate_on_both_paths(paths, portal) -> None:
    both(paths, lambda ts: body(portal.member_id, ts))
    again = both(paths, lambda ts: body(portal.member_id, ts))
    assert again.get_json()["status"] == "duplicate"
    assert paths[2].calls == 0
    assert len(db.session.scalars(select(InboxEvent)).all()) == 2


@pytest.mark.parametrize(
    "forgery",
    [
        {"token": "0" * 32},  # not the portal's application_token
        {"token": ""},  # none
    ],
)
def test_forged_events_get_the_same_401_and_nothing_is_stored(paths, portal, forgery) -> None:
    refused = both(paths, lambda ts: body(portal.member_id, ts, **forgery))
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    assert paths[2].calls == 0
    assert db.session.scalars(select(InboxEvent)).all() == []


def test_an_unknown_portal_gets_the_same_401(paths) -> None:
    refused = both(paths, lambda ts: body("f" * 32, ts))
    assert refused.status_code == 401 and paths[2].calls == 0


def test_an_event_the_manifest_does_not_bind_is_ignored_alike(paths, portal) -> None:
    ignored = both(paths, lambda ts: body(portal.member_id, ts, event="ONCRMDEALADD"))
    assert ignored.get_json() == {"status": "ignored", "event": "ONCRMDEALADD"} and paths[2].calls == 0


def test_a_proxys_request_id_is_echoed_by_both(paths, portal) -> None:
    served, flask_only, _ = paths
    headers = {**FORM, "X-Request-Id": "proxy-id-1"}
    for client, ts in ((served, "1"), (flask_only, "2")):
        response = client.post("/events", data=body(portal.member_id, ts), headers=headers)
        assert response.headers["X-Request-Id"] == "proxy-id-1"


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("oversized", lambda m, ts: body(m, ts, pad="p" * 40_000), 413),
        ("too many fields", lambda m, ts: body(m, ts) + "&x=1" * 600, 413),
        ("a key no portal sends", lambda m, ts: body(m, ts) + "&a]b=1", 400),
        ("a value and a group", lambda m, ts: body(m, ts) + "&data=1", 400),
        ("no event name", lambda m, ts: body(m, ts, event=""), 400),
        ("empty", lambda m, ts: "", 400),
    ],
)
def test_bad_input_goes_to_flask_and_gets_its_words(paths, portal, name, make, status) -> None:
    refused = both(paths, lambda ts: make(portal.member_id, ts))
    assert refused.status_code == status, name
    assert refused.get_json()["message"]
    assert paths[2].calls == 1  # the lean path handed it on, the body replayed
    assert db.session.scalars(select(InboxEvent)).all() == []


def test_json_bodies_and_other_routes_reach_flask_unchanged(paths, portal) -> None:
    served, _, counting = paths
    event = {"event": "ONCRMACTIVITYADD", "data": {"FIELDS": {"ID": "42"}}, "ts": "1"}
    event["auth"] = {"member_id": portal.member_id, "application_token": TOKEN}
    assert served.post("/events", json=event).get_json()["status"] == "accepted"
    assert served.get("/events").status_code == 405
    assert served.get("/healthz").status_code == 200
    assert counting.calls == 3
