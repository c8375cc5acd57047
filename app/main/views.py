"""POST|GET /: the main page in the portal's frame (or outside it after /oauth/callback); POST /repair."""

from __future__ import annotations

import logging

from flask import current_app, g, render_template, request, session
from flask.typing import ResponseReturnValue

from app import page_tokens
from app.bitrix24.errors import Bitrix24Error
from app.connections import client_for, user_client
from app.frames import Frame, parse_frame
from app.main import bp, service
from app.main.texts import refusal, texts
from app.models import Portal

log = logging.getLogger(__name__)


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """Verify the frame's user with the portal, then show administrators the install, others a sentence."""
    if "DOMAIN" not in request.args and session.get("member_id"):
        return outside_frame(str(session["member_id"]), int(session.get("user_id") or 0))
    frame = parse_frame(request)
    # Until the portal is known only a refusal can be shown; the allow-listed frame origin may frame it.
    g.frame_origin = frame.origin
    try:
        portal = service.portal_for(frame.member_id, frame.domain)
        g.frame_origin = service.portal_origin(portal)
        opened = service.open_page(user_client(portal, frame.auth_id))
    except service.Refused as refused:
        return refused_page(refused, frame.lang)
    activity_id = service.asked_activity(frame.options)
    if not opened.viewer.is_admin:
        return render_page("main/user.html", frame.lang, viewer=opened.viewer, activity_id=activity_id)
    return admin_page(frame, portal, opened, activity_id)


def admin_page(
    frame: Frame, portal: Portal, opened: service.Opened, activity_id: int | None
) -> ResponseReturnValue:
    """The overview, with a page token so the Repair form can act for this administrator."""
    viewer = opened.viewer
    token = page_tokens.issue(
        member_id=portal.member_id,
        user_id=viewer.user_id,
        is_admin=True,
        access_token=frame.auth_id,
        activity_id=activity_id,
    )
    overview = service.overview_with(portal, opened.health, opened.health_error)
    context = {"viewer": viewer, "overview": overview, "page_token": token, "activity_id": activity_id}
    return render_page("main/admin.html", frame.lang, **context)


def outside_frame(member_id: str, user_id: int) -> ResponseReturnValue:
    """The administrator's page after the OAuth code flow: first-party, signed session, never framed."""
    try:
        portal = service.installed_portal(member_id)
    except service.Refused as refused:
        session.clear()
        return refused_page(refused, "en")
    token = page_tokens.issue(member_id=member_id, user_id=user_id, is_admin=True)
    overview = service.overview(portal, client_for(portal, interactive=True))
    return render_page("main/admin.html", "en", overview=overview, page_token=token, framed=False)


@bp.post("/repair")
def repair() -> ResponseReturnValue:
    """Register the manifest again for an administrator's page token, then show the steps and the health."""
    lang = request.form.get("lang", "en")[:8]
    raw = request.form.get(page_tokens.FIELD) or request.headers.get(page_tokens.HEADER, "")
    try:
        page = page_tokens.read(raw)
        portal = service.installed_portal(page.member_id)
    except page_tokens.PageTokenError as error:
        log.info("repair refused: %s", error.reason)
        return refused_page(service.Refused("reopen", 401), lang)
    except service.Refused as refused:
        return refused_page(refused, lang)
    g.frame_origin = service.portal_origin(portal)
    if not page.is_admin:
        return refused_page(service.Refused("admins_only", 403), lang)
    return repair_page(portal, lang, raw, framed=bool(page.access_token))


def repair_page(portal: Portal, lang: str, page_token: str, *, framed: bool) -> ResponseReturnValue:
    """Run the repair and show its steps with a fresh health check; 502 when a step failed."""
    try:
        report = service.repair(portal)
    except Bitrix24Error as error:
        log.warning("repair of %s failed: %s", portal.member_id, error)
        return refused_page(service.Refused("unavailable", 502, message=error.user_message), lang)
    health, health_error = service.live_health(client_for(portal, interactive=True))
    overview = service.Overview(portal=portal, health=health, health_error=health_error)
    context = {"report": report, "overview": overview, "page_token": page_token, "framed": framed}
    return render_page("main/repaired.html", lang, **context), 200 if report.ok else 502


def refused_page(refused: service.Refused, lang: str) -> ResponseReturnValue:
    """A page that says what to do and shows nothing else."""
    title, sentence = refusal(refused.kind, lang, message=refused.message)
    return render_page("main/refused.html", lang, title=title, sentence=sentence), refused.status


def render_page(template: str, lang: str, **context: object) -> str:
    """Render a main page with the portal's language and the BX24 library."""
    return render_template(
        template, lang=lang, t=texts(lang), bx24_js=current_app.config["B24_JS_URL"], **context
    )
