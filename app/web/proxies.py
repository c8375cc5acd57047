"""Trusted reverse proxies: behind a TLS-terminating proxy, requests are https and cookies Secure."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto from exactly TRUSTED_PROXY_COUNT proxies in front (0: from none).

    Off by default: a header any client can send must never make a plain-http request look secure, or
    choose the client address the throttles count.
    """
    count = int(app.config.get("TRUSTED_PROXY_COUNT", 0))
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
