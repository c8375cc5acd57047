"""Pages every blueprint in the portal's frame shares: a refusal, and a page in the portal's language."""

from __future__ import annotations

from flask import current_app, render_template
from flask.typing import ResponseReturnValue

from app.main.choices import rule_words
from app.main.service import Refused
from app.main.texts import language, refusal, texts


def refused_page(refused: Refused, lang: str) -> ResponseReturnValue:
    """A page that says what to do and shows nothing else."""
    seconds = str(refused.retry_after or "")
    title, sentence = refusal(refused.kind, lang, message=refused.message, seconds=seconds)
    html = render_page("main/refused.html", lang, title=title, sentence=sentence)
    headers = {"Retry-After": seconds} if refused.retry_after else {}
    return html, refused.status, headers


def render_page(template: str, lang: str, **context: object) -> str:
    """Render a main page with the portal's language and the BX24 library."""
    return render_template(
        template,
        lang=language(lang),  # the page's words' language, so a French portal's English page says "en"
        t=texts(lang),
        bx24_js=current_app.config["B24_JS_URL"],
        matchers=rule_words,
        **context,
    )
