"""The Content-Security-Policy of each response: scripts from us and BX24 only, framed by the portal."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g
from werkzeug.wrappers import Response as BaseResponse

from app.bitrix24.hosts import split_netloc

HEADER = "Content-Security-Policy"
# A page's address carries the frame's query (DOMAIN, APP_SID, ...); the pickers' photos load from any https
# host, and links open the portal: none of them learns where the request came from.
REFERRER_POLICY = "same-origin"
# Everything from the app itself; no plugins; no <base> that could re-point relative URLs; forms post back.
FIXED = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"


def register(app: Flask) -> None:
    """Send the policy with every response."""
    app.after_request(set_policy)


def set_policy(response: Response) -> Response:
    """Let only the portal the request proved it came from (g.frame_origin) frame the page; else nobody.

    With it, the Referrer-Policy: no request to another site carries the page's address.
    """
    send(response, policy(frame_origin=g.get("frame_origin"), js_url=current_app.config["B24_JS_URL"]))
    return response


def send(response: BaseResponse, content_policy: str) -> None:
    """Put the policy and the Referrer-Policy on a response."""
    for name, value in pairs(content_policy):
        response.headers[name] = value


def pairs(content_policy: str) -> list[tuple[str, str]]:
    """The policy's headers as WSGI pairs (the lean /events path sends them without a Response)."""
    return [(HEADER, content_policy), ("Referrer-Policy", REFERRER_POLICY)]


def policy(*, frame_origin: str | None, js_url: str) -> str:
    """The whole policy: scripts from 'self' and the BX24 library's origin only, so no inline script runs."""
    scripts = " ".join(["'self'", *filter(None, [script_source(js_url)])])
    return f"{FIXED}; script-src {scripts}; {images(frame_origin)}; {frame_ancestors(frame_origin)}"


def images(origin: str | None) -> str:
    """Pictures from us, https (the portal's user photos may sit on its CDN) and the portal itself.

    Only <img> loads from these: a picture runs no script, and the page puts only the portal's photo URLs
    (app.timeline.pickers.avatar_url) into one.
    """
    checked = source(origin) if origin else None
    return " ".join(["img-src 'self' https:", *filter(None, [checked])])


def frame_ancestors(origin: str | None) -> str:
    """Only the portal itself may frame our page ('none' when the request proved no portal)."""
    checked = source(origin) if origin else None
    return f"frame-ancestors {checked}" if checked else "frame-ancestors 'none'"


@lru_cache(maxsize=64)
def script_source(js_url: str) -> str | None:
    """The BX24 library's origin as a source expression; `//host/…` keeps the page's own scheme."""
    if js_url.startswith("//"):
        parts = urlsplit(js_url)
        return parts.netloc.lower() if split_netloc(parts.netloc) else None
    return source(js_url)


@lru_cache(maxsize=256)
def source(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL whose host follows the host grammar, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or split_netloc(parts.netloc, scheme=parts.scheme) is None:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"
