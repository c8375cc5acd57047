"""The outbound allow-list (B24_ALLOWED_HOSTS), the one host grammar every host must pass, vouchable names."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
# Lower-case letters, digits, dots and hyphens (labels never start or end with a hyphen), an optional
# numeric port: no userinfo, backslash, whitespace, percent-encoding or brackets can hide another host.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
NETLOC = re.compile(rf"^(?P<host>{LABEL}(?:\.{LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?$")
PATTERN = re.compile(rf"^(?:\*\.)?{LABEL}(?:\.{LABEL})*(?::(?:[0-9]{{1,5}}|\*))?$")
# A URL the client sends to: printable ASCII without spaces or backslashes anywhere.
URL_CHARACTERS = re.compile(r"^[!-\[\]-~]+$")
MAX_HOST = 253


def split_netloc(netloc: str, *, scheme: str = "https") -> tuple[str, int] | None:
    """`host[:port]` as (host, port) when it follows the grammar (any case), else None."""
    found = NETLOC.fullmatch(netloc.lower()) if isinstance(netloc, str) else None
    if found is None or len(found["host"]) > MAX_HOST or scheme not in DEFAULT_PORTS:
        return None
    port = int(found["port"]) if found["port"] else DEFAULT_PORTS[scheme]
    return (found["host"], port) if 0 < port < 65536 else None


def valid_netloc(netloc: str) -> bool:
    """Tell whether `host[:port]` follows the grammar (a frame's DOMAIN, an answer's `domain`)."""
    return split_netloc(netloc) is not None


def valid_pattern(pattern: str) -> bool:
    """Tell whether an allow-list pattern follows the grammar (`host`, `host:port`, `host:*`, `*.domain`)."""
    return bool(PATTERN.fullmatch(pattern))


def host_allowed(netloc: str, patterns: tuple[str, ...], *, scheme: str = "https") -> bool:
    """Tell whether `host[:port]` follows the grammar and matches a pattern.

    Patterns: `portal.example.com` (that host on the scheme's standard port), `host:8443` (that port),
    `host:*` (any port), `*.bitrix24.com` (any subdomain; the apex itself is not a portal).
    """
    split = split_netloc(netloc, scheme=scheme)
    if split is None:
        return False
    host, port = split
    return any(_matches(host, port, pattern, scheme) for pattern in patterns)


def url_allowed(url: str, patterns: tuple[str, ...]) -> bool:
    """Tell whether an absolute http(s) URL points at an allowed host, as the HTTP client will connect.

    The host is read twice, by the standard library and by urllib3 (what requests connects with): a URL
    whose two readings differ is refused, whatever either one says.
    """
    if not isinstance(url, str) or not URL_CHARACTERS.fullmatch(url):
        return False
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not host_allowed(parts.netloc, patterns, scheme=parts.scheme):
        return False
    return connect_target(url) == split_netloc(parts.netloc, scheme=parts.scheme)


def connect_target(url: str) -> tuple[str, int] | None:
    """(host, port) the HTTP client (urllib3) will connect to for `url`; None if it carries userinfo."""
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return None
    if parsed.auth is not None or not parsed.host or parsed.scheme not in DEFAULT_PORTS:
        return None
    return parsed.host.lower(), parsed.port or DEFAULT_PORTS[parsed.scheme]


def _matches(host: str, port: int, pattern: str, scheme: str) -> bool:
    """Match one host against one pattern."""
    pattern_host, _, pattern_port = pattern.rpartition(":") if ":" in pattern else (pattern, "", "")
    if pattern_port not in ("", "*") and str(port) != pattern_port:
        return False
    if pattern_port == "" and port != DEFAULT_PORTS.get(scheme):
        return False
    if pattern_host.startswith("*."):
        return host.endswith(pattern_host[1:]) and len(host) > len(pattern_host) - 1
    return host == pattern_host


def vouchable_host(host: str) -> bool:
    """Tell whether a host may be vouched for by the OAuth server: a DNS name, never an address.

    A portal the operator did not list is called by name only, so every spelling of an address (127.1,
    0x7f.1, 2130706433, 017700000001, [::1]) is refused here, before anything resolves it: the last label
    must start with a letter, and the C library must not read the whole name as an IPv4 address.
    """
    found = NETLOC.fullmatch(host) if isinstance(host, str) else None
    if found is None or found["port"] or "." not in host or len(host) > MAX_HOST:
        return False
    if not host.rpartition(".")[2][:1].isalpha():
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return True
    return False


def vouchable_url(url: str) -> bool:
    """Tell whether an https URL may name a vouched portal: the grammar, one reading, a DNS name.

    Plain http is for the operator's own list: a portal only the OAuth server vouched for is across the
    internet, and its tokens must not cross it in clear text.
    """
    if not isinstance(url, str) or not URL_CHARACTERS.fullmatch(url):
        return False
    parts = urlsplit(url)
    split = split_netloc(parts.netloc, scheme=parts.scheme) if parts.scheme == "https" else None
    return split is not None and vouchable_host(split[0]) and connect_target(url) == split


def callable_url(url: str, patterns: tuple[str, ...]) -> bool:
    """Tell whether a URL may be stored as a portal's address: allow-listed, or vouchable (OAuth server)."""
    return url_allowed(url, patterns) or vouchable_url(url)


def netloc_of(url: str) -> tuple[str, int] | None:
    """(host, port) of an absolute http(s) URL, by the grammar; None when it has none."""
    parts = urlsplit(url) if isinstance(url, str) else None
    return split_netloc(parts.netloc, scheme=parts.scheme) if parts is not None else None
