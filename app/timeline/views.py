"""Routes of the activity page: the entry points and the actions (each module adds its own)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from app.bitrix24 import activities
from app.bitrix24.activities import Binding
from app.bitrix24.errors import AccessDenied, NotFound
from app.bitrix24.prepared import Request
from app.inputs import JsonRefused, as_id, load_json
from app.layout import Code, LayoutError, Problem
from app.layout.links import link_href
from app.main import service as main_service
from app.main.pages import refused_page
from app.main.texts import language, problem_dicts
from app.timeline import editor, page, service
from app.timeline import texts as words
from app.timeline.access import Acting, acting
from app.timeline.actions import Problem as Refusal
from app.timeline.actions import act, form_lang, refused_words
from app.timeline.blueprint import bp
from app.timeline.picker_views import chosen_item, chosen_user
from app.web.frames import Frame, parse_frame

log = logging.getLogger(__name__)
ACTIVITY_TYPE_ID = "6"  # CCrmOwnerType::Activity, as the timeline menu's options name it (notes §3.4)
# The placement codes the timeline menu handler serves (manifest.json; codebuilder.php's template)
TIMELINE_MENU = re.compile(
    r"CRM_(?:LEAD|DEAL|QUOTE|SMART_INVOICE|DYNAMIC_[1-9][0-9]{0,9})_ACTIVITY_TIMELINE_MENU"
)
bp.add_app_template_filter(link_href, "link_href")  # templates/timeline/_blocks.html: redirect links


@bp.post("/placements/activity-menu")
def activity_menu() -> ResponseReturnValue:
    """CRM_ACTIVITY_LIST_MENU (notes §3.3): PLACEMENT_OPTIONS {"ID": …} names the activity."""
    return open_placement(lambda frame: as_id(frame.options.get("ID")))


@bp.post("/placements/timeline-menu")
def timeline_menu() -> ResponseReturnValue:
    """CRM_<TYPE>_ACTIVITY_TIMELINE_MENU (notes §3.4): ASSOCIATED_ENTITY_ID names the activity.

    The options are strings ({"ENTITY_ID": "3463", "ASSOCIATED_ENTITY_ID": "1517",
    "ASSOCIATED_ENTITY_TYPE_ID": "6"}); type 6 is an activity (CCrmOwnerType::Activity), anything else is not.
    The owner comes from the activity itself, so a forged ENTITY_ID shows nothing it would not.
    """

    def activity_of(frame: Frame) -> int | None:
        kind = str(frame.options.get("ASSOCIATED_ENTITY_TYPE_ID", ACTIVITY_TYPE_ID))
        if kind != ACTIVITY_TYPE_ID or not TIMELINE_MENU.fullmatch(frame.placement):
            return None
        return as_id(frame.options.get("ASSOCIATED_ENTITY_ID"))

    return open_placement(activity_of)


def open_placement(activity_of: Callable[[Frame], int | None]) -> ResponseReturnValue:
    """A placement's frame: the stored portal, the activity its options name (404 in words if none)."""
    frame = parse_frame(request)
    g.frame_origin = frame.origin  # until the portal is known only a refusal can be shown
    try:
        portal = main_service.portal_for(frame.member_id, frame.domain)
    except main_service.Refused as refused:
        return refused_page(refused, frame.lang)
    g.frame_origin = main_service.portal_origin(portal)
    activity_id = activity_of(frame)
    if activity_id is None:
        return refused_page(main_service.Refused("no_activity", 404), frame.lang)
    return page.open_from_frame(frame, portal, activity_id)


def owner() -> tuple[int, int]:
    """The activity's owner as the page rendered it; the portal refuses an owner the activity lacks."""
    return (
        service.positive(request.form.get("owner_type_id", ""), "entity_type"),
        service.positive(request.form.get("owner_id", ""), "entity_id"),
    )


# --- content blocks ---


@bp.post("/activity/<int:activity_id>/blocks")
def set_blocks(activity_id: int) -> ResponseReturnValue:
    """crm.activity.layout.blocks.set with the editor's layout (form field `layout`, JSON)."""

    def action(who: Acting, lang: str) -> str:
        layout = service.read_layout(request.form.get("layout", ""))
        type_id, owner_id = owner()
        service.run(who.client, activities.blocks_set(type_id, owner_id, activity_id, layout))
        return words.texts(lang)["saved_blocks"]

    return act("set blocks", activity_id, action, draft=request.form.get("layout", ""))


@bp.post("/activity/<int:activity_id>/blocks/delete")
def delete_blocks(activity_id: int) -> ResponseReturnValue:
    """crm.activity.layout.blocks.delete."""

    def action(who: Acting, lang: str) -> str:
        type_id, owner_id = owner()
        service.run(who.client, activities.blocks_delete(type_id, owner_id, activity_id))
        return words.texts(lang)["deleted_blocks"]

    return act("delete blocks", activity_id, action)


def json_body() -> Any:
    """The request's JSON body (bounded by app.inputs: JsonRefused), or None when it sends none."""
    return load_json(request.get_data(cache=True)) if request.is_json else None


@bp.post("/activity/<int:activity_id>/blocks/check")
def check_blocks(activity_id: int) -> ResponseReturnValue:
    """The editor's live check: {"ok", "problems": [{path, code, message}], "preview"}; no portal call."""
    try:
        body = json_body()
    except JsonRefused as refused:
        problem = Problem(Code.WRONG_FIELD_VALUE, "", f"The request {refused}.")
        return jsonify(ok=False, problems=[problem.to_dict()], preview=""), 400
    lang = str(body.get("lang") or "en")[:8] if isinstance(body, dict) else form_lang()
    try:
        who = acting("check blocks", activity_id=activity_id)
    except main_service.Refused as refused:
        return jsonify(error=refused.kind, message=refused_words(refused, lang)), refused.status
    data: Any = body.get("layout") if isinstance(body, dict) else None
    if data is None and "layout" in request.form:
        try:
            data = service.read_layout(request.form["layout"])
        except LayoutError as error:
            return jsonify(ok=False, problems=problem_dicts(error.problems, lang), preview="")
    wire, problems = service.check_layout(data)
    if wire is None:
        return jsonify(ok=False, problems=problem_dicts(problems, lang), preview="")
    deadline = str(body.get("deadline") or "") if isinstance(body, dict) else ""
    origin = main_service.portal_origin(who.portal)
    preview = editor.preview_html(wire["blocks"], language(lang), deadline=deadline, portal_origin=origin)
    return jsonify(ok=True, problems=[], preview=preview)


# --- to-do changes (crm.activity.todo.update*) ---


@bp.post("/activity/<int:activity_id>/todo/<any(deadline, description, color, responsible):change>")
def change_todo(activity_id: int, change: str) -> ResponseReturnValue:
    """Change one thing of a to-do: form field `value` (and `offset` for the deadline)."""

    def action(who: Acting, lang: str) -> str:
        type_id, owner_id = owner()
        value = request.form.get("value", "")
        if change == "deadline":
            moment = service.deadline_value(value, request.form.get("offset", ""))
            request_ = activities.todo_update_deadline(activity_id, type_id, owner_id, moment)
        elif change == "description":
            request_ = activities.todo_update_description(activity_id, type_id, owner_id, value)
        elif change == "color":
            request_ = activities.todo_update_color(activity_id, type_id, owner_id, value.strip())
        else:
            return change_responsible(who, activity_id, (type_id, owner_id), lang)
        service.run(who.client, request_)
        return words.texts(lang)[f"saved_{change}"]

    return act(f"change {change}", activity_id, action)


def change_responsible(who: Acting, activity_id: int, owner_: tuple[int, int], lang: str) -> str:
    """The picked user (or the one the typed name names) becomes responsible; an unknown one is named.

    crm.activity.todo.updateResponsibleUser answers an unknown user with the NOT_FOUND of a missing activity
    (sandbox/crm/todo.py read_responsible, as the platform), so on NOT_FOUND user.get tells which is missing.
    """
    user = chosen_user(who, "value", lang)
    assert user is not None  # required: chosen_user refuses an empty field in words
    request_ = activities.todo_update_responsible_user(activity_id, *owner_, user)
    try:
        service.run(who.client, request_)
    except NotFound:
        if service.user_exists(who.client, user):
            raise
        raise Refusal(words.texts(lang)["no_such_user"].format(id=user), 404) from None
    return words.texts(lang)["saved_responsible"]


# --- bindings (crm.activity.binding.*) ---


@bp.post("/activity/<int:activity_id>/bindings/add")
def add_binding(activity_id: int) -> ResponseReturnValue:
    """Link the activity to one more CRM item: `entity_type_id`, `entity_id`."""

    def action(who: Acting, lang: str) -> str:
        type_id = service.positive(request.form.get("entity_type_id", ""), "entity_type")
        target = Binding(type_id, chosen_item(who, type_id, "entity_id", lang))
        request_ = activities.binding_add(activity_id, target.entity_type_id, target.entity_id)
        run_on_item(who, request_, target, lang)
        return words.texts(lang)["binding_added"]

    return act("add binding", activity_id, action)


@bp.post("/activity/<int:activity_id>/bindings/move")
def move_binding(activity_id: int) -> ResponseReturnValue:
    """Move a link: `entity_type_id`, `entity_id` (the current one), `target_entity_id` (same type)."""

    def action(who: Acting, lang: str) -> str:
        source = posted_binding("entity_type_id", "entity_id")
        target = Binding(
            source.entity_type_id, chosen_item(who, source.entity_type_id, "target_entity_id", lang)
        )
        run_on_item(who, activities.binding_move(activity_id, source, target), target, lang)
        return words.texts(lang)["binding_moved"]

    return act("move binding", activity_id, action)


@bp.post("/activity/<int:activity_id>/bindings/delete")
def delete_binding(activity_id: int) -> ResponseReturnValue:
    """Remove a link: `entity_type_id`, `entity_id`."""

    def action(who: Acting, lang: str) -> str:
        source = posted_binding("entity_type_id", "entity_id")
        request_ = activities.binding_delete(activity_id, source.entity_type_id, source.entity_id)
        service.run(who.client, request_)
        return words.texts(lang)["binding_deleted"]

    return act("delete binding", activity_id, action)


def run_on_item(who: Acting, request_: Request[Any], item: Binding, lang: str) -> None:
    """Send a link's change; the portal's ACCESS_DENIED names the item the user may not link to."""
    try:
        service.run(who.client, request_)
    except AccessDenied:  # Binding::addAction/moveAction: canUpdate on the item (and on the activity)
        label = f"{words.owner_type(item.entity_type_id, lang)} #{item.entity_id}"
        raise Refusal(words.texts(lang)["item_refused"].format(item=label), 403) from None


def posted_binding(type_field: str, id_field: str) -> Binding:
    return Binding(
        service.positive(request.form.get(type_field, ""), "entity_type"),
        service.positive(request.form.get(id_field, ""), "entity_id"),
    )


# --- complete, delete ---


@bp.post("/activity/<int:activity_id>/complete")
def complete(activity_id: int) -> ResponseReturnValue:
    """crm.activity.update COMPLETED=Y."""

    def action(who: Acting, lang: str) -> str:
        service.run(who.client, activities.update(activity_id, {"COMPLETED": "Y"}))
        return words.texts(lang)["completed"]

    return act("complete", activity_id, action)


@bp.post("/activity/<int:activity_id>/delete")
def delete(activity_id: int) -> ResponseReturnValue:
    """crm.activity.delete; afterwards there is nothing left to show but that it is gone."""

    def action(who: Acting, lang: str) -> str:
        service.run(who.client, activities.delete(activity_id))
        return ""

    return act("delete", activity_id, action, finish=lambda who, lang: page.show_deleted(who, lang=lang))
