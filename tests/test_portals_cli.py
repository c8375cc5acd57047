"""`flask --app app portals list|show|repair|purge`, against the sandbox portal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import Activity, ApiRequest, ApiRequestState, InboxEvent, Portal, PortalState
from app.portals.connections import client_for
from app.portals.registration import check
from app.portals.setup import register_portal
from app.portals.store import read_tokens
from bench.loadgen import install_portal

EVENTS_URL = "http://127.0.0.1:5000/events"


def run(runner_for, app, *args: str):
    return runner_for(app).invoke(args=["portals", *args])


def healthy(app, portal: Portal) -> bool:
    manifest, base_url = app.extensions["manifest"], app.config["APP_BASE_URL"]
    return check(client_for(portal), manifest, base_url=base_url).ok


def uninstalled(member_id: str, *, days_ago: int) -> Portal:
    """A portal row uninstalled `days_ago` days ago, with an inbox row and a mirrored activity."""
    row = Portal(
        member_id=member_id,
        domain=f"{member_id[:6]}.bitrix24.com",
        client_endpoint=f"https://{member_id[:6]}.bitrix24.com/rest/",
        state=PortalState.UNINSTALLED,
        uninstalled_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    db.session.add(row)
    db.session.add(InboxEvent(dedup_key=member_id, event="ONCRMACTIVITYADD", member_id=member_id, payload={}))
    db.session.add(Activity(member_id=member_id, activity_id=1))
    db.session.commit()
    return row


def test_list_shows_each_portal_and_no_secret(connected_app, sandbox, portal, runner_for) -> None:
    uninstalled("b" * 32, days_ago=3)
    result = run(runner_for, connected_app, "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["MEMBER_ID", "DOMAIN", "STATE", "VERSION", "LICENCE", "TOKEN", "AGE"]
    ours = next(line for line in lines if portal.member_id in line)
    assert portal.domain in ours and "active" in ours and ours.endswith("0h 0m")
    gone = next(line for line in lines if "b" * 32 in line)
    assert "uninstalled" in gone and gone.rstrip().endswith("-")
    assert lines[-1] == "2 portals"
    assert read_tokens(portal).access_token not in result.output


def test_show_prints_details_and_a_live_health_check(connected_app, sandbox, portal, runner_for) -> None:
    result = run(runner_for, connected_app, "show", portal.member_id)
    assert result.exit_code == 0, result.output
    assert f"member_id:             {portal.member_id}" in result.output
    assert "tokens:                stored" in result.output
    assert "MISSING REGISTRATIONS" in result.output and "missing events: ONAPPINSTALL" in result.output
    tokens = read_tokens(portal)
    assert tokens.access_token not in result.output and tokens.refresh_token not in result.output


def test_show_says_ok_once_everything_is_bound(connected_app, sandbox, portal, runner_for) -> None:
    assert register_portal(portal).ok
    db.session.commit()
    result = run(runner_for, connected_app, "show", portal.member_id)
    assert result.exit_code == 0 and "health:                ok" in result.output


def test_show_of_an_unknown_portal_fails(connected_app, runner_for) -> None:
    result = run(runner_for, connected_app, "show", "c" * 32)
    assert result.exit_code == 1 and "no portal with member_id" in result.output


def test_show_of_an_uninstalled_portal_skips_the_health_check(connected_app, runner_for) -> None:
    uninstalled("d" * 32, days_ago=1)
    result = run(runner_for, connected_app, "show", "d" * 32)
    assert result.exit_code == 0 and "not checked" in result.output and "uninstalled" in result.output


def test_repair_rebinds_an_unbound_handler(connected_app, sandbox, portal, runner_for) -> None:
    assert register_portal(portal).ok
    db.session.commit()
    sandbox.call("event.unbind", {"event": "ONCRMACTIVITYDELETE", "handler": EVENTS_URL})
    assert not healthy(connected_app, portal)
    result = run(runner_for, connected_app, "repair", portal.member_id)
    assert result.exit_code == 0, result.output
    assert "ONCRMACTIVITYDELETE" in result.output and "repaired:" in result.output
    assert healthy(connected_app, portal)


def test_repair_exits_non_zero_when_a_step_fails(connected_app, sandbox, runner_for) -> None:
    # A non-admin's pair: placement.bind is for administrators only, so that step fails.
    row = install_portal(sandbox, user_id=2)
    result = run(runner_for, connected_app, "repair", row.member_id)
    assert result.exit_code == 1
    assert "placement" in result.output and "failed" in result.output and "steps failed" in result.output


def test_repair_exits_non_zero_when_the_portal_refuses_the_app(
    connected_app, sandbox, portal, runner_for
) -> None:
    sandbox.control("apps/uninstall", {"clean": 0})  # the portal forgets the app; our row still holds tokens
    result = run(runner_for, connected_app, "repair", portal.member_id)
    assert result.exit_code == 1 and "repair failed" in result.output


def test_repair_of_an_uninstalled_portal_fails(connected_app, runner_for) -> None:
    uninstalled("e" * 32, days_ago=1)
    result = run(runner_for, connected_app, "repair", "e" * 32)
    assert result.exit_code == 1 and "installed again" in result.output


def test_purge_deletes_portals_uninstalled_too_long_ago(connected_app, sandbox, portal, runner_for) -> None:
    uninstalled("f" * 32, days_ago=31)
    uninstalled("9" * 32, days_ago=29)
    result = run(runner_for, connected_app, "purge")
    assert result.exit_code == 0, result.output
    assert f"deleted {'f' * 32}" in result.output and "purged 1 portal " in result.output
    db.session.expire_all()
    members = set(db.session.scalars(db.select(Portal.member_id)))
    assert members == {portal.member_id, "9" * 32}
    assert db.session.scalar(db.select(InboxEvent).where(InboxEvent.member_id == "f" * 32)) is None
    assert db.session.scalar(db.select(Activity).where(Activity.member_id == "f" * 32)) is None


def test_purge_honours_days(connected_app, runner_for) -> None:
    uninstalled("9" * 32, days_ago=3)
    assert "purged 0 portals" in run(runner_for, connected_app, "purge", "--days", "5").output
    result = run(runner_for, connected_app, "purge", "--days", "2")
    assert result.exit_code == 0 and f"deleted {'9' * 32}" in result.output


def test_purge_refuses_negative_days(connected_app, runner_for) -> None:
    assert run(runner_for, connected_app, "purge", "--days", "-1").exit_code == 2


def test_purge_forgets_answered_api_keys_as_old_as_the_portals_it_purges(
    connected_app, portal, runner_for
) -> None:
    now = datetime.now(UTC)
    for key, age, state in (("old", 31, "done"), ("recent", 2, "done"), ("stuck", 40, "pending")):
        db.session.add(
            ApiRequest(
                member_id=portal.member_id,
                idempotency_key=key,
                request_sha256="0" * 64,
                state=ApiRequestState(state),
                created_at=now - timedelta(days=age),
            )
        )
    db.session.commit()
    result = run(runner_for, connected_app, "purge")
    assert result.exit_code == 0 and "forgot 1 API idempotency key answered" in result.output
    db.session.expire_all()
    assert set(db.session.scalars(db.select(ApiRequest.idempotency_key))) == {"recent", "stuck"}
