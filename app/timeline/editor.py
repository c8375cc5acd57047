"""The block editor's words and preview (static/block-editor.js, shared/_block_editor.html), on any page.

Block types, properties and their values named for people (the wire names stay in the JSON); the portal's
own names where its UI has them (content-block.md: "Large text", colours base_50…base_90 are greys).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import get_template_attribute

from app.activities.placeholders import FIELD_NAMES
from app.i18n import N_, per_locale, translated
from app.layout import Problem
from app.timeline.blueprint import bp

TYPES: dict[str, str] = {
    "text": N_("Text"),
    "largeText": N_("Large text"),
    "link": N_("Link"),
    "deadline": N_("Deadline"),
    "withTitle": N_("Text with a title"),
    "lineOfBlocks": N_("Row of blocks"),
}
PROPERTIES: dict[str, str] = {
    "value": N_("Text"),
    "multiline": N_("Keep line breaks"),
    "bold": N_("Bold"),
    "size": N_("Size"),
    "color": N_("Colour"),
    "text": N_("Link text"),
    "action": N_("On click"),
    "readonly": N_("Read-only"),
    "title": N_("Title"),
    "inline": N_("Title on the same line"),
    "block": N_("Block"),
    "blocks": N_("Blocks in the row"),
    "uri": N_("Address"),
    "id": N_("Event name"),
}
SIZES: dict[str, str] = {
    "": N_("Normal size"),
    "xs": N_("Extra small"),
    "sm": N_("Small"),
    "md": N_("Medium"),
}
COLORS: dict[str, str] = {
    "": N_("Normal colour"),
    "base_50": N_("Light grey"),
    "base_60": N_("Grey"),
    "base_70": N_("Dark grey"),
    "base_90": N_("Almost black"),
}
ACTIONS: dict[str, str] = {
    "redirect": N_("Open a page"),
    "openRestApp": N_("Open this app in a slider"),
    "restEvent": N_("Tell this app (event)"),
}
WORDS: dict[str, str] = {
    "blocks": N_("Content blocks"),
    "add": N_("Add a block"),
    "add_child": N_("Add to the row"),
    "type": N_("Block type"),
    "up": N_("Move up"),
    "down": N_("Move down"),
    "remove": N_("Remove"),
    "json": N_("JSON (for experts)"),
    "json_label": N_("Layout (JSON)"),
    "json_hint": N_("The blocks as the portal stores them. The editor above keeps this in step."),
    "ok": N_("The blocks are valid."),
    "preview": N_("Preview"),
    "translated": N_("This text has translations: edit it in the JSON."),
    "link_invalid": N_(
        "Enter a portal path such as /crm/deal/details/1/ or a web address such as https://example.com/."
    ),
    "text_empty": N_("Enter some text: an empty block would show nothing."),
    "not_json": N_("The JSON is not valid; the editor shows the last valid blocks."),
    "field": N_("Insert a field"),
    "insert": N_("Insert"),
    "field_hint": N_("Puts the activity's field where the cursor is in the last text you edited."),
}
# "Insert a field" names the activity fields a text is most likely to show, in this order; the menu inserts
# the {{NAME}} (any other of app.activities.placeholders.FIELD_NAMES may still be typed).
FIELDS: dict[str, str] = {
    "SUBJECT": N_("Subject"),
    "DESCRIPTION": N_("Description"),
    "DEADLINE": N_("Deadline"),
    "START_TIME": N_("Start time"),
    "END_TIME": N_("End time"),
    "LOCATION": N_("Location"),
    "CREATED": N_("Created on"),
    "LAST_UPDATED": N_("Last changed on"),
    "ID": N_("Activity ID"),
    "OWNER_ID": N_("Linked item's ID"),
    "OWNER_TYPE_ID": N_("Linked item's type ID"),
    "RESPONSIBLE_ID": N_("Responsible person's ID"),
    "AUTHOR_ID": N_("Author's ID"),
    "ORIGIN_ID": N_("ID in the source system"),
}


@bp.app_template_global()
def block_editor_texts(lang: str) -> dict[str, Any]:
    """Everything the editor says, in the page's language (read by block-editor.js from a JSON script)."""
    return {**editor_words(lang), "lang": lang}  # the page's own LANG: not part of the per-locale table


@per_locale
def editor_words(locale: str) -> dict[str, Any]:
    """The editor's words and the names of block types, properties, sizes, colours and actions."""
    return {
        **translated(WORDS, locale),
        "types": translated(TYPES, locale),
        "props": translated(PROPERTIES, locale),
        "sizes": translated(SIZES, locale),
        "colors": translated(COLORS, locale),
        "actions": translated(ACTIONS, locale),
    }


@bp.app_template_global()
def block_editor_fields(lang: str) -> list[tuple[str, str]]:
    """The (NAME, name in `lang`) pairs "Insert a field" offers in a rule's or template's editor."""
    return [(name, words) for name, words in translated(FIELDS, lang).items() if name in FIELD_NAMES]


@bp.app_template_filter("editor_problems")
def editor_problems(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """A refusal's problems as the editor's live check answers them, to show next to the fields at start."""
    return [problem.to_dict() for problem in problems]


def preview_html(blocks: Any, lang: str, *, deadline: str, portal_origin: str) -> str:
    """Blocks as the portal's timeline shows them (timeline/_blocks.html), for the editor's preview."""
    macro = get_template_attribute("timeline/_blocks.html", "blocks")
    context = {
        "lang": lang,
        "deadline": deadline,
        "incoming": False,
        "readonly": True,
        "portal_origin": portal_origin,
    }
    return str(macro(blocks, context))
