"""The outbound allow-list."""

from __future__ import annotations

import pytest

from app.bitrix24.hosts import url_allowed
from app.config import DEFAULT_ALLOWED_HOSTS, parse_host_patterns

DEFAULTS = parse_host_patterns(DEFAULT_ALLOWED_HOSTS)
LOCAL = ("127.0.0.1:*", "portal.example.com", "api.example.com:8443")


@pytest.mark.parametrize(
    ("url", "patterns", "allowed"),
    [
        ("https://acme.bitrix24.com/rest/", DEFAULTS, True),
        ("https://oauth.bitrix.info/oauth/token/", DEFAULTS, True),
        ("https://bitrix24.com/rest/", DEFAULTS, False),
        ("https://acme.bitrix24.com.evil.net/rest/", DEFAULTS, False),
        ("https://evilbitrix24.com/rest/", DEFAULTS, False),
        ("https://acme.bitrix24.com:8443/rest/", DEFAULTS, False),
        ("https://user:pw@acme.bitrix24.com/rest/", DEFAULTS, False),
        ("ftp://acme.bitrix24.com/", DEFAULTS, False),
        ("http://127.0.0.1:5001/rest/", DEFAULTS, False),
        ("http://127.0.0.1:5001/rest/", LOCAL, True),
        ("http://127.0.0.2:5001/rest/", LOCAL, False),
        ("https://portal.example.com/rest/", LOCAL, True),
        ("https://portal.example.com:444/rest/", LOCAL, False),
        ("https://api.example.com:8443/x", LOCAL, True),
        ("https://api.example.com/x", LOCAL, False),
        ("https://PORTAL.example.com/rest/", LOCAL, True),
        ("https://portal.example.com:99999/", LOCAL, False),
        ("not a url", LOCAL, False),
    ],
)
def test_url_allowed(url: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert url_allowed(url, patterns) is allowed
