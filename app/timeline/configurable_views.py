"""POST /activity/<id>/configurable: add a configurable activity with buttons to the opened activity's owner.

Form fields: page_token, lang, title (required), text, tags (comma-separated, at most two), deadline
(datetime-local, the portal's time), responsible (a user id picked by name; without JavaScript
`responsible_query`, the typed name, app.timeline.picker_views). The opened activity is read as the user to
find its owner, and the new one is created as the user (their permissions apply) with activities.configurable.
Its buttons' clicks come back as ONCRMTIMELINEITEMACTION events (app.inbox.item_actions).
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from app.activities import configurable
from app.bitrix24 import activities
from app.bitrix24.errors import InvalidParameter
from app.layout import LayoutError
from app.main.texts import problem_text
from app.timeline import configurable_texts as ct
from app.timeline.access import Acting
from app.timeline.actions import Problem, act
from app.timeline.blueprint import bp
from app.timeline.picker_views import chosen_user

FIELDS = ("title", "text", "tags", "deadline", "responsible")


@bp.post("/activity/<int:activity_id>/configurable")
def add_configurable(activity_id: int) -> ResponseReturnValue:
    """Check the form, create the activity on the same owner, and show the page with what happened."""

    def action(who: Acting, lang: str) -> str:
        try:
            fields = {name: request.form.get(name, "") for name in FIELDS}
            if not fields["responsible"].strip():  # picked by name: the one user the typed text names
                fields["responsible"] = str(chosen_user(who, "responsible", lang, required=False) or "")
            item = configurable.read_item(**fields)
            create_beside(who, activity_id, item, lang)
        except configurable.ItemProblem as bad:
            raise Problem(ct.problem_words(bad, lang)) from None
        except LayoutError as error:
            first = error.problems[0]
            raise Problem(bad_layout(first.path or "layout", problem_text(first, lang), lang)) from None
        except InvalidParameter as error:
            message = error.description.removeprefix(f"{error.parameter}: ")
            raise Problem(bad_layout(error.parameter, message, lang)) from None
        return ct.texts(lang)["created"].format(title=item.title)

    return act("configurable", activity_id, action)


def bad_layout(path: str, message: str, lang: str) -> str:
    return ct.texts(lang)["bad_layout"].format(path=path, message=message)


def create_beside(who: Acting, activity_id: int, item: configurable.Item, lang: str) -> int:
    """Read the opened activity as the user and create the configurable one on its owner."""
    opened = who.client.run(activities.get(activity_id))
    return configurable.add_configurable(
        who.client, owner_type_id=opened.owner_type_id, owner_id=opened.owner_id, item=item, lang=lang
    )


@bp.app_template_global()
def configurable_form_texts(lang: str) -> dict[str, str]:
    """The configurable form's words (templates/timeline/_configurable_form.html)."""
    return ct.texts(lang)
