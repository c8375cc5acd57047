"""The app's configurable activities: their layout, their creation, and the states their buttons lead to.

A configurable activity (notes §6.3) shows an icon, a header with the user's tags, body blocks (the text,
the deadline, a status line) and two footer buttons, "Mark done" and "Snooze a day". Each button is a
`restEvent` action (notes §3.6): a click reaches POST /events as ONCRMTIMELINEITEMACTION with the button's
`actionParams`, which carry the action and the layout's revision (`rev`). Every re-render raises the
revision, so inbox.item_actions can tell a click on the current buttons from one it has already carried out.

The kanban badge (manifest.json `badges`) is registered at install by portals.registration: badge.add needs a
CRM administrator, and the installer is one, while the users who create these activities need not be. A
portal that refuses the badge code still gets the activity: creation is retried once without it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from app.bitrix24 import activities
from app.bitrix24.client import Client
from app.bitrix24.errors import NotFound, ValidationError
from app.i18n import LOCALES, N_, gettext, portal_language
from app.inputs import MAX_ID, as_id, bounded_int, plausible_date
from app.layout import (
    Body,
    ButtonType,
    ConfigurableLayout,
    Deadline,
    Footer,
    Header,
    Icon,
    LargeText,
    Logo,
    ParamValue,
    Tag,
    Text,
    TextWithTranslation,
    WithTitle,
    parse_configurable_layout,
    rest_event,
    validate_configurable_layout,
)
from app.layout import Button as LayoutButton

log = logging.getLogger(__name__)

BADGE_CODE = "timeline_bridge_action"  # manifest.json `badges`
ICON = "attention"  # crm.timeline.icon.list
LOGO = "info"  # crm.timeline.logo.list
DONE, SNOOZE = "done", "snooze"  # the restEvent ids, also actionParams["action"]
ACTIONS = (DONE, SNOOZE)
# The app's own words go in every catalog's language, by the portal's ids (textWithTranslation, notes §6.2):
# B24.Cloud has them all. A portal that lacks one (a box has one or two) refuses it (WRONG_LANG); the item is
# then made again in English and its creator's language, which the portal does have.
LANGUAGES = tuple(portal_language(locale) for locale in LOCALES)  # en ru de ua pl la br
MAX_TITLE, MAX_TEXT, MAX_TAG, MAX_TAGS = 255, 5000, 40, 2

WORDS: dict[str, str] = {
    "done_button": N_("Mark done"),
    "snooze_button": N_("Snooze a day"),
    "deadline": N_("Deadline"),
    "status": N_("Status"),
    "open": N_("Open"),
    # By the clicking user's name (their `profile`, which the worker reads anyway); by id when it has none.
    "done": N_("Done by {user} on {when}"),
    "snoozed": N_("Snoozed by {user} on {when} until {until}"),
    "done_by_id": N_("Done on {when} by the user with ID {user}"),
    "snoozed_by_id": N_("Snoozed on {when} until {until} by the user with ID {user}"),
}


class ItemProblem(ValueError):
    """An input the activity cannot be made from; `field` names it, `code` says what is wrong."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code  # "required", "too_long", "too_many", "not_a_date", "not_an_id"


@dataclass(frozen=True)
class Item:
    """What a new configurable activity says: plain, checked inputs."""

    title: str
    text: str = ""
    tags: tuple[str, ...] = ()
    deadline: datetime | str | None = None  # aware, or the portal's local time as "YYYY-MM-DDTHH:MM"
    responsible_id: int | None = None


def read_item(
    *, title: str, text: str = "", tags: str = "", deadline: str = "", responsible: str = ""
) -> Item:
    """Check form-like inputs (tags comma-separated) and build the Item; raise ItemProblem."""
    title, text = title.strip(), text.strip()
    if not title:
        raise ItemProblem("title", "required")
    if len(title) > MAX_TITLE:
        raise ItemProblem("title", "too_long")
    if len(text) > MAX_TEXT:
        raise ItemProblem("text", "too_long")
    return Item(title, text, _tags(tags), _deadline(deadline), _responsible(responsible))


def _tags(raw: str) -> tuple[str, ...]:
    tags = tuple(tag.strip() for tag in raw.split(",") if tag.strip())
    if len(tags) > MAX_TAGS:
        raise ItemProblem("tags", "too_many")
    if any(len(tag) > MAX_TAG for tag in tags):
        raise ItemProblem("tags", "too_long")
    return tags


def _deadline(raw: str) -> str | None:
    """A datetime-local value ("2026-11-26T10:00"), kept as the portal's local time."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ItemProblem("deadline", "not_a_date") from None
    if not plausible_date(parsed):
        raise ItemProblem("deadline", "not_a_date")
    return parsed.isoformat(timespec="seconds")


def _responsible(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    responsible = as_id(raw)
    if responsible is None:
        raise ItemProblem("responsible", "not_an_id")
    return responsible


# --- layouts ------------------------------------------------------------------------------------------------


Languages = tuple[str, ...]


def languages_for(lang: str | None) -> Languages:
    """English (every portal's fallback) and the language of the user making the item (the portal has it)."""
    own = portal_language(lang)
    return ("en",) if own == "en" else ("en", own)


def languages_of(layout: ConfigurableLayout) -> Languages:
    """The languages an item's own words were accepted in (its status line's title), to render it again."""
    status = layout.body.blocks.get("status")
    title = getattr(status, "title", None)
    return tuple(title) if isinstance(title, Mapping) and title else ("en",)


def translated(key: str, languages: Languages, **values: str) -> TextWithTranslation:
    """One of the app's own phrases in each of `languages` (the portal's language ids)."""
    return {lang: gettext(lang, WORDS[key]).format(**values) for lang in languages}


def build_layout(item: Item, *, rev: int = 1, languages: Languages = LANGUAGES) -> ConfigurableLayout:
    """The layout of an open item: icon, header with tags, text, deadline, status, the two buttons."""
    tags = {f"tag{n}": Tag(tag, "primary") for n, tag in enumerate(item.tags)}
    blocks: dict[str, Any] = {"text": LargeText(item.text)} if item.text else {}
    blocks["deadline"] = WithTitle(translated("deadline", languages), block=Deadline(readonly=False))
    blocks["status"] = status_block(translated("open", languages), languages)
    layout = ConfigurableLayout(
        icon=Icon(ICON),
        header=Header(item.title, tags=tags or None),
        body=Body(Logo(LOGO), blocks),
        footer=buttons(rev, languages),
    )
    validate_configurable_layout(layout, languages=languages)
    return layout


def status_block(words: TextWithTranslation, languages: Languages) -> WithTitle:
    return WithTitle(translated("status", languages), inline=True, block=Text(words))


def buttons(rev: int, languages: Languages) -> Footer:
    """The footer's restEvent buttons; `rev` tells a click on them from one on an earlier rendering."""

    def button(action: str, kind: ButtonType) -> LayoutButton:
        params: dict[str, ParamValue] = {"action": action, "rev": rev}
        title = translated(f"{action}_button", languages)
        return LayoutButton(title, kind, rest_event(action, params, animation="loader"))

    return Footer(buttons={DONE: button(DONE, "primary"), SNOOZE: button(SNOOZE, "secondary")})


def by_whom(key: str, user_id: str, name: str) -> tuple[str, str]:
    """The phrase for a status line and who goes in it: the user's name, else their id in other words."""
    return (key, name) if name else (f"{key}_by_id", user_id)


def done_layout(
    current: ConfigurableLayout, *, user_id: str, at: datetime, user_name: str = ""
) -> ConfigurableLayout:
    """The item after "Mark done": who did it and when, a read-only deadline, no buttons."""
    languages = languages_of(current)
    key, user = by_whom("done", user_id, user_name)
    status = status_block(translated(key, languages, user=user, when=when(at)), languages)
    blocks = {**current.body.blocks, "status": status}
    if "deadline" in blocks:
        blocks["deadline"] = WithTitle(translated("deadline", languages), block=Deadline(readonly=True))
    return replace(current, body=replace(current.body, blocks=blocks), footer=None)


def snoozed_layout(
    current: ConfigurableLayout, *, user_id: str, at: datetime, until: datetime, rev: int, user_name: str = ""
) -> ConfigurableLayout:
    """The item after "Snooze a day": who snoozed it until when, and the buttons of the next revision."""
    languages = languages_of(current)
    key, user = by_whom("snoozed", user_id, user_name)
    words = translated(key, languages, user=user, when=when(at), until=when(until))
    blocks = {**current.body.blocks, "status": status_block(words, languages)}
    return replace(current, body=replace(current.body, blocks=blocks), footer=buttons(rev, languages))


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def revision(layout: ConfigurableLayout) -> int | None:
    """The revision the layout's buttons carry; None when it has no buttons (done, or not ours)."""
    if layout.footer is None or not layout.footer.buttons:
        return None
    for button in layout.footer.buttons.values():
        params: Mapping[str, Any] = getattr(button.action, "action_params", None) or {}
        rev = bounded_int(params.get("rev"), -1, low=0, high=MAX_ID)
        if rev >= 0:
            return rev
    return None


def read_layout(raw: Any) -> ConfigurableLayout:
    """The layout as crm.activity.configurable.get returns it, typed (LayoutError if it is not one).

    Unset optional fields may come back as nulls; they are dropped, as the app never sends them.
    """
    return parse_configurable_layout(_without_nulls(raw))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


# --- the portal ---------------------------------------------------------------------------------------------


def item_fields(item: Item, *, badge: str) -> dict[str, Any]:
    """The configurable activity's `fields` (notes §6.3)."""
    fields: dict[str, Any] = {"completed": False}
    if badge:
        fields["badgeCode"] = badge
    if item.deadline is not None:
        deadline = item.deadline
        fields["deadline"] = deadline.isoformat() if isinstance(deadline, datetime) else deadline
    if item.responsible_id is not None:
        fields["responsibleId"] = item.responsible_id
    return fields


def add_configurable(
    client: Client,
    *,
    owner_type_id: int,
    owner_id: int,
    item: Item,
    badge: str = BADGE_CODE,
    lang: str | None = None,
) -> int:
    """Create the configurable activity on the owner; return its id.

    Its words go in every catalog's language; a portal without one of them gets English and `lang` (the
    creator's). A refused badge is left off. Each fallback is tried once.
    """
    languages, fewer = LANGUAGES, languages_for(lang)
    while True:
        layout = build_layout(item, languages=languages).to_wire()
        try:
            return _add(client, owner_type_id, owner_id, layout, item_fields(item, badge=badge))
        except (ValidationError, NotFound) as error:
            if error.code == "WRONG_LANG" and languages != fewer:
                log.info("the portal lacks a language of %s; the item goes in %s", languages, fewer)
                languages = fewer
            elif badge and "badge" in f"{error.code} {error.description}".lower():
                log.warning("badge %s refused (%s); creating the activity without it", badge, error.code)
                badge = ""
            else:
                raise


def _add(
    client: Client, owner_type_id: int, owner_id: int, layout: Mapping[str, Any], fields: Mapping[str, Any]
) -> int:
    return client.run(activities.configurable_add(owner_type_id, owner_id, layout, fields))
