"""The outbound allow-list: which hosts the app may ever call (B24_ALLOWED_HOSTS)."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def host_allowed(netloc: str, patterns: tuple[str, ...], *, scheme: str = "https") -> bool:
    """Tell whether `host[:port]` matches a pattern.

    Patterns: `portal.example.com` (that host on the scheme's standard port), `host:8443` (that port),
    `host:*` (any port), `*.bitrix24.com` (any subdomain; the apex itself is not a portal).
    """
    host, port = _split_netloc(netloc, scheme)
    if not host:
        return False
    return any(_matches(host, port, pattern, scheme) for pattern in patterns)


def url_allowed(url: str, patterns: tuple[str, ...]) -> bool:
    """Tell whether an absolute http(s) URL points at an allowed host."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or parts.username or parts.password:
        return False
    return host_allowed(parts.netloc, patterns, scheme=parts.scheme)


def _split_netloc(netloc: str, scheme: str) -> tuple[str, int | None]:
    """Split `host[:port]` into a lower-case host and a port (None when malformed)."""
    host, _, port = netloc.strip().lower().rpartition(":") if ":" in netloc else (netloc.lower(), "", "")
    if not port:
        return host, DEFAULT_PORTS.get(scheme)
    return (host, int(port)) if port.isdigit() and int(port) < 65536 else ("", None)


def _matches(host: str, port: int | None, pattern: str, scheme: str) -> bool:
    """Match one host against one pattern."""
    pattern_host, _, pattern_port = pattern.rpartition(":") if ":" in pattern else (pattern, "", "")
    if pattern_port not in ("", "*") and str(port) != pattern_port:
        return False
    if pattern_port == "" and port != DEFAULT_PORTS.get(scheme):
        return False
    if pattern_host.startswith("*."):
        return host.endswith(pattern_host[1:]) and len(host) > len(pattern_host) - 1
    return host == pattern_host
