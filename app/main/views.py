"""POST|GET /: the main page in the portal's frame (or outside it after /oauth/callback); POST actions."""

from __future__ import annotations

import logging
from typing import Any

from flask import g, request, session
from flask.typing import ResponseReturnValue

from app.bitrix24.errors import Bitrix24Error
from app.inbox import enrichment
from app.inbox.enrichment import RuleError
from app.layout import LayoutError
from app.main import service
from app.main.admin import Admin, as_admin
from app.main.blueprint import bp
from app.main.choices import read_choices
from app.main.pages import refused_page, render_page
from app.main.texts import texts
from app.models import Portal
from app.portals import page_tokens
from app.portals.connections import client_for, user_client
from app.timeline.page import open_from_frame
from app.web.frames import Frame, parse_frame

log = logging.getLogger(__name__)


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """Verify the frame's user with the portal, then show administrators the install, others a sentence."""
    if "DOMAIN" not in request.args and session.get("member_id"):
        return outside_frame(str(session["member_id"]), int(session.get("user_id") or 0))
    frame = parse_frame(request)
    # Until the portal is known only a refusal can be shown; the allow-listed frame origin may frame it.
    g.frame_origin = frame.origin
    activity_id = service.asked_activity(frame.options)
    try:
        portal = service.portal_for(frame.member_id, frame.domain)
        g.frame_origin = service.portal_origin(portal)
        if activity_id is not None:  # any user: the activity page verifies them in its own one batch
            return open_from_frame(frame, portal, activity_id)
        with service.verifying(portal, request.remote_addr or ""):
            opened = service.open_page(user_client(portal, frame.auth_id), frame.lang)
    except service.Refused as refused:
        return refused_page(refused, frame.lang)
    if not opened.viewer.is_admin:
        return render_page("main/user.html", frame.lang, viewer=opened.viewer)
    return admin_page(frame, portal, opened)


def admin_page(frame: Frame, portal: Portal, opened: service.Opened) -> ResponseReturnValue:
    """The overview, with a page token so the Repair form can act for this administrator."""
    viewer = opened.viewer
    token = page_tokens.issue(
        member_id=portal.member_id,
        user_id=viewer.user_id,
        is_admin=True,
        access_token=frame.auth_id,
        generation=portal.generation,
    )
    overview = service.overview_with(portal, opened.health, opened.health_error)
    context: dict[str, Any] = {
        "viewer": viewer,
        "overview": overview,
        "page_token": token,
        "offset": opened.offset,
        "choices": opened.choices,
    }
    return render_page("main/admin.html", frame.lang, **context)


def outside_frame(member_id: str, user_id: int) -> ResponseReturnValue:
    """The administrator's page after the OAuth code flow: first-party, signed session, never framed."""
    try:
        portal = service.installed_portal(member_id)
    except service.Refused as refused:
        session.clear()
        return refused_page(refused, "en")
    token = page_tokens.issue(
        member_id=member_id, user_id=user_id, is_admin=True, generation=portal.generation
    )
    client = client_for(portal, interactive=True)
    overview = service.overview(portal, client)
    context: dict[str, Any] = {
        "overview": overview,
        "page_token": token,
        "choices": read_choices(client, "en"),
    }
    return render_page("main/admin.html", "en", framed=False, **context)


@bp.post("/repair")
@as_admin("repair")
def repair(admin: Admin) -> ResponseReturnValue:
    """Register the manifest again for an administrator's page token, then show the steps and the health."""
    return repair_page(admin.portal, admin.lang, admin.page_token, framed=admin.framed)


@bp.post("/rules")
@as_admin("add rule")
def add_rule(admin: Admin) -> ResponseReturnValue:
    """Add an enrichment rule for an administrator's page token; a refused template shows its paths."""
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    try:
        rule = service.add_rule(portal, request.form)
    except LayoutError as error:
        return rules_page(portal, lang, page_token, form=request.form, problems=error.problems), 400
    except RuleError as error:
        return rules_page(portal, lang, page_token, form=request.form, message=str(error)), 400
    return rules_page(portal, lang, page_token, notice=texts(lang)["rule_added"].format(name=rule.name))


@bp.post("/rules/<int:rule_id>/<any(enable, disable, delete):action>")
@as_admin("change rule")
def change_rule(admin: Admin, rule_id: int, action: str) -> ResponseReturnValue:
    """Enable, disable or delete one of the page's portal's rules."""
    portal, lang, page_token = admin.portal, admin.lang, admin.page_token
    rule = service.change_rule(portal, rule_id, action)
    if rule is None:
        return rules_page(portal, lang, page_token, message=texts(lang)["rule_missing"]), 404
    notice = texts(lang)[f"rule_{action}d"].format(name=rule.name)
    return rules_page(portal, lang, page_token, notice=notice)


def rules_page(portal: Portal, lang: str, page_token: str, **context: Any) -> str:
    """The portal's rules after an action: what happened (or what was wrong), the list and the form."""
    rules = enrichment.portal_rules(portal.member_id)
    choices = read_choices(client_for(portal, interactive=True), lang)
    context |= {"rules": rules, "page_token": page_token, "choices": choices}
    return render_page("main/rules.html", lang, **context)


def repair_page(portal: Portal, lang: str, page_token: str, *, framed: bool) -> ResponseReturnValue:
    """Run the repair and show its steps with a fresh health check; 502 when a step failed."""
    try:
        report = service.repair(portal)
    except Bitrix24Error as error:
        log.warning("repair of %s failed: %s", portal.member_id, error)
        return refused_page(service.unavailable(error), lang)
    health, health_error = service.live_health(client_for(portal, interactive=True))
    overview = service.Overview(portal=portal, health=health, health_error=health_error)
    context: dict[str, Any] = {
        "report": report,
        "overview": overview,
        "page_token": page_token,
        "framed": framed,
    }
    return render_page("main/repaired.html", lang, **context), 200 if report.ok else 502
