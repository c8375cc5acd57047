"""GET /oauth/start and GET /oauth/callback: first-party pages, never framed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.extensions import db
from app.oauth.blueprint import bp
from app.oauth.flow import BROWSER_COOKIE, STATE_LIFETIME, FlowError, finish, start

log = logging.getLogger(__name__)


@bp.get("/oauth/start")
def begin() -> ResponseReturnValue:
    """Send the administrator to their portal's consent page with a fresh state bound to this browser."""
    try:
        started = start(request.args.get("domain", ""), now=datetime.now(UTC))
    except FlowError as error:
        return refused(error)
    db.session.commit()
    response = redirect(started.authorize_url, 302)
    response.set_cookie(
        BROWSER_COOKIE,
        started.browser_nonce,
        max_age=int(STATE_LIFETIME.total_seconds()),
        path=url_for("oauth.callback"),
        secure=request.is_secure or bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",  # sent on the portal's top-level redirect back to us, not on cross-site posts
    )
    return response


@bp.get("/oauth/callback")
def callback() -> ResponseReturnValue:
    """Check the state, trade the code, store the pair, then show the main page outside the frame."""
    try:
        signed_in = finish(request.args, request.cookies.get(BROWSER_COOKIE, ""), now=datetime.now(UTC))
    except FlowError as error:
        db.session.rollback()
        log.info("oauth callback refused: %s", error.message)
        return refused(error)
    db.session.commit()
    session.clear()
    session["member_id"], session["user_id"] = signed_in.member_id, signed_in.user_id
    response = redirect(url_for("main.index"), 303)
    response.delete_cookie(BROWSER_COOKIE, path=url_for("oauth.callback"))
    return response


def refused(error: FlowError) -> ResponseReturnValue:
    """A page that says what went wrong and what to do."""
    headers = {"Retry-After": str(int(STATE_LIFETIME.total_seconds()))} if error.status == 429 else {}
    return render_template("oauth/refused.html", message=error.message), error.status, headers
