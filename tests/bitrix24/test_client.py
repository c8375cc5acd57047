"""The Bitrix24 client against the sandbox: envelopes, typed errors, refresh, batch, pagination, hosts."""

from __future__ import annotations

import pytest

from app.bitrix24 import activities
from app.bitrix24.client import Client
from app.bitrix24.errors import (
    AccessDenied,
    HostNotAllowed,
    InvalidParameter,
    InvalidToken,
    MethodNotFound,
    NeedsReinstall,
    NotFound,
    OperationTimeLimit,
    QueryLimitExceeded,
    ServerError,
    TransportError,
    ValidationError,
)
from app.bitrix24.retry import RetryPolicy
from app.extensions import db
from app.models import Portal, PortalState
from app.portals.connections import client_for
from sandbox.limits import add_fault
from tests.conftest import install_portal

FAST = RetryPolicy(base_delay=0.005, max_delay=0.02)


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def client(portal: Portal, sandbox, calls) -> Client:
    sandbox.configure(limits_enabled=False)
    client = client_for(portal)
    client.retry = RetryPolicy(base_delay=0.005, max_delay=0.02)
    client.observe = lambda method, outcome: calls.append((method, outcome))
    return client


def expire_access_token(sandbox, portal: Portal, client: Client) -> str:
    token = client.credentials.current().access_token
    sandbox.state.tokens[token].expires_at = 0
    return token


def test_a_call_returns_the_result(client: Client) -> None:
    user = client.call("user.current")
    assert str(user["ID"]) == "1"


def test_documented_errors_surface_as_typed_errors(client: Client) -> None:
    with pytest.raises(NotFound):
        client.run(activities.get(999999))
    with pytest.raises(MethodNotFound) as raised:
        client.call("crm.no.such.method")
    assert raised.value.status == 404


def test_bad_input_is_refused_before_any_request(client: Client, calls) -> None:
    for bad in ("", "crm.activity.get?x=1", "../rest", None):
        with pytest.raises(InvalidParameter):
            client.call(bad)  # type: ignore[arg-type]
    assert calls == []


def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    client: Client, sandbox, portal: Portal
) -> None:
    old = expire_access_token(sandbox, portal, client)
    assert str(client.call("user.current")["ID"]) == "1"
    db.session.expire_all()
    assert portal.token_version == 2
    assert client.credentials.current().access_token != old


def test_a_refused_refresh_token_parks_the_portal_without_looping(
    client: Client, sandbox, portal: Portal, calls
) -> None:
    expire_access_token(sandbox, portal, client)
    add_fault(sandbox.state, "status", status=400, method="oauth.token", error="invalid_grant")
    with pytest.raises(NeedsReinstall):
        client.call("user.current")
    db.session.expire_all()
    assert portal.state is PortalState.NEEDS_REINSTALL
    assert calls == [("user.current", "expired_token")]


def test_an_invalid_token_nobody_replaced_is_raised_not_looped(
    client: Client, sandbox, portal: Portal
) -> None:
    token = client.credentials.current().access_token
    del sandbox.state.tokens[token]
    with pytest.raises(InvalidToken):
        client.call("user.current")


def test_batch_sends_120_commands_in_3_requests(client: Client, calls) -> None:
    commands = {f"u{n}": ("user.current", {}) for n in range(120)}
    outcome = client.batch(commands)
    assert outcome.requests == 3
    assert [c for c in calls if c[0] == "batch"] == [("batch", "ok")] * 3
    assert len(outcome.results) == 120 and not outcome.errors


def test_batch_types_each_commands_error_and_resolves_references(client: Client, sandbox) -> None:
    owner = next(iter(sandbox.portal.owners.values()))
    outcome = client.batch(
        {
            "missing": ("crm.activity.get", {"id": 999999}),
            "me": ("user.current", {}),
            "again": ("user.get", {"ID": "$result[me][ID]"}),
        }
    )
    assert isinstance(outcome.errors["missing"], NotFound)
    assert str(outcome.results["me"]["ID"]) == "1"
    assert owner is not None


@pytest.mark.parametrize(
    ("commands", "words"),
    [
        ({}, "at least one command"),
        ({"a": ("batch", {})}, "cannot run inside a batch"),
        ({"a": ("user.current",)}, "(method, params)"),
        ({"a": ("user.get", {"ID": "$result[b][ID]"}), "b": ("user.current", {})}, "not an earlier command"),
        (
            {
                **{f"c{n}": ("user.current", {}) for n in range(50)},
                "late": ("user.get", {"ID": "$result[c0][ID]"}),
            },
            "not an earlier command",
        ),
    ],
)
def test_malformed_batches_are_refused_before_sending(client: Client, calls, commands, words) -> None:
    with pytest.raises(InvalidParameter, match=words):
        client.batch(commands)
    assert calls == []


def test_iterating_a_list_walks_every_page(client: Client, sandbox, calls) -> None:
    owner = (
        sandbox.portal.owners[(2, 1)]
        if (2, 1) in sandbox.portal.owners
        else next(iter(sandbox.portal.owners.values()))
    )
    fields = {
        "OWNER_TYPE_ID": owner.type_id,
        "OWNER_ID": owner.id,
        "TYPE_ID": 2,
        "SUBJECT": "call",
        "RESPONSIBLE_ID": 1,
        "COMMUNICATIONS": [{"VALUE": "+100", "ENTITY_TYPE_ID": 3, "ENTITY_ID": 1}],
    }
    created = client.run_batch({f"a{n}": activities.add(fields) for n in range(120)})
    assert all(isinstance(v, int) for v in created.values()), created
    calls.clear()
    filter_ = {"OWNER_TYPE_ID": owner.type_id, "OWNER_ID": owner.id, "SUBJECT": "call"}
    ids = [item["ID"] for item in client.iterate("crm.activity.list", {"filter": filter_})]
    assert sorted(int(i) for i in ids) == sorted(created.values())
    assert len([c for c in calls if c[0] == "crm.activity.list"]) == 3


def test_a_host_outside_the_allow_list_is_never_called(
    portal: Portal, sandbox, event_receiver, connected_app
) -> None:
    sandbox_hosts = tuple(url.split("://")[1] for url in (sandbox.oauth_url, *sandbox.portal_urls))
    connected_app.config["B24_ALLOWED_HOSTS"] = sandbox_hosts  # the listener's port is not among them
    portal.client_endpoint = event_receiver.url("/rest/")
    db.session.commit()
    with pytest.raises(HostNotAllowed):
        client_for(portal).call("user.current")
    assert event_receiver.requests == []


def test_limit_answers_back_off_and_then_succeed(client: Client, sandbox) -> None:
    add_fault(
        sandbox.state, "status", status=503, count=2, method="crm.activity.add", error="QUERY_LIMIT_EXCEEDED"
    )
    owner = next(iter(sandbox.portal.owners.values()))
    new_id = client.run(
        activities.add(
            {
                "OWNER_TYPE_ID": owner.type_id,
                "OWNER_ID": owner.id,
                "TYPE_ID": 2,
                "SUBJECT": "after 503",
                "RESPONSIBLE_ID": 1,
                "COMMUNICATIONS": [{"VALUE": "+1", "ENTITY_TYPE_ID": 3, "ENTITY_ID": 1}],
            }
        )
    )
    assert new_id > 0


def test_503_attempts_are_bounded(client: Client, sandbox) -> None:
    add_fault(sandbox.state, "status", status=503, count=None, error="QUERY_LIMIT_EXCEEDED")
    with pytest.raises(QueryLimitExceeded):
        client.call("user.current")


def test_5xx_is_retried_for_reads_only(client: Client, sandbox, calls) -> None:
    add_fault(sandbox.state, "status", status=500, count=1, method="user.current")
    assert str(client.call("user.current")["ID"]) == "1"
    add_fault(sandbox.state, "status", status=500, count=1, method="crm.activity.delete")
    with pytest.raises(ServerError):
        client.call("crm.activity.delete", {"id": 1})
    assert calls[-1] == ("crm.activity.delete", "INTERNAL_SERVER_ERROR")


def test_a_dropped_connection_is_retried_for_reads_only(client: Client, sandbox) -> None:
    add_fault(sandbox.state, "drop", count=1, method="user.current")
    assert str(client.call("user.current")["ID"]) == "1"
    add_fault(sandbox.state, "drop", count=1, method="crm.activity.delete")
    with pytest.raises(TransportError):
        client.call("crm.activity.delete", {"id": 1})


@pytest.mark.parametrize("reset_in_body", [False, True], ids=["platform-envelope", "reset-in-body"])
def test_429_waits_for_the_reset_in_the_background_and_fails_fast_for_a_person(
    client: Client, sandbox, reset_in_body: bool
) -> None:
    # notes §5.3: the platform's 429 body has no operating_reset_at; some clients show one (sandbox switch)
    sandbox.configure(
        limits_enabled=True,
        rate=1000,
        burst=1000,
        operating_limit=0.5,
        operating_cost=1.0,
        operating_window=1.0,
        operating_reset_at_in_error=reset_in_body,
    )
    client.call("user.current")
    interactive = client_for(db.session.get(Portal, 1), interactive=True)
    with pytest.raises(OperationTimeLimit) as raised:
        interactive.call("user.current")
    assert (raised.value.reset_at is not None) is reset_in_body
    words = "paused this action for this app until" if reset_in_body else "for a few minutes"
    assert words in raised.value.user_message
    waited: list[float] = []
    sleep = lambda s: (waited.append(s), __import__("time").sleep(s))  # noqa: E731
    client.retry = RetryPolicy(sleep=sleep, max_delay=1.5)  # without a reset time: wait max_delay
    assert str(client.call("user.current")["ID"]) == "1"
    assert waited and 0 <= waited[0] <= 3


def test_access_denied_is_typed(connected_app, sandbox) -> None:
    sandbox.configure(limits_enabled=False)
    activity_id = next(iter(sandbox.portal.crm.activities))
    viewer = client_for(install_portal(sandbox, user_id=3))  # user 3 may not change CRM items
    with pytest.raises(AccessDenied):
        viewer.call("crm.activity.delete", {"id": activity_id})


@pytest.mark.parametrize(("kind", "fault"), [("status", {"status": 500}), ("drop", {})])
def test_a_refresh_the_oauth_server_failed_is_asked_once_more(
    client: Client, sandbox, portal: Portal, kind: str, fault: dict
) -> None:
    expire_access_token(sandbox, portal, client)
    add_fault(sandbox.state, kind, method="oauth.token", count=1, **fault)
    assert str(client.call("user.current")["ID"]) == "1"
    db.session.expire_all()
    assert portal.state is PortalState.ACTIVE and portal.token_version == 2


def test_booleans_in_batch_commands_survive_the_portals_bool_caster(client: Client, sandbox) -> None:
    # crm/lib/Dto/Caster/BoolCaster.php: a string is true only as TRUE/Y, so http_build_query's "1" is false.
    todo = client.call(
        "crm.activity.todo.add",
        {"ownerTypeId": 2, "ownerId": 1, "deadline": "2030-01-01T10:00:00+00:00", "title": "Bools"},
    )["id"]
    layout = {
        "blocks": {
            "t": {"type": "text", "properties": {"value": "Hi", "bold": True, "multiline": False}},
            "d": {"type": "deadline", "properties": {"readonly": True}},
        }
    }
    params = {"entityTypeId": 2, "entityId": 1, "activityId": todo, "layout": layout}
    outcome = client.batch({"set": ("crm.activity.layout.blocks.set", params)})
    assert not outcome.errors
    got = client.call(
        "crm.activity.layout.blocks.get", {"entityTypeId": 2, "entityId": 1, "activityId": todo}
    )
    blocks = got["layout"]["blocks"]
    assert blocks["t"]["properties"]["bold"] is True
    assert blocks["t"]["properties"]["multiline"] is False
    assert blocks["d"]["properties"]["readonly"] is True


@pytest.mark.parametrize("as_string", [False, True], ids=["code-100-number", "code-100-string"])
def test_a_missing_d7_parameter_is_a_validation_error_either_way(
    client: Client, sandbox, as_string: bool
) -> None:
    # notes §5.3, disputed: the controller's required-parameter code is 100 (number) or "100" (sandbox switch)
    sandbox.configure(required_code_as_string=as_string)
    with pytest.raises(ValidationError) as raised:
        client.call("crm.activity.todo.add", {"ownerTypeId": 2, "deadline": "2030-01-01T10:00:00+00:00"})
    assert raised.value.code == "100" and "ownerId" in raised.value.description
    outcome = client.batch({"t": ("crm.activity.todo.add", {"ownerTypeId": 2})})
    assert isinstance(outcome.errors["t"], ValidationError)


def test_a_user_who_may_not_read_gets_access_denied_and_rows_left_out(connected_app, sandbox) -> None:
    sandbox.configure(limits_enabled=False)
    olga = client_for(
        install_portal(sandbox, user_id=4)
    )  # sandbox seed: reads only the items assigned to her
    hidden = next(a.id for a in sandbox.portal.crm.activities.values() if (2, 1) in a.bindings)
    with pytest.raises(AccessDenied):
        olga.call("crm.activity.get", {"id": hidden})
    seen = {int(row["ID"]) for row in olga.iterate("crm.activity.list", {"select": ["ID"]})}
    assert hidden not in seen and seen
