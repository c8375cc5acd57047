"""The shipped activity templates, in the language of the portal that gets them or of the user who sees them.

A portal is seeded in the language its install (or first page) carries. A default nobody has edited — a row
still equal to the shipped template in any of the catalogs' languages, the English seeds of older installs
included — is the app's own text, so it is shown and filled in the viewer's language; once an administrator
changes it, it is theirs and stays as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from app.i18n import LOCALES, N_, gettext, locale_for

# Where a default's words are: its name, subject and description, and the layout's titles and texts.
WORDS = frozenset({"name", "subject", "description", "title", "text", "value"})


def _text(value: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"value": value}}


def _titled(title: str, value: str) -> dict[str, Any]:
    return {"type": "withTitle", "properties": {"title": title, "block": _text(value)}}


DEFAULTS: tuple[dict[str, Any], ...] = (
    {
        "name": N_("Follow-up call"),
        "subject": N_("Follow-up call: {{SUBJECT}}"),
        "description": N_("Call back about \u201c{{SUBJECT}}\u201d (activity #{{ID}})."),
        "layout": {
            "blocks": {
                "about": _titled(N_("About"), "{{SUBJECT}}"),
                "source": {
                    "type": "link",
                    "properties": {
                        "text": N_("Activity #{{ID}}"),
                        "action": {"type": "redirect", "uri": "/crm/activity/?open_view={{ID}}"},
                    },
                },
            }
        },
    },
    {
        "name": N_("Send the offer"),
        "subject": N_("Send the offer: {{SUBJECT}}"),
        "description": N_("Prepare and send the commercial offer discussed in \u201c{{SUBJECT}}\u201d."),
        "layout": {
            "blocks": {
                "step": _titled(N_("Next step"), N_("Send the offer")),
                "context": {"type": "largeText", "properties": {"value": "{{DESCRIPTION}}"}},
            }
        },
    },
    {
        "name": N_("Meeting notes"),
        "subject": N_("Meeting notes: {{SUBJECT}}"),
        "description": N_("Notes of the meeting about \u201c{{SUBJECT}}\u201d."),
        "layout": {
            "blocks": {
                "meeting": _titled(N_("Meeting"), "{{SUBJECT}}"),
                "notes": {"type": "largeText", "properties": {"value": "{{DESCRIPTION}}"}},
            }
        },
    },
)


@dataclass(frozen=True)
class Shown:
    """A template as one user sees it: an unedited default in their language, any other as written."""

    id: int
    name: str
    subject: str
    description: str
    layout: dict[str, Any]


def default_templates(lang: str | None) -> list[dict[str, Any]]:
    """The shipped templates' values (name, subject, description, layout) in the language LANG asks for."""
    return json.loads(_defaults_json(locale_for(lang)))


@cache
def _defaults_json(locale: str) -> str:
    return json.dumps([_translated(default, locale, None) for default in DEFAULTS])


def _translated(value: Any, locale: str, key: str | None) -> Any:
    """Each word of a default (see WORDS) in `locale`; placeholders, types and addresses as they are."""
    if isinstance(value, dict):
        return {name: _translated(item, locale, name) for name, item in value.items()}
    if isinstance(value, str) and key in WORDS:
        return gettext(locale, value)
    return value


def fingerprint(name: str, subject: str, description: str, layout: Any) -> str:
    """What a template says, as one comparable text."""
    return json.dumps([name, subject, description, layout], sort_keys=True, ensure_ascii=False)


@cache
def _unedited() -> dict[str, int]:
    """Every shipped default in every catalog's language, to the default's position in DEFAULTS."""
    return {
        fingerprint(**values): position
        for locale in LOCALES
        for position, values in enumerate(default_templates(locale))
    }


def default_position(name: str, subject: str, description: str, layout: Any) -> int | None:
    """Which shipped default a template still is word for word (in any language); None once edited."""
    return _unedited().get(fingerprint(name, subject, description, layout))


def shown(template_id: int, values: dict[str, Any], lang: str | None) -> Shown:
    """The template as a user of language `lang` sees and fills it."""
    position = default_position(values["name"], values["subject"], values["description"], values["layout"])
    if position is not None:
        values = default_templates(lang)[position]
    return Shown(template_id, values["name"], values["subject"], values["description"], values["layout"])
