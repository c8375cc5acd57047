"""POST /activity/<id>/create: add a linked app activity from one of the portal's templates.

The new activity is bound to the opened activity's owner, made as the user (their permissions apply,
they are responsible) with app.activities.rest_app, its template filled from the opened activity's fields.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from app.activities import templates
from app.activities.rest_app import Created, create_app_activity
from app.bitrix24 import activities
from app.layout import LayoutError
from app.main.texts import problem_text, texts
from app.timeline.access import Acting
from app.timeline.actions import Problem, act
from app.timeline.blueprint import bp


@bp.post("/activity/<int:activity_id>/create")
def create_from_template(activity_id: int) -> ResponseReturnValue:
    """Make a linked app activity from the chosen template and show the page again with what happened."""

    def action(who: Acting, lang: str) -> str:
        t = texts(lang)
        found = templates.find_template(who.portal.member_id, request.form.get("template_id", ""), lang)
        if found is None:
            raise Problem(t["create_no_template"], 404)
        template = templates.in_language(found, lang)
        try:
            created, subject = create_linked(who, activity_id, template)
        except LayoutError as error:
            first = error.problems[0]
            path = first.path or "layout"
            raise Problem(
                t["create_bad_template"].format(
                    name=template.name, path=path, message=problem_text(first, lang)
                ),
                422,
            ) from None
        key = "create_fallback" if created.fallback else "create_done"
        return t[key].format(subject=subject or t["create_no_subject"], name=template.name)

    return act("create", activity_id, action)


def create_linked(who: Acting, activity_id: int, template: templates.Filled) -> tuple[Created, str]:
    """Read the opened activity as the user, fill the template from it, create on the same owner.

    Returns what was made and its subject, by which the notice names it."""
    opened = who.client.run(activities.get(activity_id))
    rendered = templates.render(template, opened.fields)
    return create_app_activity(
        who.client,
        owner_type_id=opened.owner_type_id,
        owner_id=opened.owner_id,
        subject=rendered.subject,
        description=rendered.description,
        layout=rendered.layout,
        responsible_id=who.page.user_id,
    ), rendered.subject


@bp.app_template_global()
def create_form_texts(lang: str) -> dict[str, str]:
    """The create form's words (kept with the main page's, app.main.texts)."""
    return texts(lang)
