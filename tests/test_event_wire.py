"""The event body as the portal sends it: PHP bracket keys into nested dicts, with limits; never a 500."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.events.wire import NAME_CACHED, _field_name, _known_path, form_pairs, nest, parse_body
from app.web.limits import DEFAULTS

MAX_KEYS = DEFAULTS["FORM_FIELDS_LIMIT"]

# notes §2.1: a real captured body (2018, before event_handler_id)
CAPTURED = (
    "event=ONCRMLEADADD&data%5BFIELDS%5D%5BID%5D=365&ts=1545851621&auth%5Bdomain%5D=b24-46hovy.bitrix24.ru"
    "&auth%5Bclient_endpoint%5D=https%3A%2F%2Fb24-46hovy.bitrix24.ru%2Frest%2F&auth%5Bserver_endpoint%5D="
    "https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%5Bmember_id%5D=1b87798bc2d16c4b7f2a604e0c899a34"
    "&auth%5Bapplication_token%5D=o8kfcne3du24sfvoeahh43uf9oygu2x3"
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def parse(app, body: str | bytes, headers: dict[str, str] | None = None):
    with app.test_request_context("/events", method="POST", data=body, headers=headers or FORM):
        return parse_body(request)


def test_a_captured_body_nests_as_php_would(app) -> None:
    event = parse(app, CAPTURED)
    assert event["event"] == "ONCRMLEADADD"
    assert event["data"] == {"FIELDS": {"ID": "365"}}
    assert event["auth"]["member_id"] == "1b87798bc2d16c4b7f2a604e0c899a34"
    assert event["auth"]["client_endpoint"] == "https://b24-46hovy.bitrix24.ru/rest/"


def test_numeric_keys_become_lists_and_empty_brackets_append(app) -> None:
    event = parse(app, "data[IDS][0]=a&data[IDS][1]=b&data[TAGS][]=x&data[TAGS][]=y&data[MAP][1]=z")
    assert event["data"] == {"IDS": ["a", "b"], "TAGS": ["x", "y"], "MAP": {"1": "z"}}


def test_json_bodies_are_accepted(app) -> None:
    event = parse(
        app, '{"event": "ONAPPTEST", "auth": {"member_id": "m"}}', {"Content-Type": "application/json"}
    )
    assert event == {"event": "ONAPPTEST", "auth": {"member_id": "m"}}


def post(client, body: str | bytes, headers: dict[str, str] | None = None):
    return client.post("/events", data=body, headers=headers or FORM)


def test_bad_bodies_get_a_clear_4xx(client) -> None:
    cases = [
        ("a" * 70_000, 413, "larger than the 32 KB this address accepts"),
        ("&".join(f"k{i}=v" for i in range(MAX_KEYS + 1)), 413, "at most 500 fields"),
        ("event=X&" + "a" + "[b]" * 9 + "=1", 400, "deeper than 8"),
        ("event=X&a[b=1", 400, "not a form key"),
        ("event=X&a=1&a[b]=2", 400, "both as a value and as a group"),
        ("auth[member_id]=m", 400, "no event name"),
        ("0=", 400, "no event name"),  # numeric top-level keys: the body stays a map, not a list
    ]
    for body, status, words in cases:
        response = post(client, body)
        assert response.status_code == status, body[:40]
        assert words in response.get_json()["message"], body[:40]
    response = post(client, b"{not json", {"Content-Type": "application/json"})
    assert response.status_code == 400 and "is not JSON" in response.get_json()["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=20), st.binary(max_size=200))
def test_fuzzed_bodies_never_produce_a_500(client, pairs, raw) -> None:
    for body in (urlencode(pairs), raw):
        response = post(client, body)
        assert response.status_code < 500
        assert response.status_code in (400, 401, 413)


# What a form body is made of, escapes and separators most of all, and a few bytes beyond ASCII.
FORM_BYTES = st.lists(
    st.sampled_from(
        [b"&", b"=", b"+", b"%", b"%2", b"%5B", b"%5D", b"%2B", b"%C3%A9", b"%FF", b"%e2%82", b"[", b"]"]
    )
    | st.sampled_from([b"a", b"b", b"0", b"1", b"F", b"g", b" ", b"\xc3\xa9", b"\xff"]),
    max_size=60,
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(FORM_BYTES)
def test_the_fields_are_decoded_exactly_as_the_standard_parser_decodes_them(raw) -> None:
    """form_pairs' own ASCII path: the same pairs as parse_qsl on the body decoded, for any body."""
    assert form_pairs(raw, MAX_KEYS) == parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


def test_only_short_field_names_are_kept_decoded() -> None:
    long_name = "auth[" + "x" * NAME_CACHED + "]"
    names, paths = _field_name.cache_info().currsize, _known_path.cache_info().currsize
    pairs = form_pairs(f"{long_name}=1".encode(), MAX_KEYS)
    assert pairs == [(long_name, "1")] and nest(pairs, MAX_KEYS) == {"auth": {"x" * NAME_CACHED: "1"}}
    assert (_field_name.cache_info().currsize, _known_path.cache_info().currsize) == (names, paths)
    assert form_pairs(b"&&a%5Bb%5D+c=x%2By+z&d", MAX_KEYS) == [("a[b] c", "x+y z"), ("d", "")]


def test_only_keys_exactly_0_to_n_minus_1_make_a_list(app) -> None:
    """Not "00", nor a digit of another script: those stay a map (they made a 500 once)."""
    event = parse(app, "event=X&data[A][00]=a&data[B][%D9%A0]=b&data[C][1]=c&data[C][0]=d")
    assert event["data"] == {"A": {"00": "a"}, "B": {"\u0660": "b"}, "C": ["d", "c"]}
