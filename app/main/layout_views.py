"""POST /layout/check: the administrators' block editor checks a rule's or a template's layout as typed."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.activities.placeholders import check_template
from app.inputs import JsonRefused, load_json
from app.layout import MAX_BLOCKS, Code, LayoutError, Problem, too_many
from app.main.admin import opened_page
from app.main.blueprint import bp
from app.main.service import Refused, portal_origin
from app.main.texts import language, refusal
from app.timeline.editor import preview_html


@bp.post("/layout/check")
def check_layout() -> ResponseReturnValue:
    """{"ok", "problems": [{path, code, message}], "preview"} for an administrator; no portal call.

    The page token comes in the X-Page-Token header and is not spent: checking changes nothing. A layout may
    hold {{NAMES}} (app.activities.placeholders), shown as they are in the preview.
    """
    try:
        body = load_json(request.get_data(cache=True)) if request.is_json else None
    except JsonRefused as refused:
        problem = Problem(Code.WRONG_FIELD_VALUE, "", f"The request {refused}.")
        return jsonify(ok=False, problems=[problem.to_dict()], preview=""), 400
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
    """The check's answer: the problems by path, or none and the preview."""
    if not isinstance(layout, dict):
        return failed(
            [Problem(Code.WRONG_FIELD_VALUE, "", 'A layout must be a JSON object: {"blocks": {...}}.')]
        )
    blocks = layout.get("blocks")
    if isinstance(blocks, dict | list) and len(blocks) > MAX_BLOCKS:
        # Refused before the walk: thousands of tiny blocks in a body cost the check ten times the largest
        # layout the editor can make, and the token is not spent, so the check could be sent over and over.
        return failed([too_many("blocks", "blocks", len(blocks), MAX_BLOCKS)])
    try:
        check_template(layout)
    except LayoutError as error:
        return failed(error.problems)
    preview = preview_html(layout.get("blocks"), language(lang), deadline="", portal_origin=origin)
    return {"ok": True, "problems": [], "preview": preview}


def failed(problems: list[Problem]) -> dict[str, Any]:
    """The check's answer for a layout with problems: no preview."""
    return {"ok": False, "problems": [p.to_dict() for p in problems], "preview": ""}
