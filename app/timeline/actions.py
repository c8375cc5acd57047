"""How every action of the activity page runs: check the page token, act as the user, show what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from flask import request
from flask.typing import ResponseReturnValue

from app.bitrix24.errors import (
    AccessDenied,
    AuthError,
    Bitrix24Error,
    InvalidParameter,
    NotFound,
    PortalBusy,
    ServerError,
    TransportError,
)
from app.layout import LayoutError
from app.main import service as main_service
from app.main import texts as main_texts
from app.main.pages import refused_page
from app.main.texts import problem_text
from app.portals import nonces, page_tokens
from app.timeline import page
from app.timeline import texts as words
from app.timeline.access import Acting, acting

log = logging.getLogger(__name__)
Action = Callable[[Acting, str], str]  # (who, lang) -> the notice to show; raises to refuse
Finish = Callable[[Acting, str], ResponseReturnValue]


class Problem(Exception):
    """An action's own refusal, already in the user's words; nothing was changed."""

    def __init__(self, words: str, status: int = 400) -> None:
        super().__init__(words)
        self.words = words
        self.status = status


def form_lang() -> str:
    """The portal's language the page posted back."""
    return request.form.get("lang", "en")[:8]


def act(
    name: str, activity_id: int, action: Action, *, draft: str | None = None, finish: Finish | None = None
) -> ResponseReturnValue:
    """Check the page token and spend its nonce, run the action as the user, then show what happened.

    A token whose nonce is spent (a reload, a second click) shows the page as it is, with nothing done again.
    The page shown after carries a renewed token. `draft` (the editor's layout) is shown again in the editor
    when the action fails; `finish` replaces the page shown after a success (e.g. once the activity is gone).
    """
    lang = form_lang()
    try:
        who = acting(name, activity_id=activity_id)
    except main_service.Refused as refused:
        return refused_page(refused, lang)
    first = nonces.spend(who.page)
    who = replace(who, token=page_tokens.renew(who.page))
    if not first:
        log.info("%s on activity %s not repeated: the page's form was already sent", name, activity_id)
        return page.show(who, lang=lang, notice=words.texts(lang)["already_done"])
    try:
        notice = action(who, lang)
    except AuthError:
        return refused_page(main_service.Refused("reopen", 401), lang)
    except PortalBusy as busy:  # nothing was sent; showing the page again would wait for the same bucket
        return refused_page(main_service.unavailable(busy), lang)
    except (Problem, LayoutError, InvalidParameter, Bitrix24Error) as error:
        problem, status = refusal(error, lang)
        if isinstance(error, Bitrix24Error) and not isinstance(error, InvalidParameter):
            log.info("%s on activity %s refused: %s", name, activity_id, error.code or type(error).__name__)
        return page.show(who, lang=lang, problem=problem, status=status, draft=draft)
    return finish(who, lang) if finish else page.show(who, lang=lang, notice=notice)


def refused_words(refused: main_service.Refused, lang: str) -> str:
    """The sentence of a refusal (app.main.texts.REFUSALS), for answers in JSON."""
    seconds = str(refused.retry_after or "")
    return main_texts.refusal(refused.kind, lang, message=refused.message, seconds=seconds)[1]


def refusal(error: Exception, lang: str) -> tuple[str, int]:
    """What the user reads about a refused action, and the status to answer."""
    if isinstance(error, Problem):
        return error.words, error.status
    if isinstance(error, LayoutError):
        return layout_words(error, lang), 400
    if isinstance(error, InvalidParameter):
        return invalid_words(error, lang), 400
    assert isinstance(error, Bitrix24Error)
    return words.error_words(error, lang), error_status(error)


def layout_words(error: LayoutError, lang: str) -> str:
    """The first problem of a layout our own check refused, with its path."""
    first = error.problems[0]
    message = problem_text(first, lang)
    return words.texts(lang)["bad_layout"].format(path=first.path or "layout", message=message)


def invalid_words(error: InvalidParameter, lang: str) -> str:
    """Our own check refused a form value before anything was sent."""
    t = words.texts(lang)
    if error.parameter == "deadline":
        return t["bad_deadline"]
    if error.parameter == "colorId":
        return t["bad_color"]
    if error.parameter == "value":  # a description over the 65535 characters a text field takes
        return t["too_long"]
    return t["bad_number"].format(field=t.get(error.parameter, error.parameter))


def error_status(error: Bitrix24Error) -> int:
    """The status that goes with a portal's refusal: 403, 404, 502 when it failed, else 400."""
    if isinstance(error, AccessDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, TransportError | ServerError):
        return 502
    return 400
