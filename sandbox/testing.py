"""Run the sandbox on real local sockets for tests and demos: `start_sandbox()` and an `EventReceiver`."""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import create_sandbox
from sandbox.apps import find_app
from sandbox.events import stop_worker
from sandbox.seed import reset_and_seed
from sandbox.state import Delivery, InstalledApp, Portal, Sandbox
from sandbox.tokens import issue_token

HOST = "127.0.0.1"


def serve(app: Any, *, ssl_context: Any = None) -> tuple[BaseWSGIServer, threading.Thread]:
    """Start a threaded werkzeug server on a free loopback port."""
    server = make_server(HOST, 0, app, threaded=True, ssl_context=ssl_context)
    server.socket.listen(1024)  # a deeper backlog than werkzeug's 128, for many-threaded client tests
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def self_signed_cert(directory: Path, names: Sequence[str] = ()) -> tuple[str, str]:
    """Write a self-signed certificate for 127.0.0.1 (and DNS `names`) and its key; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), *(x509.DNSName(n) for n in names)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll until predicate() is true or fail with a readable message."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


@dataclass
class RunningSandbox:
    """A sandbox served on an OAuth socket plus one socket per portal."""

    flask_app: Flask
    servers: list[BaseWSGIServer]
    threads: list[threading.Thread]
    oauth_url: str
    portal_urls: list[str]
    ca_file: str | None = None
    _tokens: dict[int, str] = field(default_factory=dict)

    @property
    def state(self) -> Sandbox:
        return self.flask_app.extensions["sandbox"]

    @property
    def portal_url(self) -> str:
        return self.portal_urls[0]

    @property
    def portal(self) -> Portal:
        return self.state.portal()

    @property
    def portals(self) -> list[Portal]:
        return list(self.state.portals.values())

    @property
    def app(self) -> InstalledApp:
        """The registered app's row on the demo portal."""
        return find_app(self.state, self.portal)

    def token(self, user_id: int = 1, *, portal: Portal | None = None, fresh: bool = False) -> str:
        """Issue (and cache per reset) an access token of the test app for a user."""
        portal = portal or self.portal
        if fresh or portal is not self.portal or user_id not in self._tokens:
            value = issue_token(self.state, portal, find_app(self.state, portal), user_id).access_token
            if portal is not self.portal or fresh:
                return value
            self._tokens[user_id] = value
        return self._tokens[user_id]

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        portal_url: str | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        """POST a JSON REST call with `auth` in the body, as both SDKs do (notes §5.1)."""
        body = {**(params or {}), "auth": token if token is not None else self.token()}
        url = f"{portal_url or self.portal_url}/rest/{method}"
        return requests.post(url, json=body, timeout=timeout, verify=self.ca_file or True)

    def control(
        self, path: str, payload: dict[str, Any] | None = None, method: str = "POST"
    ) -> requests.Response:
        """Call a /_sandbox control endpoint on the OAuth host."""
        return requests.request(
            method, f"{self.oauth_url}/_sandbox/{path.lstrip('/')}", json=payload, timeout=10
        )

    def configure(self, **settings: Any) -> None:
        """Change settings in place (limits, switches)."""
        with self.state.lock:
            self.state.settings.update(settings)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.state.deliveries)

    def wait_for_deliveries(self, n: int, timeout: float = 5.0) -> list[Delivery]:
        """Wait until at least n deliveries have been attempted; return the finished ones."""
        wait_until(lambda: sum(d.done for d in self.state.deliveries) >= n, timeout, f"{n} event deliveries")
        return [d for d in self.state.deliveries if d.done]

    def reset(self) -> None:
        """Reset all state and seed the demo again (settings back to the start values)."""
        self._tokens.clear()
        with self.state.lock:
            base = self.flask_app.config["SANDBOX_START_SETTINGS"]
            self.state.settings.clear()
            self.state.settings.update(base)
        reset_and_seed(self.state)

    def stop(self) -> None:
        """Shut the servers and the event sender down."""
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(5)
        stop_worker(self.state)


def start_sandbox(
    *, portals: int = 1, tls: bool = False, portal_names: Sequence[str] = (), **settings: Any
) -> RunningSandbox:
    """Start the OAuth host and `portals` portal hosts on free loopback ports, seeded, app preinstalled.

    With tls=True the portals speak HTTPS with a self-signed certificate (`ca_file`), for clients
    that insist on https:// such as b24pysdk. `portal_names` gives portals a DNS name instead of
    127.0.0.1 (an on-premise portal on its owner's domain; the client resolves it to 127.0.0.1 itself).
    """
    settings = {"preinstalled": True, **settings}
    flask_app = create_sandbox({k: v for k, v in settings.items() if k != "portal_domains"})
    ca_file, ssl_context = None, None
    if tls:
        ca_file, key_file = self_signed_cert(Path(tempfile.mkdtemp(prefix="sandbox-tls-")), portal_names)
        ssl_context = (ca_file, key_file)
    oauth_server, oauth_thread = serve(flask_app)
    portal_servers = [serve(flask_app, ssl_context=ssl_context) for _ in range(portals)]
    scheme = "https" if tls else "http"
    oauth_url = f"http://{HOST}:{oauth_server.server_address[1]}"
    names = [*portal_names, *[HOST] * (portals - len(portal_names))]
    domains = [f"{name}:{s.server_address[1]}" for name, (s, _) in zip(names, portal_servers, strict=False)]
    settings.update(oauth_base_url=oauth_url, portal_domains=domains, portal_protocol=scheme)
    flask_app.config["SANDBOX_START_SETTINGS"] = dict(settings)
    running = RunningSandbox(
        flask_app=flask_app,
        servers=[oauth_server, *(s for s, _ in portal_servers)],
        threads=[oauth_thread, *(t for _, t in portal_servers)],
        oauth_url=oauth_url,
        portal_urls=[f"{scheme}://{d}" for d in domains],
        ca_file=ca_file,
    )
    running.state.oauth_base_url = oauth_url
    running.reset()
    return running


@dataclass
class Received:
    """One request the EventReceiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: str

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The flat form pairs, exactly as sent (bracket keys kept)."""
        return parse_qsl(self.body, keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.pairs)


class EventReceiver:
    """A tiny HTTP listener on 127.0.0.1 that records every request, for binding event handlers in tests."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self._lock = threading.Lock()
        self.server, self.thread = serve(self._wsgi)
        self.base_url = f"http://{HOST}:{self.server.server_address[1]}"

    def url(self, path: str = "/events") -> str:
        """Return a handler URL on this receiver (127.0.0.1 has dots, so event.bind accepts it)."""
        return self.base_url + path

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else ""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        with self._lock:
            self.requests.append(
                Received(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), headers, body)
            )
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        """Wait until at least n requests arrived."""
        wait_until(lambda: len(self.requests) >= n, timeout, f"{n} requests at the event receiver")
        return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
        self.status = 200

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
