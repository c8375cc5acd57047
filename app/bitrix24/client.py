"""The Bitrix24 REST client: call, batch, iterate; refresh on expiry, shared rate limit, bounded retries."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from app.bitrix24.errors import (
    Bitrix24Error,
    ExpiredToken,
    HostNotAllowed,
    InvalidParameter,
    InvalidToken,
    QueryLimitExceeded,
    error_from_answer,
)
from app.bitrix24.hosts import netloc_of
from app.bitrix24.oauth import OAuthClient
from app.bitrix24.phpquery import build_query
from app.bitrix24.prepared import Request
from app.bitrix24.retry import RetryPolicy, is_idempotent
from app.bitrix24.transport import Answer, PortalMoved, Transport

T = TypeVar("T")
BATCH_LIMIT = 50  # notes §5.5
PAGE_SIZE = 50  # notes §5.4: list pages are fixed at 50
METHOD_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.]*$")
RESULT_REFERENCE = re.compile(r"\$(?:result|next|total|time|error)\[([^\]]+)\]")
NOT_BATCHABLE = frozenset({"batch", "download", "upload"})


@dataclass(frozen=True)
class Credentials:
    access_token: str
    client_endpoint: str  # https://portal/rest/
    version: int  # token_version: which pair this is, for single-flight refresh


class CredentialStore(Protocol):
    """Where a client gets its token, and who refreshes it."""

    def current(self) -> Credentials: ...

    def renew(self, failed: Credentials, *, expired: bool) -> Credentials:
        """Return newer credentials than `failed` (refreshing once, if `expired`), else `failed` itself."""
        ...

    def moved(self, client_endpoint: str) -> Credentials:
        """Record the portal's new address after a 302 (member_id never changes)."""
        ...


@dataclass
class FixedCredentials:
    """A user's own token from a frame POST: used as it is, never refreshed (the user reopens the app)."""

    credentials: Credentials

    def current(self) -> Credentials:
        return self.credentials

    def renew(self, failed: Credentials, *, expired: bool) -> Credentials:
        return failed

    def moved(self, client_endpoint: str) -> Credentials:
        self.credentials = Credentials(
            self.credentials.access_token, client_endpoint, self.credentials.version
        )
        return self.credentials


class RateLimiter(Protocol):
    """A request-rate bucket shared by every process calling one portal."""

    def acquire(self) -> None:
        """Block until one request may be sent."""
        ...

    def overflowed(self) -> None:
        """Note that the portal answered QUERY_LIMIT_EXCEEDED anyway."""
        ...


class CallObserver(Protocol):
    def __call__(self, method: str, outcome: str) -> None: ...


@dataclass
class BatchResult:
    """Per-command results and typed errors of one or more batch requests, by command key."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Bitrix24Error] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    nexts: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    portal_time: str = ""  # the last answer's time.date_start: the portal's clock, with its UTC offset


Command = tuple[str, Mapping[str, Any]]


class Client:
    """Calls one portal's REST API with its stored credentials."""

    def __init__(
        self,
        credentials: CredentialStore,
        transport: Transport,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        observe: CallObserver | None = None,
        oauth: OAuthClient | None = None,
    ) -> None:
        self.credentials = credentials
        self.transport = transport
        self.oauth = oauth  # the trusted OAuth server, asked to confirm a move to a host it did not vouch for
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.observe = observe
        # Sent beside `auth` on every request: the portal keeps this app's own changes made under it out of
        # its offline queue of that key, and reads that queue (offline-events.md "How to avoid cycles").
        self.auth_connector = ""

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a method and return its `result`."""
        return self.answer(method, params).result

    def answer(self, method: str, params: Mapping[str, Any] | None = None) -> Answer:
        """Call a method and return the whole envelope (result, next, total, time)."""
        check_method(method)
        return self._send(method, dict(params or {}), idempotent=is_idempotent(method))

    def run(self, request: Request[T]) -> T:
        """Send a prepared request and parse its result."""
        return request.parse(self.call(request.method, request.params))

    def run_batch(self, requests: Mapping[str, Request[Any]], *, halt: bool = False) -> dict[str, Any]:
        """Send prepared requests in one round trip; each key maps to its parsed result or its typed error."""
        outcome = self.batch({key: (r.method, r.params) for key, r in requests.items()}, halt=halt)
        results: dict[str, Any] = dict(outcome.errors)
        for key, request in requests.items():
            if key in outcome.results and key not in results:
                results[key] = request.parse(outcome.results[key])
        return results

    def batch(
        self, commands: Mapping[str, Command] | Sequence[Command], *, halt: bool = False
    ) -> BatchResult:
        """Run commands in batch requests of at most 50; references `$result[key]` stay within a request."""
        keyed = _keyed(commands)
        chunks = [keyed[i : i + BATCH_LIMIT] for i in range(0, len(keyed), BATCH_LIMIT)]
        for chunk in chunks:
            _check_references(chunk)
        outcome = BatchResult()
        for chunk in chunks:
            body = {
                "halt": 1 if halt else 0,
                "cmd": {key: f"{name}?{build_query(p)}" for key, (name, p) in chunk},
            }
            idempotent = all(is_idempotent(name) for _, (name, _) in chunk)
            _merge(outcome, self._send("batch", body, idempotent=idempotent), chunk)
            if halt and outcome.errors:
                break
        return outcome

    def iterate(self, method: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Yield every item of a list method: keyset pages by ID where the order allows, else start/next."""
        params = dict(params or {})
        if _keyset_possible(params):
            yield from self._iterate_by_id(method, params)
        else:
            yield from self._iterate_by_offset(method, params)

    def _iterate_by_id(self, method: str, params: dict[str, Any]) -> Iterator[Any]:
        """First page counts (total), the rest go `start=-1` with `>ID` (notes §5.4), stopping at total."""
        params["order"] = {"ID": "ASC"}
        page = self.answer(method, {**params, "start": 0})
        total, seen, items = page.total, 0, _items(page.result)
        while True:
            yield from items
            seen += len(items)
            if len(items) < PAGE_SIZE or (total is not None and seen >= total):
                return
            last_id = _item_id(items[-1])
            keyset = {**dict(params.get("filter") or {}), ">ID": last_id}
            items = _items(self.call(method, {**params, "filter": keyset, "start": -1}))

    def _iterate_by_offset(self, method: str, params: dict[str, Any]) -> Iterator[Any]:
        start: int | None = 0
        while start is not None:
            page = self.answer(method, {**params, "start": start})
            yield from _items(page.result)
            start = page.next

    def _send(self, method: str, params: dict[str, Any], *, idempotent: bool) -> Answer:
        """One logical call: refresh once on expiry, follow one domain move, retry what the policy allows."""
        refreshed = moved = False
        attempt = 0
        while True:
            credentials = self.credentials.current()
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                answer = self.transport.post(
                    credentials.client_endpoint + method,
                    {**params, "auth": credentials.access_token, **self._connector()},
                    method=method,
                )
            except (ExpiredToken, InvalidToken) as error:
                # An invalid token may only mean another process refreshed the pair (single-use refresh).
                self._observe(method, error.code)
                if refreshed:
                    raise
                renewed = self.credentials.renew(credentials, expired=isinstance(error, ExpiredToken))
                if renewed.version == credentials.version:
                    raise
                refreshed = True
            except PortalMoved as move:
                if moved:
                    raise
                self.credentials.moved(self._confirmed_move(move, credentials))
                moved = True
            except Bitrix24Error as error:
                self._observe(method, error.code or type(error).__name__)
                if isinstance(error, QueryLimitExceeded) and self.limiter is not None:
                    self.limiter.overflowed()
                delay = self.retry.delay(error, attempt, idempotent=idempotent)
                if delay is None:
                    raise
                self.retry.sleep(delay)
                attempt += 1
            else:
                self._observe(method, "ok")
                return answer

    def _confirmed_move(self, move: PortalMoved, credentials: Credentials) -> str:
        """The new REST root after a 302, if allowed, or confirmed by app.info on the OAuth server.

        A redirect is a domain move (notes §4.7), never followed blindly: a host outside the operator's list
        is called only once the OAuth server names it as this token's installation address (PHPSDK
        Core::call reads the new domain from Location; we ask the server that vouched for the old one).
        """
        endpoint = _rest_endpoint(move.location)
        if self.transport.allows(endpoint):
            return endpoint
        if self.oauth is not None:
            info = self.oauth.app_info(credentials.access_token)
            if info.client_id == self.oauth.client_id and _same_root(info.client_endpoint, endpoint):
                self.transport = self.transport.vouching(endpoint)
                if self.transport.allows(endpoint):
                    return endpoint
        raise HostNotAllowed(
            "PORTAL_MOVE_REFUSED",
            "the portal redirected to an address the OAuth server does not confirm as its own",
            302,
            method=move.method,
        )

    def _connector(self) -> dict[str, str]:
        return {"auth_connector": self.auth_connector} if self.auth_connector else {}

    def _observe(self, method: str, outcome: str) -> None:
        if self.observe is not None:
            self.observe(method, outcome)


def check_method(method: str) -> None:
    """Refuse a malformed method name before sending anything."""
    if not isinstance(method, str) or not METHOD_NAME.match(method):
        raise InvalidParameter("method", f"{method!r} is not a Bitrix24 method name")


def _keyed(commands: Mapping[str, Command] | Sequence[Command]) -> list[tuple[str, Command]]:
    """Give every command a key and check its shape."""
    items = list(commands.items()) if isinstance(commands, Mapping) else list(enumerate(commands))
    if not items:
        raise InvalidParameter("commands", "a batch needs at least one command", method="batch")
    keyed = []
    for key, command in items:
        if not (isinstance(command, tuple | list) and len(command) == 2 and isinstance(command[1], Mapping)):
            raise InvalidParameter(f"commands[{key}]", "each command is (method, params)", method="batch")
        check_method(command[0])
        if command[0].lower() in NOT_BATCHABLE:
            raise InvalidParameter(
                f"commands[{key}]", f"{command[0]} cannot run inside a batch", method="batch"
            )
        keyed.append((str(key), (command[0], command[1])))
    return keyed


def _check_references(chunk: list[tuple[str, Command]]) -> None:
    """A `$result[key]` reference must name an earlier command of the same batch request."""
    earlier: set[str] = set()
    for key, (_, params) in chunk:
        for reference in (ref for text in _strings(params) for ref in RESULT_REFERENCE.findall(text)):
            if reference not in earlier:
                raise InvalidParameter(
                    f"commands[{key}]",
                    f"refers to $result[{reference}], not an earlier command in the same batch of 50",
                    method="batch",
                )
        earlier.add(key)


def _strings(value: Any) -> Iterator[str]:
    """Every string inside nested params."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _merge(outcome: BatchResult, answer: Answer, chunk: list[tuple[str, Command]]) -> None:
    """Fold one batch answer into the running result, typing each command's error."""
    outcome.requests += 1
    outcome.portal_time = str(answer.time.get("date_start") or outcome.portal_time)
    body = answer.result if isinstance(answer.result, dict) else {}
    names = dict((key, name) for key, (name, _) in chunk)
    outcome.results.update(_by_key(body.get("result")))
    outcome.totals.update({k: int(v) for k, v in _by_key(body.get("result_total")).items()})
    outcome.nexts.update({k: int(v) for k, v in _by_key(body.get("result_next")).items()})
    for key, error in _by_key(body.get("result_error")).items():
        error = error if isinstance(error, dict) else {}
        outcome.errors[key] = error_from_answer(
            str(error.get("error", "")),
            str(error.get("error_description", "")),
            None,
            method=names.get(key, ""),
        )


def _by_key(section: Any) -> dict[str, Any]:
    """PHP serialises a map with keys 0..n as a list and an empty one as []: give both string keys."""
    if isinstance(section, dict):
        return {str(k): v for k, v in section.items()}
    if isinstance(section, list):
        return {str(i): v for i, v in enumerate(section)}
    return {}


def _keyset_possible(params: Mapping[str, Any]) -> bool:
    """Keyset pagination needs ascending ID order and no caller-chosen start."""
    order = params.get("order") or {"ID": "ASC"}
    return "start" not in params and {k.upper(): str(v).upper() for k, v in dict(order).items()} == {
        "ID": "ASC"
    }


def _items(result: Any) -> list[Any]:
    if isinstance(result, list):
        return result
    if isinstance(result, dict):
        for key in ("items", "activities", "bindings", "types", "badges"):
            if isinstance(result.get(key), list):
                return list(result[key])
    return []


def _item_id(item: Any) -> int:
    value: Any = item.get("ID", item.get("id")) if isinstance(item, dict) else None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Bitrix24Error("ERROR_UNEXPECTED_ANSWER", "a list item without an ID") from None


def _rest_endpoint(location: str) -> str:
    """The new portal's REST root from a redirect target (checked by the caller before any use)."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}/rest/"


def _same_root(vouched: str, endpoint: str) -> bool:
    """Tell whether the vouched REST address has the redirect's scheme, host and port."""
    return urlsplit(vouched).scheme == urlsplit(endpoint).scheme and netloc_of(vouched) == netloc_of(endpoint)
