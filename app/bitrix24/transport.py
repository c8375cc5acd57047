"""One HTTP exchange with a portal or the OAuth server: allow-list, timeout, envelope parsing, redaction."""

from __future__ import annotations

import http.cookiejar
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters

from app.bitrix24.errors import (
    Bitrix24Error,
    HostNotAllowed,
    ServerError,
    TransportError,
    UnexpectedAnswer,
    error_from_answer,
)
from app.bitrix24.hosts import netloc_of, url_allowed, vouchable_url
from app.bitrix24.pinning import AddressRefused, Guard, Resolver, pinned_session, system_resolver

log = logging.getLogger(__name__)
USER_AGENT = "timeline-bridge/1.0 (+python-requests)"

_session: requests.Session | None = None
_session_lock = threading.Lock()


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Portals are called with tokens only; a cookie from one must never ride along to another."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def pooled_session() -> requests.Session:
    """The process's one pooled requests.Session (connections kept alive per host, shared by threads)."""
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            _configure(session)
            adapter = requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=32)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _session = session
        return _session


def _configure(session: requests.Session) -> None:
    """What every session sends, and the cookies none keeps."""
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    session.cookies.set_policy(_NoCookies())


@dataclass
class Answer:
    """A success envelope: result plus the hoisted next/total and the time block (notes §5.2)."""

    result: Any
    next: int | None = None
    total: int | None = None
    time: dict[str, Any] = field(default_factory=dict)


class PortalMoved(Bitrix24Error):
    """HTTP 302 to another host: the portal was renamed (notes §4.7); `location` is the new URL."""

    def __init__(self, location: str, *, method: str = "") -> None:
        super().__init__("PORTAL_MOVED", "the portal answered from a new address", 302, method=method)
        self.location = location


@dataclass(frozen=True)
class Transport:
    """Sends POSTs to allowed or vouched hosts only and turns answers into Answer or typed errors.

    A host in `allowed_hosts` (B24_ALLOWED_HOSTS: the operator's list, the cloud zones by default) is
    called as it resolves. A host in `vouched` (what the OAuth server named as this installation's
    address) is called over https by name, at an address the public-address rule passed
    (app.bitrix24.pinning).
    """

    allowed_hosts: tuple[str, ...]
    timeout: float = 30.0
    connect_timeout: float = 5.0
    vouched: frozenset[tuple[str, int]] = frozenset()
    resolver: Resolver = system_resolver

    def vouching(self, url: str) -> Transport:
        """This transport, also calling the host of `url` (an address the OAuth server vouched for)."""
        netloc = netloc_of(url)
        return replace(self, vouched=self.vouched | {netloc}) if netloc is not None else self

    def post(self, url: str, body: dict[str, Any], *, method: str = "") -> Answer:
        """POST a JSON body and parse the Bitrix24 envelope."""
        response = self._send("POST", url, method=method, json=body)
        return self._parse(response, method)

    def post_form(self, url: str, form: dict[str, str], *, method: str = "") -> dict[str, Any]:
        """POST a form (the OAuth server's token endpoint) and return the JSON object.

        The docs show GET with the secrets in the query; the form keeps them out of every URL and access log.
        """
        response = self._send("POST", url, method=method, data=form)
        data = self._json(response, method)
        if response.status_code >= 400 or "error" in data:
            raise error_from_answer(
                str(data.get("error", "")),
                str(data.get("error_description", "")),
                response.status_code,
                method=method,
            )
        return data

    def check(self, url: str) -> bool:
        """Refuse a URL neither allowed nor vouched for before a byte is sent; True if it is to be pinned."""
        if url_allowed(url, self.allowed_hosts):
            return False
        if vouchable_url(url) and netloc_of(url) in self.vouched:
            return True
        host = urlsplit(url).netloc[:80] or url[:60]  # quoted: a refused host may hold a newline
        raise HostNotAllowed(
            "HOST_NOT_ALLOWED",
            f"{host!r} is neither in B24_ALLOWED_HOSTS nor vouched for by the OAuth server",
        )

    def allows(self, url: str) -> bool:
        """Tell whether `url` may be called as things stand (allowed or vouched), sending nothing."""
        try:
            self.check(url)
        except HostNotAllowed:
            return False
        return True

    def _session(self, url: str) -> requests.Session:
        if self.check(url):
            return pinned_session(Guard(self.resolver, self.allowed_hosts), _configure)
        return pooled_session()

    def _send(self, verb: str, url: str, *, method: str, **kwargs: Any) -> requests.Response:
        session = self._session(url)
        try:
            return session.request(
                verb, url, timeout=(self.connect_timeout, self.timeout), allow_redirects=False, **kwargs
            )
        except AddressRefused as refused:
            raise HostNotAllowed("ADDRESS_NOT_PUBLIC", str(refused), method=method) from None
        except requests.ConnectTimeout as error:
            raise ConnectNotSent("CONNECTION_ERROR", type(error).__name__, method=method) from None
        except requests.RequestException as error:
            # The exception text may carry the URL, and so a token: keep only its type.
            raise TransportError("CONNECTION_ERROR", type(error).__name__, method=method) from None

    def _parse(self, response: requests.Response, method: str) -> Answer:
        if response.status_code in (301, 302, 307, 308) and response.headers.get("Location"):
            raise PortalMoved(urljoin(response.url, response.headers["Location"]), method=method)
        data = self._json(response, method)
        if "error" in data and "result" not in data:
            raise error_from_answer(
                str(data["error"]),
                str(data.get("error_description", "")),
                response.status_code,
                method=method,
                body=data,
            )
        if response.status_code >= 400 or "result" not in data:
            raise UnexpectedAnswer(
                "ERROR_UNEXPECTED_ANSWER", f"HTTP {response.status_code}", response.status_code, method=method
            )
        return Answer(data["result"], _int(data.get("next")), _int(data.get("total")), data.get("time") or {})

    @staticmethod
    def _json(response: requests.Response, method: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            kind = UnexpectedAnswer if response.status_code < 500 else ServerErrorAnswer
            raise kind(
                "ERROR_UNEXPECTED_ANSWER",
                f"HTTP {response.status_code}, not a JSON object",
                response.status_code,
                method=method,
            )
        return data


class ConnectNotSent(TransportError):
    """The connection was never made, so the request was certainly not executed: safe to retry."""


class ServerErrorAnswer(ServerError):
    """A 5xx with no JSON envelope (a proxy's error page)."""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
