"""POST /activity/<id>/configurable: add a configurable activity with buttons to the opened activity's owner.

Form fields: page_token, lang, title (required), text, tags (comma-separated, at most two), deadline
(datetime-local, the portal's time), responsible (a user id). The opened activity is read as the user to
find its owner, and the new one is created as the user (their permissions apply) with app.configurable.
Its buttons' clicks come back as ONCRMTIMELINEITEMACTION events (app.item_actions).
"""

from __future__ import annotations

import logging

from flask import request
from flask.typing import ResponseReturnValue

from app import configurable
from app.bitrix24 import activities
from app.bitrix24.errors import AuthError, Bitrix24Error, InvalidParameter
from app.layout import LayoutError
from app.main import service as main_service
from app.main.pages import refused_page
from app.timeline import bp, page
from app.timeline import configurable_texts as ct
from app.timeline import texts as words
from app.timeline.access import Acting, acting
from app.timeline.views import error_status, form_lang

log = logging.getLogger(__name__)
FIELDS = ("title", "text", "tags", "deadline", "responsible")


@bp.post("/activity/<int:activity_id>/configurable")
def add_configurable(activity_id: int) -> ResponseReturnValue:
    """Check the form, create the activity on the same owner, and show the page with what happened."""
    lang = form_lang()
    try:
        who = acting("configurable", activity_id=activity_id)
    except main_service.Refused as refused:
        return refused_page(refused, lang)
    try:
        item = configurable.read_item(**{name: request.form.get(name, "") for name in FIELDS})
    except configurable.ItemProblem as bad:
        return page.show(who, lang=lang, problem=ct.problem_words(bad, lang), status=400)
    try:
        new_id = create_beside(who, activity_id, item)
    except LayoutError as error:
        first = error.problems[0]
        problem = ct.texts(lang)["bad_layout"].format(path=first.path or "layout", message=first.message)
        return page.show(who, lang=lang, problem=problem, status=400)
    except InvalidParameter as error:
        message = error.description.removeprefix(f"{error.parameter}: ")
        problem = ct.texts(lang)["bad_layout"].format(path=error.parameter, message=message)
        return page.show(who, lang=lang, problem=problem, status=400)
    except AuthError:
        return refused_page(main_service.Refused("reopen", 401), lang)
    except Bitrix24Error as error:
        log.info("configurable on activity %s refused: %s", activity_id, error.code or type(error).__name__)
        return page.show(who, lang=lang, problem=words.error_words(error, lang), status=error_status(error))
    return page.show(who, lang=lang, notice=ct.texts(lang)["created"].format(id=new_id))


def create_beside(who: Acting, activity_id: int, item: configurable.Item) -> int:
    """Read the opened activity as the user and create the configurable one on its owner."""
    opened = who.client.run(activities.get(activity_id))
    return configurable.add_configurable(
        who.client, owner_type_id=opened.owner_type_id, owner_id=opened.owner_id, item=item
    )


@bp.app_template_global()
def configurable_form_texts(lang: str) -> dict[str, str]:
    """The configurable form's words (templates/timeline/_configurable_form.html)."""
    return ct.texts(lang)
