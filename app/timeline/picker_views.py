"""POST /activity/<id>/pick/users and /pick/items: the pickers' searches (static/picker.js), and their fields.

Authorised exactly like the page's actions: the page token (header X-Page-Token) names the portal, the user
and the activity; the search runs with the user's own token. The body is JSON {"q", "lang"} (and
"entity_type_id" for items); the answer {"options": [{id, label, detail, avatar}]} or {"error", "message"}.
Nothing changes, so the token's nonce is not spent (like the block editor's check).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.bitrix24.errors import AuthError, Bitrix24Error, PortalBusy
from app.inputs import JsonRefused, load_json
from app.main import service as main_service
from app.main.texts import refusal
from app.timeline import pickers, service
from app.timeline import texts as words
from app.timeline.access import Acting, acting
from app.timeline.actions import Problem, error_status, refused_words
from app.timeline.blueprint import bp

log = logging.getLogger(__name__)
Search = Callable[[Acting, dict[str, Any], str], list[pickers.Option]]


@bp.post("/activity/<int:activity_id>/pick/users")
def pick_users(activity_id: int) -> ResponseReturnValue:
    """Active users by name, position or department (user.search FIND)."""

    def search(who: Acting, body: dict[str, Any], lang: str) -> list[pickers.Option]:
        query = pickers.query_text(body.get("q"), lang)
        return pickers.find_users(who.client, query, origin(who))

    return answer("pick users", activity_id, search)


@bp.post("/activity/<int:activity_id>/pick/items")
def pick_items(activity_id: int) -> ResponseReturnValue:
    """Items of one CRM type by title, or a contact by name (crm.item.list)."""

    def search(who: Acting, body: dict[str, Any], lang: str) -> list[pickers.Option]:
        type_id = pickers.item_type(body.get("entity_type_id"), lang)
        return pickers.find_items(who.client, type_id, pickers.query_text(body.get("q"), lang), lang)

    return answer("pick items", activity_id, search)


def answer(name: str, activity_id: int, search: Search) -> ResponseReturnValue:
    """Read the body, check the page token, search as the user; every refusal in words, as JSON."""
    try:
        body = load_json(request.get_data(cache=True)) if request.is_json else None
    except JsonRefused:
        body = None
    lang = str(body.get("lang") or "en")[:8] if isinstance(body, dict) else "en"
    try:
        who = acting(name, activity_id=activity_id)
    except main_service.Refused as refused:
        return jsonify(error=refused.kind, message=refused_words(refused, lang)), refused.status
    if not isinstance(body, dict):
        return refuse("bad_request", words.texts(lang)["pick_bad_request"], 400)
    try:
        options = counted_search(who, body, lang, search)
    except Problem as problem:
        return refuse("bad_input", problem.words, problem.status)
    except main_service.Refused as refused:  # the token refused, or too many refused lately (429)
        return refuse(refused.kind, refused_words(refused, lang), refused.status, refused.retry_after)
    except Bitrix24Error as error:
        log.info("%s on activity %s refused: %s", name, activity_id, error.code or type(error).__name__)
        return portal_refusal(error, lang)
    return jsonify(options=[option.as_json() for option in options])


def counted_search(who: Acting, body: dict[str, Any], lang: str, search: Search) -> list[pickers.Option]:
    """Search as the user within the unverified-token budgets: a token the portal refuses counts as a page
    open's would, so a page kept open after its token died cannot send it to the portal at every keystroke.
    Only the address's budget refuses a search in advance: its token was vouched for when the page opened."""
    with main_service.verifying(who.portal, request.remote_addr or "", vouched=True):
        try:
            return search(who, body, lang)
        except AuthError:
            raise main_service.Refused("reopen", 401) from None


def refuse(kind: str, message: str, status: int, retry_after: int | None = None) -> ResponseReturnValue:
    """The picker's refusal as JSON in words, with Retry-After when it says when to try again."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return jsonify(error=kind, message=message), status, headers


def portal_refusal(error: Bitrix24Error, lang: str) -> ResponseReturnValue:
    """The portal's refusal in words; busy is 503 with Retry-After, as the pages answer it."""
    if isinstance(error, PortalBusy):
        seconds = error.retry_after or 1
        return refuse("busy", refusal("busy", lang, seconds=str(seconds))[1], 503, seconds)
    return refuse("portal", words.error_words(error, lang), error_status(error))


def origin(who: Acting) -> str:
    return main_service.portal_origin(who.portal)


# --- the forms' fields: a chosen id, or (without JavaScript) the typed text the server resolves ---


def chosen_user(who: Acting, field: str, lang: str, *, required: bool = True) -> int | None:
    """The id picked into `field`, else the one user `<field>_query` names; None when optional and empty."""
    picked = request.form.get(field, "").strip()
    if picked:
        return service.positive(picked, "responsible_id")
    query = pickers.query_text(request.form.get(f"{field}_query", ""), lang)
    if not query and not required:
        return None
    return pickers.resolve_user(who.client, query, origin(who), lang)


def chosen_item(who: Acting, type_id: int, field: str, lang: str) -> int:
    """The item id picked into `field`, else the one item of the type `<field>_query` names."""
    picked = request.form.get(field, "").strip()
    if picked:
        return service.positive(picked, "entity_id")
    query = pickers.query_text(request.form.get(f"{field}_query", ""), lang)
    return pickers.resolve_item(who.client, type_id, query, lang)
