"""POST /layout/check: the administrators' block editor checks a rule's or a template's layout as typed."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from app.activities.placeholders import check_template
from app.i18n import N_
from app.inputs import JsonRefused, load_json
from app.layout import MAX_BLOCKS, Code, LayoutError, Problem, problem, too_many
from app.main.admin import opened_page
from app.main.blueprint import bp
from app.main.service import Refused, portal_origin
from app.main.texts import language, problem_dicts, refusal
from app.timeline.editor import preview_html

NOT_A_LAYOUT = N_('A layout must be a JSON object: {"blocks": {...}}.')  # app.layout.reader's words


@bp.post("/layout/check")
def check_layout() -> ResponseReturnValue:
    """{"ok", "problems": [{path, code, message}], "preview"} for an administrator; no portal call.

    The page token comes in the X-Page-Token header and is not spent: checking changes nothing. A layout may
    hold {{NAMES}} (app.activities.placeholders), shown as they are in the preview.
    """
    try:
        body = load_json(request.get_data(cache=True)) if request.is_json else None
    except JsonRefused as refused:
        bad = Problem(Code.WRONG_FIELD_VALUE, "", f"The request {refused}.")  # not the editor's: no words
        return jsonify(ok=False, problems=[bad.to_dict()], preview=""), 400
    body = body if isinstance(body, dict) else {}
    lang = str(body.get("lang") or "en")[:8]
    try:
        opened = opened_page("check layout")
        if not opened.page.is_admin:
            raise Refused("admins_only", 403)
    except Refused as refused:
        message = refusal(refused.kind, lang, message=refused.message)[1]
        return jsonify(error=refused.kind, message=message), refused.status
    return jsonify(**checked(body.get("layout"), lang, portal_origin(opened.portal)))


def checked(layout: Any, lang: str, origin: str) -> dict[str, Any]:
    """The check's answer: the problems by path (in `lang`), or none and the preview."""
    if not isinstance(layout, dict):
        return failed([problem(Code.WRONG_FIELD_VALUE, "", NOT_A_LAYOUT)], lang)
    blocks = layout.get("blocks")
    if isinstance(blocks, dict | list) and len(blocks) > MAX_BLOCKS:
        # Refused before the walk: thousands of tiny blocks in a body cost the check ten times the largest
        # layout the editor can make, and the token is not spent, so the check could be sent over and over.
        return failed([too_many("blocks", "blocks", len(blocks), MAX_BLOCKS)], lang)
    try:
        check_template(layout)
    except LayoutError as error:
        return failed(error.problems, lang)
    preview = preview_html(layout.get("blocks"), language(lang), deadline="", portal_origin=origin)
    return {"ok": True, "problems": [], "preview": preview}


@bp.app_template_global()
def layout_preview(layout_json: str, lang: str) -> Markup:
    """The live check's preview of a layout as the page opens, so it shows before anything is typed."""
    try:
        layout = load_json(layout_json)
    except JsonRefused:  # a refused form's layout, as it was sent: the editor says why, no preview
        return Markup("")
    # The preview is rendered by the app's own template, which escapes every value.
    return Markup(checked(layout, lang, g.get("frame_origin", ""))["preview"])  # noqa: S704


def failed(problems: list[Problem], lang: str) -> dict[str, Any]:
    """The check's answer for a layout with problems: no preview."""
    return {"ok": False, "problems": problem_dicts(problems, lang), "preview": ""}
