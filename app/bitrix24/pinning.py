"""Resolve once, check every answer, connect to the checked address: for portals the OAuth server vouched for.

The host name stays the request's (Host header, TLS SNI and certificate check), only the socket is opened to
the address that was checked, so a DNS answer that changes between the check and the connect (rebinding)
never reaches a private address. Each new connection resolves and checks again; a kept-alive one stays on
the address it was checked for.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection

from app.bitrix24.addresses import is_public, parse
from app.bitrix24.hosts import host_allowed

# (host, port) -> the addresses it resolves to, as strings. Tests inject their own (B24_RESOLVER).
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The C library's answer (getaddrinfo), each address once, in its order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


class AddressRefused(Exception):
    """A vouched name resolved to an address this app may not connect to; nothing was sent."""


@dataclass(frozen=True)
class Guard:
    """Which addresses a vouched name may lead to: public ones, or those the operator listed literally."""

    resolver: Resolver
    allowed_hosts: tuple[str, ...]  # B24_ALLOWED_HOSTS: a literal `127.0.0.1:8443` permits that address

    def address(self, host: str, port: int) -> str:
        """Resolve `host` once and return the address to connect to; AddressRefused unless all pass."""
        try:
            answers = self.resolver(host, port)
        except OSError:
            raise AddressRefused(f"{host} does not resolve") from None
        if not answers:
            raise AddressRefused(f"{host} does not resolve")
        refused = [a for a in answers if not self.acceptable(a, port)]
        if refused:
            # One bad answer refuses the name: which one a client picks is not ours to choose.
            raise AddressRefused(f"{host} resolves to an address that is not public")
        return answers[0]

    def acceptable(self, text: str, port: int) -> bool:
        """A public address, or one the operator listed as `address:port` (tests and the demo: 127.0.0.1)."""
        address = parse(text)
        if address is None:
            return False
        return is_public(text) or (
            address.version == 4 and host_allowed(f"{address}:{port}", self.allowed_hosts)
        )


def _pinned_socket(conn: HTTPConnection, guard: Guard) -> socket.socket:
    """Open the socket to the address the guard checked (urllib3's _new_conn, with the address swapped)."""
    address = guard.address(conn.host, conn.port or 0)
    try:
        return connection.create_connection(
            (address, conn.port or 0),
            conn.timeout,
            source_address=conn.source_address,
            socket_options=conn.socket_options,
        )
    except TimeoutError as error:
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from error
    except OSError as error:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


def _connection_classes(guard: Guard) -> tuple[type[HTTPConnection], type[HTTPSConnection]]:
    """urllib3 connection classes bound to one guard."""

    class PinnedHTTP(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _pinned_socket(self, guard)

    class PinnedHTTPS(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _pinned_socket(self, guard)

    return PinnedHTTP, PinnedHTTPS


class PinnedAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter whose every new connection goes through one Guard; never through a proxy."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http, https = _connection_classes(self.guard)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        # A proxy from the environment would connect for us, to an address no guard checked.
        kwargs["proxies"] = {}
        return super().send(request, *args, **kwargs)


_sessions: dict[Guard, requests.Session] = {}
_lock = threading.Lock()


def pinned_session(guard: Guard, configure: Callable[[requests.Session], None]) -> requests.Session:
    """The process's pooled session for one guard (configured like the plain one by `configure`)."""
    with _lock:
        session = _sessions.get(guard)
        if session is None:
            session = requests.Session()
            configure(session)
            adapter = PinnedAdapter(guard, pool_connections=32, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _sessions[guard] = session
        return session
