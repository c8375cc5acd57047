"""Flask's signed-cookie session, opened only when the request carries the cookie."""

from __future__ import annotations

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieOnlySessions(SecureCookieSessionInterface):
    """Skip building the signer for requests without a session cookie: events and frame POSTs never have one.

    Flask derives the cookie signer on every request; on POST /events that was ~7 % of the request's CPU.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when APP_BASE_URL is https or the request is (TLS ended at a trusted proxy: web.proxies)."""
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))
