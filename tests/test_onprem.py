"""On-premise portals: a name the OAuth server vouched for installs and works; SSRF attempts send nothing.

The on-premise portal is the sandbox on 127.0.0.1 under the name crm.example-customer.test, served over
TLS with a certificate for that name. The app resolves it through B24_RESOLVER (a test's own answers,
the code path the system resolver takes in production) and may connect to 127.0.0.1 only because the
operator's list names `127.0.0.1:<that port>`: every other loopback port, and every other private
address, is refused by the public-address rule. Tripwires are listening sockets that count connections.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from flask import Flask

from app.bitrix24.addresses import is_public
from app.bitrix24.client import Client, Credentials, FixedCredentials
from app.bitrix24.errors import HostNotAllowed, TransportError
from app.bitrix24.hosts import vouchable_host, vouchable_url
from app.bitrix24.oauth import OAuthClient
from app.bitrix24.pinning import AddressRefused, Guard, system_resolver
from app.bitrix24.transport import Transport
from app.extensions import db
from app.models import Portal, PortalState
from app.portals.connections import client_for
from app.portals.lifecycle import Claim, NotVerified
from app.portals.registration import check
from app.portals.trust import verified_install
from bench.loadgen import install_portal
from sandbox.apps import find_app, finish_install
from sandbox.seed import reset_and_seed
from sandbox.testing import RunningSandbox, serve, start_sandbox
from sandbox.ui.frame import open_frame
from tests.conftest import make_config, running_app
from tests.test_host_grammar import install_block, oauth_server, redirecting_portal, served

NAME = "crm.example-customer.test"


@dataclass(eq=False)
class Resolver:
    """A test's DNS: each name answers its lists in turn (the last one repeats); every question is kept."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "no such name")
        return turns.pop(0) if len(turns) > 1 else turns[0]


class Tripwire:
    """A listening TCP socket that counts the connections made to it (and answers none)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, family: int = socket.AF_INET) -> None:
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(16)
        self.socket.settimeout(0.05)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.socket.close()


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture(scope="module")
def onprem_server() -> Iterator[RunningSandbox]:
    running = start_sandbox(portals=1, tls=True, portal_names=[NAME])
    yield running
    running.stop()


@pytest.fixture
def onprem(onprem_server: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    """The on-premise sandbox, reset; the app trusts its test certificate authority (REQUESTS_CA_BUNDLE)."""
    onprem_server.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", onprem_server.ca_file or "")
    return onprem_server


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def resolver(onprem: RunningSandbox) -> Resolver:
    return Resolver({NAME: [["127.0.0.1"]]})


@pytest.fixture
def onprem_app(database_url: str, onprem: RunningSandbox, resolver: Resolver) -> Iterator[Flask]:
    """The app served over HTTP, allowed its OAuth server and the portal's one port, resolving by `resolver`.

    The portal's name is not on the list: only the OAuth server's app.info makes it callable.
    """
    config = make_config(
        database_url,
        B24_CLIENT_ID=onprem.state.setting("client_id"),
        B24_CLIENT_SECRET=onprem.state.setting("client_secret"),
        B24_OAUTH_URL=onprem.oauth_url,
        B24_ALLOWED_HOSTS=(
            f"127.0.0.1:{port_of(onprem.oauth_url)}",
            f"127.0.0.1:{port_of(onprem.portal_url)}",
        ),
        B24_RESOLVER=resolver,
    )
    with running_app(config) as app:
        server, thread = serve(app)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        app.config["APP_BASE_URL"] = url
        onprem.configure(app_base_url=url, preinstalled=False)
        reset_and_seed(onprem.state)
        yield app
        server.shutdown()
        server.server_close()
        thread.join(5)


def post_frame(onprem: RunningSandbox, **options: Any) -> requests.Response:
    """The administrator's frame POST, exactly as the sandbox portal's slider sends it."""
    portal = onprem.portal
    frame = open_frame(
        onprem.state, portal, find_app(onprem.state, portal), portal.users[1], lang="en", **options
    )
    return requests.post(frame.url, data=frame.fields, timeout=30)


def stored() -> list[Portal]:
    db.session.expire_all()
    return list(db.session.query(Portal))


# --- the on-premise portal installs and works ---


def test_an_on_premise_portal_on_its_own_domain_installs_and_works(onprem_app, onprem, resolver) -> None:
    assert onprem.portal.domain == f"{NAME}:{port_of(onprem.portal_url)}"
    response = post_frame(onprem)
    assert response.status_code == 200, response.text
    assert "Timeline Bridge is ready" in response.text
    [portal] = stored()
    assert portal.domain == onprem.portal.domain
    assert portal.client_endpoint == f"https://{NAME}:{port_of(onprem.portal_url)}/rest/"
    assert NAME in resolver.asked  # called by name, at the address the rule checked

    finish_install(onprem.state, onprem.portal, user_id=1)
    delivery = onprem.wait_for_deliveries(1)[0]
    assert (delivery.event, delivery.status) == ("ONAPPINSTALL", 200)
    assert stored()[0].state is PortalState.ACTIVE
    health = check(
        client_for(stored()[0]), onprem_app.extensions["manifest"], base_url=onprem_app.config["APP_BASE_URL"]
    )
    assert health.ok, health


def test_the_installed_portal_opens_the_main_page(onprem_app, onprem) -> None:
    assert post_frame(onprem).status_code == 200
    finish_install(onprem.state, onprem.portal, user_id=1)
    onprem.wait_for_deliveries(1)
    main = post_frame(onprem)
    assert main.status_code == 200, main.text


def test_the_certificate_is_checked_for_the_name_not_the_address(onprem_app, onprem, resolver) -> None:
    resolver.answers["other.example-customer.test"] = [["127.0.0.1"]]
    endpoint = f"https://other.example-customer.test:{port_of(onprem.portal_url)}/rest/"
    transport = Transport(allowed_hosts=onprem_app.config["B24_ALLOWED_HOSTS"], resolver=resolver).vouching(
        endpoint
    )
    with pytest.raises(TransportError) as refused:  # the certificate names NAME only
        transport.post(endpoint + "profile", {"auth": onprem.token()}, method="profile")
    assert (refused.value.code, refused.value.description) == ("CONNECTION_ERROR", "SSLError")


# --- SSRF: the OAuth server (or a forger of its answer) names a private address ---


@pytest.fixture
def forged_oauth() -> Callable[[str], Any]:
    """An OAuth server whose app.info names `client_endpoint` for the token (a compromised answer)."""

    def serve_endpoint(client_endpoint: str) -> Any:
        return served(
            oauth_server(
                install_block(client_endpoint=client_endpoint, domain="acme.example-customer.test"), {}
            )
        )

    return serve_endpoint


def try_install(oauth_url: str, resolver: Resolver | None = None) -> None:
    transport = Transport(
        allowed_hosts=(f"127.0.0.1:{port_of(oauth_url)}",), resolver=resolver or system_resolver
    )
    oauth = OAuthClient(oauth_url, "app", "secret", transport)
    verified_install(
        oauth,
        Claim("a-token", "m1", "acme.example-customer.test"),
        allowed_hosts=transport.allowed_hosts,
        stored=None,
    )


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "0x7f.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "localhost",
        "[::ffff:127.0.0.1]",
        "[::1]",
    ],
)
def test_an_address_in_any_spelling_as_client_endpoint_sends_nothing(forged_oauth, tripwire, host) -> None:
    with forged_oauth(f"https://{host}:{tripwire.port}/rest/") as oauth_url, pytest.raises(NotVerified):
        try_install(oauth_url)  # the system resolver: were the grammar to let one through, it would connect
    assert tripwire.connections == 0


@pytest.mark.parametrize(
    "answer",
    ["127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1"],  # noqa: S104
)
def test_a_name_resolving_to_a_loopback_address_sends_nothing(forged_oauth, tripwire, answer) -> None:
    resolver = Resolver({"evil.example-customer.test": [[answer]]})
    endpoint = f"https://evil.example-customer.test:{tripwire.port}/rest/"
    with forged_oauth(endpoint) as oauth_url, pytest.raises(NotVerified, match="may not be called"):
        try_install(oauth_url, resolver)
    assert resolver.asked == ["evil.example-customer.test"] and tripwire.connections == 0


def test_a_plain_http_client_endpoint_by_name_sends_nothing(forged_oauth, tripwire) -> None:
    resolver = Resolver({"evil.example-customer.test": [["127.0.0.1"]]})
    endpoint = f"http://evil.example-customer.test:{tripwire.port}/rest/"
    with forged_oauth(endpoint) as oauth_url, pytest.raises(NotVerified, match="neither an allowed host"):
        try_install(oauth_url, resolver)
    assert resolver.asked == [] and tripwire.connections == 0


def test_a_frame_from_an_unvouched_domain_is_refused_with_words(onprem_app, onprem, tripwire) -> None:
    portal = onprem.portal
    frame = open_frame(onprem.state, portal, find_app(onprem.state, portal), portal.users[1], lang="en")
    base, _, query = frame.url.partition("?")
    fields = dict(parse_qsl(query), DOMAIN=f"evil.example-customer.test:{tripwire.port}")
    url = f"{base}?{urlencode(fields)}"
    response = requests.post(url, data=frame.fields, timeout=30)
    assert response.status_code == 403 and "confirm" in response.text
    assert stored() == [] and tripwire.connections == 0


# --- DNS rebinding: the address checked is the address connected to ---


def test_rebinding_between_check_and_connect_never_reaches_the_second_answer(
    onprem_app, onprem, resolver
) -> None:
    port = port_of(onprem.portal_url)
    second = Tripwire("127.0.0.2", port)  # where a resolve-again client would connect
    try:
        resolver.answers[NAME] = [["127.0.0.1"], ["127.0.0.2"]]
        endpoint = f"https://{NAME}:{port}/rest/"
        transport = Transport(
            allowed_hosts=onprem_app.config["B24_ALLOWED_HOSTS"], resolver=resolver
        ).vouching(endpoint)
        answer = transport.post(endpoint + "profile", {"auth": onprem.token()}, method="profile")
        assert answer.result["ID"] == "1" and resolver.asked == [
            NAME
        ]  # one answer, used for check and connect
        # The sandbox closes each connection (HTTP/1.0), so the next call resolves again: now to 127.0.0.2.
        with pytest.raises(HostNotAllowed) as refused:
            transport.post(endpoint + "profile", {"auth": onprem.token()}, method="profile")
        assert refused.value.code == "ADDRESS_NOT_PUBLIC"
        assert second.connections == 0
    finally:
        second.close()


# --- redirects are domain moves: confirmed by app.info, or refused ---


@pytest.fixture
def moved_portal(onprem_app, onprem) -> Portal:
    """The on-premise portal installed, its stored address an allowed old one that now answers 302."""
    return install_portal(onprem)


def redirected_client(portal: Portal, old: str, oauth_app: Flask) -> Client:
    with oauth_app.app_context():
        client = client_for(portal)
    client.transport = Transport(
        allowed_hosts=(*client.transport.allowed_hosts, f"127.0.0.1:{port_of(old)}"),
        resolver=client.transport.resolver,
    )
    client.credentials = FixedCredentials(
        Credentials(client.credentials.current().access_token, f"{old}/rest/", 0)
    )
    return client


def test_a_redirect_the_oauth_server_confirms_is_a_domain_move(onprem_app, onprem, moved_portal) -> None:
    new = moved_portal.client_endpoint
    with served(redirecting_portal(new + "profile")) as old:
        client = redirected_client(moved_portal, old, onprem_app)
        assert client.call("profile")["ID"] == "1"
        assert client.credentials.current().client_endpoint == new


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/rest/", "https://evil.example-customer.test:{port}/rest/"]
)
def test_a_redirect_the_oauth_server_does_not_confirm_sends_nothing(
    onprem_app, onprem, moved_portal, resolver, tripwire, target
) -> None:
    resolver.answers["evil.example-customer.test"] = [["127.0.0.1"]]
    with served(redirecting_portal(target.format(port=tripwire.port) + "profile")) as old:
        client = redirected_client(moved_portal, old, onprem_app)
        with pytest.raises(HostNotAllowed) as refused:
            client.call("profile")
        assert refused.value.code == "PORTAL_MOVE_REFUSED"
        assert client.credentials.current().client_endpoint == f"{old}/rest/"
    assert tripwire.connections == 0 and "evil.example-customer.test" not in resolver.asked


# --- the rules themselves ---


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # noqa: S104
        "10.1.2.3",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "169.254.169.254",
        "172.16.0.1",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.51.100.1",
        "203.0.113.1",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::1",
        "2002:7f00:1::",
        "2002:c0a8:101::",
        "2001::1",
        "2001:db8::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "fe80::1%eth0",
        "fec0::1",
        "ff02::1",
        "100::1",
        "not-an-address",
        "",
    ],
)
def test_no_private_reserved_or_special_address_is_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::",
    ],
)
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(address)


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    guard = Guard(Resolver({"mixed.example.com": [["8.8.8.8", "10.0.0.1"]]}), ())
    with pytest.raises(AddressRefused):
        guard.address("mixed.example.com", 443)  # nothing connects: the guard only answers
    assert (
        Guard(Resolver({"ok.example.com": [["8.8.8.8", "1.1.1.1"]]}), ()).address("ok.example.com", 443)
        == "8.8.8.8"
    )


def test_an_operator_listed_address_is_acceptable_only_on_its_port() -> None:
    guard = Guard(Resolver(), ("127.0.0.1:8443",))
    assert guard.acceptable("127.0.0.1", 8443) and not guard.acceptable("127.0.0.1", 8444)
    assert not guard.acceptable("127.0.0.2", 8443) and not guard.acceptable("::1", 8443)


@pytest.mark.parametrize(
    "host",
    [
        "127.1",
        "0x7f.1",
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "1.2.3.4",
        "localhost",
        "a.b.1",
        "x.0x10",
        "",
        "a..b",
    ],
)
def test_an_address_or_a_dotless_name_is_not_vouchable(host: str) -> None:
    assert not vouchable_host(host)


def test_names_are_vouchable_over_https_only() -> None:
    assert vouchable_host("crm.example-customer.test") and vouchable_host("b24.xn--p1ai")
    assert vouchable_url("https://crm.example-customer.test:8443/rest/")
    assert not vouchable_url("http://crm.example-customer.test/rest/")
    assert not vouchable_url("https://user@crm.example-customer.test/rest/")
    assert not vouchable_url("https://crm.example-customer.test\\@127.0.0.1/rest/")


def test_an_unvouched_name_is_refused_before_it_is_resolved(tripwire) -> None:
    resolver = Resolver({"evil.example-customer.test": [["127.0.0.1"]]})
    transport = Transport(allowed_hosts=(), resolver=resolver)
    with pytest.raises(HostNotAllowed):
        transport.post(
            f"https://evil.example-customer.test:{tripwire.port}/rest/profile", {}, method="profile"
        )
    assert resolver.asked == [] and tripwire.connections == 0
