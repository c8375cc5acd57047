"""The official Python SDK (b24pysdk) against the sandbox: REST over TLS, batch, and its payload parsers."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
import requests

b24pysdk = pytest.importorskip("b24pysdk")

from b24pysdk import BitrixApp, BitrixToken, Client  # noqa: E402
from b24pysdk.api.responses.bitrix_app_info_response import BitrixAppInfoResponse  # noqa: E402
from b24pysdk.credentials.auth import RenewedOAuth  # noqa: E402
from b24pysdk.credentials.oauth_event_data import OAuthEventData  # noqa: E402
from b24pysdk.credentials.oauth_token import OAuthToken  # noqa: E402

from sandbox.core import METHODS  # noqa: E402
from sandbox.testing import EventReceiver, RunningSandbox, start_sandbox  # noqa: E402

CRM_METHODS = {"crm.activity.add", "crm.activity.get", "crm.activity.list"}
needs_crm = pytest.mark.skipif(
    not set(METHODS) >= CRM_METHODS, reason="crm.activity.* come from sandbox/crm (the CRM helper)"
)


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox whose portal speaks HTTPS: b24pysdk always builds https:// URLs."""
    running = start_sandbox(tls=True)
    yield running
    running.stop()


@pytest.fixture
def client(tls_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Client:
    """An SDK client for the demo portal; requests trusts the sandbox's self-signed certificate."""
    tls_sandbox.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_sandbox.ca_file or "")
    app = BitrixApp(client_id=tls_sandbox.app.client_id, client_secret=tls_sandbox.app.client_secret)
    token = BitrixToken(domain=tls_sandbox.portal.domain, auth_token=tls_sandbox.token(1), bitrix_app=app)
    return Client(token)


def call_fields() -> dict:
    return {
        "OWNER_TYPE_ID": 2,
        "OWNER_ID": 1,
        "TYPE_ID": 2,
        "SUBJECT": "Call from the SDK",
        "COMMUNICATIONS": [{"VALUE": "+18005551234", "ENTITY_ID": 1, "ENTITY_TYPE_ID": 3}],
        "RESPONSIBLE_ID": 1,
        "DIRECTION": 2,
    }


def test_sdk_reads_platform_methods(client: Client) -> None:
    names = [row["NAME"] for row in client.crm.enum.activitytype().result]
    assert names[:3] == ["", "Meeting", "Call"]


@needs_crm
def test_sdk_adds_gets_and_lists_activities(client: Client) -> None:
    new_id = client.crm.activity.add(fields=call_fields()).result
    assert isinstance(new_id, int) and new_id > 0
    activity = client.crm.activity.get(bitrix_id=new_id).result
    assert activity["SUBJECT"] == "Call from the SDK" and str(activity["ID"]) == str(new_id)
    listed = client.crm.activity.list(filter={"OWNER_TYPE_ID": 2, "OWNER_ID": 1}).result
    assert str(new_id) in {str(row["ID"]) for row in listed}


@needs_crm
def test_sdk_batch(client: Client) -> None:
    new_id = client.crm.activity.add(fields=call_fields()).result
    batch = client.call_batch(
        {"one": client.crm.activity.get(bitrix_id=new_id), "all": client.crm.activity.list()}
    ).result
    assert batch.result["one"]["SUBJECT"] == "Call from the SDK"
    assert isinstance(batch.result["all"], list)


def test_sdk_batch_of_platform_methods(client: Client) -> None:
    batch = client.call_batch([client.crm.enum.activitystatus(), client.crm.enum.activitydirection()]).result
    assert [row["NAME"] for row in batch.result[1]] == ["", "Incoming", "Outgoing"]


def test_sdk_parses_the_token_response(sandbox: RunningSandbox) -> None:
    payload = sandbox.control("token", {"user_id": 2}).json()
    token = OAuthToken.from_dict(payload)
    assert token.expires_in == 3600 and token.access_token == payload["access_token"]
    renewed = RenewedOAuth.from_dict(payload)
    assert renewed.member_id == sandbox.portal.member_id


def test_sdk_parses_and_validates_the_oauth_app_info(sandbox: RunningSandbox) -> None:
    payload = sandbox.control("token", {"user_id": 1}).json()
    body = requests.get(
        f"{sandbox.oauth_url}/rest/app.info/", params={"auth": payload["access_token"]}, timeout=5
    )
    info = BitrixAppInfoResponse.from_dict(body.json()).result
    assert info.install.member_id == sandbox.portal.member_id and info.install.installed is True
    assert info.install.domain == sandbox.portal.domain
    with pytest.raises(RenewedOAuth.ValidationError):  # the SDK compares a port-less hostname
        RenewedOAuth.from_dict(payload).validate_against_app_info(info)
    sandbox.configure(app_info_domain_port=False)
    body = requests.get(
        f"{sandbox.oauth_url}/rest/app.info/", params={"auth": payload["access_token"]}, timeout=5
    )
    info = BitrixAppInfoResponse.from_dict(body.json()).result
    assert RenewedOAuth.from_dict(payload).validate_against_app_info(info)


def test_sdk_parses_user_and_robot_events(sandbox: RunningSandbox, event_receiver: EventReceiver) -> None:
    sandbox.call("event.bind", {"event": "ONCRMACTIVITYADD", "handler": event_receiver.url()})
    sandbox.call("sandboxtest.emit", {"event": "ONCRMACTIVITYADD", "data": {"FIELDS": {"ID": 5}}})
    sandbox.control(
        "robot",
        {
            "method": "sandboxtest.emit",
            "params": {"event": "ONCRMACTIVITYADD", "data": {"FIELDS": {"ID": 6}}},
        },
    )
    user_event, robot_event = (
        OAuthEventData.from_dict(dict(parse_qsl(r.body))) for r in event_receiver.wait_for(2)
    )
    assert user_event.event == "ONCRMACTIVITYADD" and user_event.data == {"FIELDS": {"ID": "5"}}
    assert not user_event.is_system
    assert robot_event.is_system and robot_event.data == {"FIELDS": {"ID": "6"}}
