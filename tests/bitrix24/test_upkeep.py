"""Keeping tokens alive, following a renamed portal, and keeping tokens out of every log line."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.extensions import db
from app.models import Portal, PortalState
from app.portals.connections import client_for
from app.portals.store import read_tokens
from sandbox.limits import add_fault
from tests.conftest import install_portal


def age(portal: Portal, days: int) -> None:
    portal.tokens_stored_at = datetime.now(UTC) - timedelta(days=days)
    db.session.commit()


def test_refresh_stale_refreshes_idle_portals_only(connected_app, sandbox, runner_for) -> None:
    stale = install_portal(sandbox)
    fresh = install_portal(sandbox, portal=sandbox.portals[1])
    age(stale, 25)
    before = read_tokens(stale)
    result = runner_for(connected_app).invoke(args=["tokens", "refresh-stale", "--days", "20"])
    assert result.exit_code == 0, result.output
    assert f"{stale.member_id}: refreshed" in result.output and fresh.member_id not in result.output
    db.session.expire_all()
    assert read_tokens(stale).version == before.version + 1
    assert read_tokens(stale).refresh_token != before.refresh_token
    assert read_tokens(fresh).version == 1


def test_refresh_stale_reports_a_refused_portal_and_fails(connected_app, sandbox, runner_for) -> None:
    portal = install_portal(sandbox)
    age(portal, 30)
    add_fault(sandbox.state, "status", status=400, method="oauth.token", error="invalid_grant")
    result = runner_for(connected_app).invoke(args=["tokens", "refresh-stale"])
    assert result.exit_code == 1
    assert (
        f"{portal.member_id}: failed" in result.output and "0 of 1 stale portals refreshed" in result.output
    )
    db.session.expire_all()
    assert portal.state is PortalState.NEEDS_REINSTALL


def test_a_renamed_portal_is_followed_and_its_address_stored(portal: Portal, sandbox) -> None:
    sandbox.configure(limits_enabled=False)
    target = sandbox.portal_url

    class OldAddress(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    old = ThreadingHTTPServer(("127.0.0.1", 0), OldAddress)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    try:
        portal.client_endpoint = f"http://127.0.0.1:{old.server_address[1]}/rest/"
        portal.domain = f"127.0.0.1:{old.server_address[1]}"
        db.session.commit()
        assert str(client_for(portal).call("user.current")["ID"]) == "1"
    finally:
        old.shutdown()
        old.server_close()
    db.session.expire_all()
    assert portal.client_endpoint == f"{target}/rest/"
    assert portal.domain == target.split("://")[1]
    assert portal.member_id == sandbox.portal.member_id


def test_no_token_text_reaches_any_log_line(portal: Portal, sandbox, capfd, caplog) -> None:
    sandbox.configure(limits_enabled=False)
    caplog.set_level(logging.DEBUG)
    tokens = read_tokens(portal)
    sandbox.state.tokens[
        tokens.access_token
    ].expires_at = 0  # forces a refresh: both old and new tokens travel
    client = client_for(portal)
    client.call("user.current")
    add_fault(sandbox.state, "drop", count=5, method="crm.activity.delete")
    with pytest.raises(Exception):  # noqa: B017  (any failure: only its log lines matter here)
        client.call("crm.activity.delete", {"id": 1})
    logging.getLogger("tests").error(
        "after the calls, tokens were %s and %s", tokens.access_token, tokens.refresh_token
    )
    new = read_tokens(db.session.get(Portal, portal.id))
    written = capfd.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (tokens.access_token, tokens.refresh_token, new.access_token, new.refresh_token):
        assert secret not in written
    assert "after the calls, tokens were [redacted] and [redacted]" in written
