"""Activity templates: a portal's ready-made app activities (subject, description, content blocks).

Administrators manage them per portal (the main page, `flask --app app templates …`). `{{FIELD}}` placeholders
in the subject, the description and the layout's text values are filled from an activity's fields (the
opened activity on the activity page, the request's own fields in the API), with the same rendering and
checks as the enrichment rules (app.inbox.enrichment, app.layout).

Defaults reach a portal once: at install (or the first time its templates are read, for older installs) a
portal that was never seeded gets the shipped ones as ordinary rows in its language (app.activities.defaults)
and a marker row, so administrators edit or delete them like any other; deleting them all does not bring
them back. The marker's primary key settles two first reads racing. Lists for people go through
`shown_templates`: a default nobody edited speaks the viewer's language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from app.activities.defaults import Shown, default_templates, shown
from app.activities.placeholders import (
    FIELD_NAMES,
    check_template,
    fill_values,
    layout_json,
    render_layout,
    unknown_placeholder,
)
from app.extensions import db
from app.i18n import N_, NP_, Refusal
from app.inputs import as_id
from app.layout import LayoutError, Problem, fill, placeholders
from app.models import ActivityTemplate, TemplateSeed

log = logging.getLogger(__name__)
NAME_LENGTH = 255
SUBJECT_LENGTH = 512
DESCRIPTION_LENGTH = 10_000


class TemplateError(Refusal):
    """A template that cannot be saved for a reason other than its layout (name, subject, JSON)."""


# Each text field's refusals: when it is missing (None: it may be empty) and when it is too long.
BOUNDS: dict[str, tuple[tuple[str, str] | None, tuple[str, str]]] = {
    "name": (
        NP_(
            "a template needs a name of 1 to {count} character",
            "a template needs a name of 1 to {count} characters",
        ),
        NP_("the name is longer than {count} character", "the name is longer than {count} characters"),
    ),
    "subject": (
        NP_(
            "a template needs a subject of 1 to {count} character",
            "a template needs a subject of 1 to {count} characters",
        ),
        NP_("the subject is longer than {count} character", "the subject is longer than {count} characters"),
    ),
    "description": (
        None,
        NP_(
            "the description is longer than {count} character",
            "the description is longer than {count} characters",
        ),
    ),
}


class Filled(Protocol):
    """What rendering reads of a template: a row, or a row as one user sees it (defaults.Shown)."""

    @property
    def name(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def layout(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Rendered:
    """A template filled for one activity: what crm.activity.add and blocks.set get."""

    subject: str
    description: str
    layout: dict[str, Any]


# --- reading ---


# A portal's templates by name; built once, since every activity page reads it (building it cost ~0.1 ms).
LISTED = (
    select(ActivityTemplate)
    .where(ActivityTemplate.member_id == bindparam("member_id"))
    .order_by(ActivityTemplate.name, ActivityTemplate.id)
)


def portal_templates(member_id: str, lang: str | None = None, *, seed: bool = True) -> list[ActivityTemplate]:
    """The portal's templates by name, seeding the defaults (in `lang`) first if it never had them.

    A portal with templates was seeded (add_template seeds first), so only an empty list asks for the
    seed marker: one query per page that shows the list, not two. `seed=False` only reads.
    """
    listed = list(db.session.scalars(LISTED, {"member_id": member_id}))
    if listed or not seed or not seed_defaults(member_id, lang):
        return listed
    return list(db.session.scalars(LISTED, {"member_id": member_id}))


def shown_templates(member_id: str, lang: str | None, *, seed: bool = True) -> list[Shown]:
    """The portal's templates as a user of language `lang` sees them, by the name they see."""
    return sorted(
        (in_language(template, lang) for template in portal_templates(member_id, lang, seed=seed)),
        key=lambda template: (template.name.casefold(), template.id),
    )


def in_language(template: ActivityTemplate, lang: str | None) -> Shown:
    """One template as a user of language `lang` sees and fills it (an unedited default translated)."""
    return shown(template.id, as_dict(template), lang)


def find_template(member_id: str, reference: Any, lang: str | None = None) -> ActivityTemplate | None:
    """One of the portal's templates by id (a number) or by name; None if it has none such."""
    text = str(reference if reference is not None else "").strip()
    if not text:
        return None
    seed_defaults(member_id, lang)
    query = select(ActivityTemplate).where(ActivityTemplate.member_id == member_id)
    template_id = as_id(reference)
    if template_id is not None:
        found = db.session.scalar(query.where(ActivityTemplate.id == template_id))
        if found is not None:
            return found
    if isinstance(reference, int) or len(text) > 255:  # no name is a number or longer than the column
        return None
    return db.session.scalar(query.where(ActivityTemplate.name == text))


def seed_defaults(member_id: str, lang: str | None = None) -> bool:
    """Give a never-seeded portal the shipped templates in `lang` and commit; False when it had them already.

    Call it before staging other changes in the session: a concurrent seeding wins the marker's primary key
    and this one rolls back.
    """
    if db.session.get(TemplateSeed, member_id) is not None:
        return False
    db.session.add(TemplateSeed(member_id=member_id))
    for default in default_templates(lang):
        db.session.add(ActivityTemplate(member_id=member_id, **default))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another request seeded it first
        return False
    log.info("member_id=%s: default activity templates added (%s)", member_id, lang or "en")
    return True


# --- changing (the caller commits) ---


def add_template(member_id: str, data: Mapping[str, Any], lang: str | None = None) -> ActivityTemplate:
    """Validate and stage a new template; TemplateError or LayoutError (problems by path) if unfit."""
    values = validate(data)
    seed_defaults(member_id, lang)
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
        raise TemplateError(N_("this portal already has a template named \u201c{name}\u201d"), name=name)


# --- validation ---


def validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Checked template values from form, CLI or API data; TemplateError or LayoutError when unfit."""
    name = _bounded(data.get("name"), "name", NAME_LENGTH)
    subject = _bounded(data.get("subject"), "subject", SUBJECT_LENGTH)
    description = _bounded(data.get("description"), "description", DESCRIPTION_LENGTH)
    layout = layout_json(data.get("layout"), refuse=TemplateError)
    problems = _text_problems("subject", subject) + _text_problems("description", description)
    if problems:
        raise LayoutError(problems)
    check_template(layout)
    return {"name": name, "subject": subject, "description": description, "layout": layout}


def _bounded(raw: Any, field: str, length: int) -> str:
    text = str(raw).strip() if raw is not None else ""
    missing, too_long = BOUNDS[field]
    if missing is not None and not text:
        raise TemplateError(missing, length)
    if len(text) > length:
        raise TemplateError(too_long, length)
    return text


def _text_problems(path: str, text: str) -> list[Problem]:
    return [unknown_placeholder(path, name) for name in sorted(placeholders(text)) if name not in FIELD_NAMES]


# --- rendering ---


def render(template: Filled, fields: Mapping[str, Any]) -> Rendered:
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
