"""Where a redirect action's `uri` leads: a portal path resolved against the portal, never off-site by trick.

The portal opens a relative uri relative to its own page, so "@evil.com" or "1" stay on the portal; only a
scheme-relative one ("//evil.com", and "\\\\evil.com" or "/\\evil.com", which browsers read the same way,
tabs and newlines dropped) leaves it. Pasting the portal's origin in front of the uri, as the page once
did, made "@evil.com" the userinfo of https://portal@evil.com and ".evil.com" a host suffix.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_IGNORED = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL (WHATWG: "remove tab or newline")
_EDGES = "".join(chr(c) for c in range(0x21))  # leading and trailing C0 controls and spaces are stripped too


def as_browser_reads(uri: str) -> str:
    """The uri as a browser parses it for an http(s) page: edges stripped, tabs gone, \\ read as /."""
    return _IGNORED.sub("", uri).strip(_EDGES).replace("\\", "/")


def leaves_the_page_host(uri: str) -> bool:
    """Tell whether a uri without a scheme names another host (scheme-relative, however disguised)."""
    return as_browser_reads(uri).startswith("//")


def link_href(uri: object, portal_origin: str | None) -> str | None:
    """The href for a redirect uri: an http(s) URL as it is, a portal path on the portal; else None."""
    if not isinstance(uri, str) or not uri.strip():
        return None
    read = as_browser_reads(uri)
    scheme = urlsplit(read).scheme.lower()
    if scheme in ("http", "https"):
        return read if urlsplit(read).netloc else None  # "https:evil.com" is no URL a person meant
    if scheme or leaves_the_page_host(uri) or not portal_origin:
        return None
    href = urljoin(portal_origin.rstrip("/") + "/", read)
    return href if urlsplit(href).netloc == urlsplit(portal_origin).netloc else None
