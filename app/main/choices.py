"""What a rule's matchers may be: kinds, activity types, owner types and directions, in the page's language.

The options are the ones a rule can match on, named by the app's catalogs (the page is in the viewer's
language; crm.enum.* answers in the portal's, notes §8). Only the portal can tell the app's own activity types
and its smart processes: the main page reads them in its one batch (open_page); after a rule's POST the rules
section asks again in one batch. The owner types are those that carry activities: crm.enum.ownertype also
lists old invoices, requisites and documents, which have no timeline of their own to match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.bitrix24.client import BatchResult, Client
from app.bitrix24.errors import Bitrix24Error
from app.i18n import N_, pgettext, translated
from app.models import EnrichmentRule
from app.portals.registration import type_titles

CHOICE_COMMANDS: dict[str, tuple[str, dict[str, Any]]] = {
    "types": ("crm.activity.type.list", {}),  # the app's own types, also one of HEALTH_COMMANDS
    "smart_types": ("crm.type.list", {}),  # the smart processes, by their titles; also one of HEALTH_COMMANDS
}
# PROVIDER_ID values an activity of this app, or a common portal one, carries (crm.activity.fields).
PROVIDERS: tuple[tuple[str, str], ...] = (
    ("CRM_TODO", "CRM_TODO"),
    ("CRM_MEETING", "1"),
    ("CRM_EMAIL", "4"),
    ("REST_APP", "REST_APP"),
    ("CONFIGURABLE_REST_APP", "CONFIGURABLE_REST_APP"),
)
DIRECTIONS: dict[int, str] = {1: N_("Incoming"), 2: N_("Outgoing")}  # crm.enum.activitydirection
Options = list[tuple[str, str]]  # (value, label)


@dataclass(frozen=True)
class Choices:
    """The options of each matcher select, as (value, label) pairs; "" (any) is the template's own."""

    providers: Options = field(default_factory=list)
    types: Options = field(default_factory=list)
    owner_types: Options = field(default_factory=list)
    directions: Options = field(default_factory=list)

    def label(self, matcher: str, value: object) -> str:
        """A stored matcher value by name (the value itself when the portal has no name for it)."""
        options: Options = getattr(self, matcher)
        return next((name for key, name in options if key == str(value)), str(value))


def choices_from(found: BatchResult, lang: str) -> Choices:
    """The options from a batch that ran CHOICE_COMMANDS (alone or with others); the app's names if not."""
    # Read here, not at import: app.main.pages imports this module before the timeline package may load.
    from app.timeline.texts import OWNER_TYPES

    app_types = _rows(found, "types")
    smart = type_titles(found.results.get("smart_types"))
    return Choices(
        providers=[(value, _provider_label(value, key, app_types, lang)) for value, key in PROVIDERS],
        types=[(key, name) for key, name in _activity_types(lang).items() if key.isdigit()],
        owner_types=[(str(key), name) for key, name in translated(OWNER_TYPES, lang).items()]
        + [(str(key), title) for key, title in sorted(smart.items())],
        directions=[(str(key), name) for key, name in translated(DIRECTIONS, lang).items()],
    )


def read_choices(client: Client, lang: str) -> Choices:
    """Ask the portal for the options in one batch; the app's own names when it cannot answer."""
    try:
        found = client.batch(CHOICE_COMMANDS)
    except Bitrix24Error:
        found = BatchResult()
    return choices_from(found, lang)


def rule_words(rule: EnrichmentRule, choices: Choices | None) -> str:
    """A rule's matchers in words for its row: "To-do · Deal", or "any activity"."""
    choices = choices or Choices()
    parts = [
        choices.label(matcher, value)
        for matcher, value in (
            ("providers", rule.provider_id),
            ("types", rule.type_id),
            ("owner_types", rule.owner_type_id),
            ("directions", rule.direction),
        )
        if value is not None
    ]
    return " · ".join(parts)


def _rows(found: BatchResult, key: str) -> list[Mapping[str, Any]]:
    rows = found.results.get(key)
    return [row for row in rows if isinstance(row, Mapping)] if isinstance(rows, list) else []


def _activity_types(lang: str) -> dict[str, str]:
    from app.timeline.texts import ACTIVITY_TYPE, ACTIVITY_TYPES  # see choices_from

    return {key: pgettext(lang, ACTIVITY_TYPE, words) for key, words in ACTIVITY_TYPES.items()}


def _provider_label(provider: str, key: str, app_types: list[Mapping[str, Any]], lang: str) -> str:
    """The provider's name; the app's own types (crm.activity.type.list) named after REST_APP's."""
    label = _activity_types(lang)[key]
    configurable = provider == "CONFIGURABLE_REST_APP"
    names = [
        str(row.get("NAME") or row.get("TYPE_ID"))
        for row in app_types
        if (row.get("IS_CONFIGURABLE_TYPE") == "Y") == configurable
    ]
    if not names or provider not in ("REST_APP", "CONFIGURABLE_REST_APP"):
        return label
    return f"{label} ({', '.join(names)})"
