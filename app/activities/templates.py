"""Activity templates: a portal's ready-made app activities (subject, description, content blocks).

Administrators manage them per portal (the main page, `flask --app app templates …`). `{{FIELD}}` placeholders
in the subject, the description and the layout's text values are filled from an activity's fields (the
opened activity on the activity page, the request's own fields in the API), with the same rendering and
checks as the enrichment rules (app.inbox.enrichment, app.layout).

Defaults reach a portal once: the first time its templates are read, a portal that was never seeded gets
the shipped ones as ordinary rows (and a marker row), so administrators edit or delete them like any other;
deleting them all does not bring them back. The marker's primary key settles two first reads racing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.activities.placeholders import FIELD_NAMES, check_template, fill_values, layout_json, render_layout
from app.extensions import db
from app.inputs import as_id
from app.layout import Code, LayoutError, Problem, fill, placeholders
from app.models import ActivityTemplate, TemplateSeed

log = logging.getLogger(__name__)
NAME_LENGTH = 255
SUBJECT_LENGTH = 512
DESCRIPTION_LENGTH = 10_000


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"value": value}}


def _titled(title: str, value: str) -> dict[str, Any]:
    return {"type": "withTitle", "properties": {"title": title, "block": _text(value)}}


DEFAULTS: tuple[dict[str, Any], ...] = (
    {
        "name": "Follow-up call",
        "subject": "Follow-up call: {{SUBJECT}}",
        "description": "Call back about \u201c{{SUBJECT}}\u201d (activity #{{ID}}).",
        "layout": {
            "blocks": {
                "about": _titled("About", "{{SUBJECT}}"),
                "source": {
                    "type": "link",
                    "properties": {
                        "text": "Activity #{{ID}}",
                        "action": {"type": "redirect", "uri": "/crm/activity/?open_view={{ID}}"},
                    },
                },
            }
        },
    },
    {
        "name": "Send the offer",
        "subject": "Send the offer: {{SUBJECT}}",
        "description": "Prepare and send the commercial offer discussed in \u201c{{SUBJECT}}\u201d.",
        "layout": {
            "blocks": {
                "step": _titled("Next step", "Send the offer"),
                "context": {"type": "largeText", "properties": {"value": "{{DESCRIPTION}}"}},
            }
        },
    },
    {
        "name": "Meeting notes",
        "subject": "Meeting notes: {{SUBJECT}}",
        "description": "Notes of the meeting about \u201c{{SUBJECT}}\u201d.",
        "layout": {
            "blocks": {
                "meeting": _titled("Meeting", "{{SUBJECT}}"),
                "notes": {"type": "largeText", "properties": {"value": "{{DESCRIPTION}}"}},
            }
        },
    },
)


class TemplateError(ValueError):
    """A template that cannot be saved for a reason other than its layout (name, subject, JSON)."""


@dataclass(frozen=True)
class Rendered:
    """A template filled for one activity: what crm.activity.add and blocks.set get."""

    subject: str
    description: str
    layout: dict[str, Any]


# --- reading ---


def portal_templates(member_id: str) -> list[ActivityTemplate]:
    """The portal's templates by name, seeding the defaults first if it never had them.

    A portal with templates was seeded (add_template seeds first), so only an empty list asks for the
    seed marker: one query per page that shows the list, not two.
    """
    query = select(ActivityTemplate).where(ActivityTemplate.member_id == member_id)
    query = query.order_by(ActivityTemplate.name, ActivityTemplate.id)
    listed = list(db.session.scalars(query))
    if listed or not seed_defaults(member_id):
        return listed
    return list(db.session.scalars(query))


def find_template(member_id: str, reference: Any) -> ActivityTemplate | None:
    """One of the portal's templates by id (a number) or by name; None if it has none such."""
    text = str(reference if reference is not None else "").strip()
    if not text:
        return None
    seed_defaults(member_id)
    query = select(ActivityTemplate).where(ActivityTemplate.member_id == member_id)
    template_id = as_id(reference)
    if template_id is not None:
        found = db.session.scalar(query.where(ActivityTemplate.id == template_id))
        if found is not None:
            return found
    if isinstance(reference, int) or len(text) > 255:  # no name is a number or longer than the column
        return None
    return db.session.scalar(query.where(ActivityTemplate.name == text))


def seed_defaults(member_id: str) -> bool:
    """Give a never-seeded portal the shipped templates and commit; False when it had them already.

    Call it before staging other changes in the session: a concurrent seeding wins the marker's primary key
    and this one rolls back.
    """
    if db.session.get(TemplateSeed, member_id) is not None:
        return False
    db.session.add(TemplateSeed(member_id=member_id))
    for default in DEFAULTS:
        db.session.add(ActivityTemplate(member_id=member_id, **json.loads(json.dumps(default))))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another request seeded it first
        return False
    log.info("member_id=%s: default activity templates added", member_id)
    return True


# --- changing (the caller commits) ---


def add_template(member_id: str, data: Mapping[str, Any]) -> ActivityTemplate:
    """Validate and stage a new template; TemplateError or LayoutError (problems by path) if unfit."""
    values = validate(data)
    seed_defaults(member_id)
    _refuse_taken(member_id, values["name"], None)
    template = ActivityTemplate(member_id=member_id, **values)
    db.session.add(template)
    return template


def update_template(template: ActivityTemplate, data: Mapping[str, Any]) -> ActivityTemplate:
    """Validate and stage new values for a template (missing keys keep theirs); errors as add_template."""
    current = {
        "name": template.name,
        "subject": template.subject,
        "description": template.description,
        "layout": template.layout,
    }
    values = validate({**current, **{k: v for k, v in data.items() if k in current and v is not None}})
    _refuse_taken(template.member_id, values["name"], template.id)
    for key, value in values.items():
        setattr(template, key, value)
    return template


def delete_template(template: ActivityTemplate) -> None:
    """Stage the template's deletion; activities made from it stay as they are."""
    db.session.delete(template)


def _refuse_taken(member_id: str, name: str, own_id: int | None) -> None:
    query = select(ActivityTemplate.id).where(
        ActivityTemplate.member_id == member_id, ActivityTemplate.name == name
    )
    taken = db.session.scalar(query)
    if taken is not None and taken != own_id:
        raise TemplateError(f"this portal already has a template named \u201c{name}\u201d")


# --- validation ---


def validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Checked template values from form, CLI or API data; TemplateError or LayoutError when unfit."""
    name = _bounded(data.get("name"), "the name", NAME_LENGTH, required=True)
    subject = _bounded(data.get("subject"), "the subject", SUBJECT_LENGTH, required=True)
    description = _bounded(data.get("description"), "the description", DESCRIPTION_LENGTH, required=False)
    layout = layout_json(data.get("layout"), refuse=TemplateError)
    problems = _text_problems("subject", subject) + _text_problems("description", description)
    if problems:
        raise LayoutError(problems)
    check_template(layout)
    return {"name": name, "subject": subject, "description": description, "layout": layout}


def _bounded(raw: Any, what: str, length: int, *, required: bool) -> str:
    text = str(raw).strip() if raw is not None else ""
    if required and not text:
        raise TemplateError(f"a template needs a {what.removeprefix('the ')} of 1 to {length} characters")
    if len(text) > length:
        raise TemplateError(f"{what} is longer than {length} characters")
    return text


def _text_problems(path: str, text: str) -> list[Problem]:
    return [
        Problem(Code.WRONG_FIELD_VALUE, path, f"unknown placeholder {{{{{name}}}}}: not an activity field")
        for name in sorted(placeholders(text))
        if name not in FIELD_NAMES
    ]


# --- rendering ---


def render(template: ActivityTemplate, fields: Mapping[str, Any]) -> Rendered:
    """The template filled from an activity's fields; LayoutError if the filled layout is unfit."""
    subject = _fill_text(template.subject, fields)[:SUBJECT_LENGTH].strip() or template.name
    return Rendered(
        subject=subject,
        description=_fill_text(template.description, fields),
        layout=render_layout(template.layout, fields),
    )


def _fill_text(text: str, fields: Mapping[str, Any]) -> str:
    return str(fill({"text": text}, fill_values(text, fields))["text"])


def as_dict(template: ActivityTemplate) -> dict[str, Any]:
    """The template as JSON for the API and the CLI."""
    return {
        "id": template.id,
        "name": template.name,
        "subject": template.subject,
        "description": template.description,
        "layout": template.layout,
    }
