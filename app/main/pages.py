"""Pages every blueprint in the portal's frame shares: a refusal, and a page in the portal's language."""

from __future__ import annotations

from functools import partial

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from app.i18n import number, stamp, zone
from app.main.choices import rule_words
from app.main.service import Refused
from app.main.texts import count, language, problem_text, refusal, texts


def refused_page(refused: Refused, lang: str) -> ResponseReturnValue:
    """A page that says what to do and shows nothing else."""
    seconds = str(refused.retry_after or "")
    title, sentence = refusal(refused.kind, lang, message=refused.message, seconds=seconds)
    html = render_page("main/refused.html", lang, title=title, sentence=sentence)
    headers = {"Retry-After": seconds} if refused.retry_after else {}
    return html, refused.status, headers


def render_page(template: str, lang: str, *, offset: str | None = None, **context: object) -> str:
    """Render a main page with the portal's language, its time zone and the BX24 library.

    `offset` is the portal's UTC offset when this request learnt it from the portal; a page's forms carry it
    back (`tz`), so what they show after a change is in the same zone.
    """
    tz = offset if offset is not None else request.values.get("tz", "")
    tz = tz if zone(tz) is not None else ""
    return render_template(
        template,
        lang=language(lang),  # the page's words' language, so a French portal's English page says "en"
        tz=tz,
        t=texts(lang),
        count=partial(count, lang),  # count("workers_idle", 5): the words for a number (texts.COUNTED)
        number=partial(number, lang=lang),
        when=partial(stamp, lang=lang, offset=tz),
        problem_text=partial(problem_text, lang=lang),
        bx24_js=current_app.config["B24_JS_URL"],
        matchers=rule_words,
        **context,
    )
