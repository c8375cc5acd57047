"""The activity page: opened from the portal's frame (verified by one batch), or again after an action."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.activities import templates
from app.activities.defaults import Shown
from app.bitrix24.activities import Activity, Binding
from app.i18n import moment
from app.main import service as main_service
from app.main.pages import refused_page
from app.main.texts import language
from app.models import Portal
from app.portals import page_tokens
from app.portals.connections import user_client
from app.timeline import texts as words
from app.timeline.access import Acting
from app.timeline.service import ActivityPage, load
from app.web.frames import Frame

log = logging.getLogger(__name__)

COLORS = tuple(range(1, 8))  # docs crm.activity.todo.updateColor


def open_from_frame(frame: Frame, portal: Portal, activity_id: int) -> ResponseReturnValue:
    """Verify the frame's AUTH_ID with the stored portal in one batch that also reads the page's data."""
    g.frame_origin = main_service.portal_origin(portal)
    choices = stored_choices(portal, frame.lang)
    try:
        with main_service.verifying(portal, request.remote_addr or ""):
            page = load(user_client(portal, frame.auth_id), activity_id)
    except main_service.Refused as refused:
        return refused_page(refused, frame.lang)
    token = page_tokens.issue(
        member_id=portal.member_id,
        user_id=page.viewer.user_id,
        is_admin=False,
        access_token=frame.auth_id,
        activity_id=activity_id,
        generation=portal.generation,
    )
    return render(page, portal=portal, token=token, lang=frame.lang, choices=choices)


def stored_choices(portal: Portal, lang: str) -> list[Shown]:
    """The create form's templates, read before the page's batch: the limiter's write for the batch makes
    SQLite read them again from disk (~0.3 ms of CPU). Only read: `render` seeds a portal that has none."""
    return templates.shown_templates(portal.member_id, lang, seed=False)


def show(
    acting: Acting,
    *,
    lang: str,
    notice: str = "",
    problem: str = "",
    status: int = 200,
    draft: str | None = None,
) -> ResponseReturnValue:
    """Fetch the page's data again as the acting user and render it with what happened.

    `draft` is a layout the portal refused: the block editor opens with it instead of the stored one.
    """
    activity_id = acting.page.activity_id
    if activity_id is None:
        return refused_page(main_service.Refused("wrong_activity", 403), lang)
    choices = stored_choices(acting.portal, lang)
    try:
        page = load(acting.client, activity_id)
    except main_service.Refused as refused:
        return refused_page(refused, lang)
    html = render(
        page,
        portal=acting.portal,
        token=acting.token,
        lang=lang,
        choices=choices,
        notice=notice,
        problem=problem,
        draft=draft,
    )
    return html, status


def show_deleted(acting: Acting, *, lang: str) -> ResponseReturnValue:
    """The page after the activity was deleted: nothing left to act on."""
    t = words.texts(lang)
    activity_id = acting.page.activity_id or 0
    return render_template(
        "timeline/deleted.html",
        lang=language(lang),
        t=t,
        activity_id=activity_id,
        bx24_js=current_app.config["B24_JS_URL"],
    )


def render(
    page: ActivityPage,
    *,
    portal: Portal,
    token: str,
    lang: str,
    choices: list[Shown],
    notice: str = "",
    problem: str = "",
    draft: str | None = None,
) -> str:
    """Render the activity page (templates/timeline/activity.html) with a page token in every form.

    `choices` are the create form's templates (stored_choices); none read before may mean a portal never
    seeded, so they are read again here, seeding it (the user is verified by now).
    """
    lang = language(lang)
    t = words.texts(lang)
    origin = main_service.portal_origin(portal)
    return render_template(
        "timeline/activity.html",
        lang=lang,
        t=t,
        member_id=portal.member_id,
        page=page,
        activity=page.activity,
        viewer=page.viewer,
        page_token=token,
        notice=notice,
        problem=problem,
        draft=draft,
        details=details(page, lang),
        bindings=[binding_view(page, b, lang) for b in page.bindings],
        blocks_problem=blocks_problem(page, lang),
        colors=COLORS,
        saved_color=saved_color(notice),
        deadline_input=deadline_input(page.activity),
        deadline_offset=deadline_offset(page.activity),
        portal_origin=origin,
        owner_types=words.owner_types(lang),
        users_url=url_for("timeline.pick_users", activity_id=page.activity.id),
        items_url=url_for("timeline.pick_items", activity_id=page.activity.id),
        bx24_js=current_app.config["B24_JS_URL"],
        block_ctx={**block_context(page, lang), "portal_origin": origin},
        bindings_error_words=words.error_words(page.bindings_error, lang) if page.bindings_error else "",
        create_choices=choices or templates.shown_templates(portal.member_id, lang),
    )


def saved_color(notice: str) -> int | None:
    """The colour this answer just saved, marked as chosen (crm.activity.get returns no to-do colour)."""
    changed = (
        request.endpoint == "timeline.change_todo" and (request.view_args or {}).get("change") == "color"
    )
    if not notice or not changed:
        return None
    value = request.form.get("value", "").strip()
    return int(value) if value.isdigit() and int(value) in COLORS else None


def details(page: ActivityPage, lang: str) -> dict[str, str]:
    """The activity's facts in words."""
    a, t = page.activity, words.texts(lang)
    responsible = page.responsible_name or t["user"].format(id=a.responsible_id)
    if a.responsible_id == page.viewer.user_id:
        responsible = f"{page.viewer.name or responsible} ({t['you']})"
    return {
        "subject": a.subject or t["no_subject"],
        "type": words.activity_type(a.type_id, a.provider_id, lang),
        "owner": item_label(page, a.owner_type_id, a.owner_id, lang),
        "deadline": moment(a.deadline, lang) if a.deadline else t["no_deadline"],
        "status": t["done"] if a.completed else words.status(a.status, lang),
        "responsible": responsible,
    }


def item_label(page: ActivityPage, type_id: int, item_id: int, lang: str) -> str:
    """ "Deal: <title>" when the batch read the item; otherwise its number and why there is no title."""
    kind = words.owner_type(type_id, lang)
    title = page.title(type_id, item_id)
    if title is not None:
        return f"{kind}: {title}"
    if (type_id, item_id) not in page.asked:  # past the batch's named links: the number alone
        return f"{kind} #{item_id}"
    return words.texts(lang)["item_not_visible"].format(item=f"{kind} #{item_id}")


def binding_view(page: ActivityPage, binding: Binding, lang: str) -> dict[str, Any]:
    return {
        "type_id": binding.entity_type_id,
        "id": binding.entity_id,
        "label": item_label(page, binding.entity_type_id, binding.entity_id, lang),
    }


def blocks_problem(page: ActivityPage, lang: str) -> str:
    if page.blocks_error is None:
        return ""
    t = words.texts(lang)
    if not page.blocks_allowed:
        return t["blocks_unsuitable"]
    return t["blocks_unknown"].format(message=words.error_words(page.blocks_error, lang))


def block_context(page: ActivityPage, lang: str) -> dict[str, Any]:
    """What _blocks.html needs besides the blocks: the deadline shown by deadline blocks, and the language."""
    a = page.activity
    return {
        "lang": lang,
        "deadline": moment(a.deadline, lang) if a.deadline else "",  # as the facts write it: one format
        "incoming": a.direction == 1,
        "readonly": a.completed,
    }


def deadline_input(activity: Activity) -> str:
    return activity.deadline.strftime("%Y-%m-%dT%H:%M") if activity.deadline else ""


def deadline_offset(activity: Activity) -> str:
    """The deadline's UTC offset as the portal wrote it, so a changed deadline keeps the portal's zone."""
    if activity.deadline is None or activity.deadline.tzinfo is None:
        return "+00:00"
    return activity.deadline.strftime("%z")[:3] + ":" + activity.deadline.strftime("%z")[3:]
