"""ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL through the sandbox, and every forged variant of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.activities.templates import portal_templates
from app.api.keys import create_key
from app.extensions import db
from app.inbox.enrichment import add_rule
from app.models import Activity, InboxEvent, InboxTally, Portal, PortalState, RateLimitBucket
from app.portals.connections import oauth_client
from app.portals.store import read_tokens
from app.portals.uninstalls import Verdict, confirm_uninstalls
from sandbox.apps import add_app, find_app, uninstall_app, update_app
from tests.conftest import post_event
from tests.test_install import open_installer, stored

TEXT_BLOCK = {"type": "text", "properties": {"value": "{{SUBJECT}}"}}


def confirm() -> dict[str, Verdict]:
    """What the worker's job does every few minutes: ask the platform about each uninstall request."""
    return confirm_uninstalls(db.session, oauth_client(), current_app.extensions["vault"])


def test_installed_portal_is_active_with_a_version(installed: Portal) -> None:
    assert installed.state is PortalState.ACTIVE
    assert installed.app_version == "1"
    assert installed.license == "en_project" and installed.license_family == "project"


def test_an_update_rebinds_the_handlers_and_records_the_version(installed, live_app, sandbox) -> None:
    update_app(sandbox.state, sandbox.portal, version=2)
    deliveries = sandbox.wait_for_deliveries(2)
    assert deliveries[-1].event == "ONAPPUPDATE" and deliveries[-1].status == 200
    [portal] = stored()
    assert portal.app_version == "2"
    events = {b["event"] for b in find_app(sandbox.state, sandbox.portal).events}
    assert events == set(live_app.app.extensions["manifest"].events)


def test_uninstall_without_clean_erases_tokens_and_keeps_rows(installed, live_app, sandbox) -> None:
    db.session.add(Activity(member_id=installed.member_id, activity_id=5, fields={}))
    db.session.commit()
    uninstall_app(sandbox.state, sandbox.portal, clean=False)
    assert sandbox.wait_for_deliveries(2)[-1].status == 200
    assert stored()[0].state is PortalState.UNINSTALLING
    assert confirm() == {installed.member_id: Verdict.DISOWNED}
    [portal] = stored()
    assert portal.state is PortalState.UNINSTALLED and portal.uninstalled_at is not None
    assert read_tokens(portal) is None and portal.application_token_sha256 is None
    assert db.session.query(Activity).count() == 1


def test_uninstall_with_clean_deletes_every_row(installed, live_app, sandbox) -> None:
    member_id = installed.member_id
    db.session.add(Activity(member_id=member_id, activity_id=5, fields={}))
    db.session.add(InboxTally(member_id=member_id, done=3))  # the main page's count of processed events
    db.session.commit()
    portal_templates(member_id)  # seeds the default templates
    create_key(member_id, "crm sync")
    add_rule({"member_id": member_id, "name": "r", "layout": {"blocks": {"a": TEXT_BLOCK}}})
    db.session.commit()
    assert rows_of(member_id) > 0
    before = rows_of(member_id)
    uninstall_app(sandbox.state, sandbox.portal, clean=True)
    assert sandbox.wait_for_deliveries(2)[-1].status == 200
    assert rows_of(member_id) == before  # nothing destroyed before the platform confirms
    assert confirm() == {member_id: Verdict.DISOWNED}
    assert stored() == [] and rows_of(member_id) == 0
    assert db.session.scalars(db.select(RateLimitBucket.portal_id)).all() == []  # the bucket went with it


def rows_of(member_id: str) -> int:
    """Rows of every table with a member_id column that belong to this portal."""
    db.session.expire_all()
    tables = [t for t in db.metadata.sorted_tables if "member_id" in t.c]
    return sum(
        db.session.scalar(select(func.count()).select_from(t).where(t.c.member_id == member_id)) or 0
        for t in tables
    )


def test_after_uninstall_no_token_remains_in_the_database_file(
    installed, live_app, sandbox, database_url
) -> None:
    tokens = read_tokens(installed)
    app_token = find_app(sandbox.state, sandbox.portal).application_token
    uninstall_app(sandbox.state, sandbox.portal, clean=False)
    sandbox.wait_for_deliveries(2)
    confirm()
    secrets = (tokens.access_token, tokens.refresh_token, app_token)
    rows = " ".join(
        str(row)
        for table in ("portals", "inbox", "activities")
        for row in db.session.execute(select(db.metadata.tables[table]))
    )
    assert not [secret for secret in secrets if secret in rows]
    if database_url.startswith("sqlite"):  # the whole file too: free pages keep deleted bytes
        db.session.remove()
        db.engine.dispose()
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        assert not [secret for secret in secrets if secret.encode() in raw]


def test_a_reinstall_after_uninstall_starts_clean(installed, live_app, sandbox) -> None:
    db.session.add(Activity(member_id=installed.member_id, activity_id=5, fields={}))
    db.session.commit()
    uninstall_app(sandbox.state, sandbox.portal, clean=False)
    sandbox.wait_for_deliveries(2)
    confirm()
    add_app(sandbox.state, sandbox.portal)  # the administrator installs it again from the Marketplace
    assert open_installer(sandbox).status_code == 200
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and read_tokens(portal) is not None
    assert db.session.query(Activity).count() == 0


def auth_of(sandbox, **changes: str) -> dict[str, str]:
    portal, app = sandbox.portal, find_app(sandbox.state, sandbox.portal)
    issued = sandbox.token(1, fresh=True)
    refresh = sandbox.state.tokens[issued].refresh_token
    return {
        "access_token": issued,
        "refresh_token": refresh,
        "expires_in": "3600",
        "domain": portal.domain,
        "member_id": portal.member_id,
        "application_token": app.application_token,
        "user_id": "1",
        "client_endpoint": portal.client_endpoint,
        **changes,
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"access_token": "f" * 70},
        {"member_id": "0" * 32},
        {"domain": "127.0.0.1:1"},
        {"access_token": ""},
    ],
)
def test_a_forged_onappinstall_stores_nothing(live_app, sandbox, changes) -> None:
    response = post_event(live_app, "ONAPPINSTALL", auth_of(sandbox, **changes), {"VERSION": "1"})
    assert response.status_code in (400, 401)
    assert stored() == []


def test_a_forged_onappuninstall_changes_nothing(installed, live_app, sandbox) -> None:
    auth = {"member_id": installed.member_id, "domain": installed.domain, "application_token": "0" * 32}
    response = post_event(live_app, "ONAPPUNINSTALL", auth, {"CLEAN": "1"})
    assert response.status_code == 401
    [portal] = stored()
    assert portal.state is PortalState.ACTIVE and read_tokens(portal) is not None


def test_a_forged_onappupdate_changes_nothing(installed, live_app, sandbox) -> None:
    response = post_event(
        live_app, "ONAPPUPDATE", auth_of(sandbox, application_token="1" * 32), {"VERSION": "9"}
    )
    assert response.status_code == 401
    assert stored()[0].app_version == "1"


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        ({}, 401),
        ({"member_id": "0" * 32, "application_token": "x"}, 401),
    ],
)
def test_activity_events_from_unknown_portals_are_refused(installed, live_app, auth, status) -> None:
    response = post_event(live_app, "ONCRMACTIVITYADD", auth, {"FIELDS][ID": "5"})
    assert response.status_code == status


def test_event_names_are_case_insensitive(installed, live_app, sandbox) -> None:
    auth = {
        "member_id": installed.member_id,
        "application_token": find_app(sandbox.state, sandbox.portal).application_token,
    }
    assert post_event(live_app, "onCrmActivityAdd", auth, {"FIELDS][ID": "5"}).status_code == 200
    assert [row.event for row in db.session.query(InboxEvent)] == ["ONCRMACTIVITYADD"]
