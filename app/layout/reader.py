"""Read RestAppLayoutDto JSON (crm.activity.layout.blocks.set): content blocks and their actions."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, cast

from app.layout.checks import _as_map, _as_object, _copy, _join, _Reader
from app.layout.dto import (
    Dto,
    block_map,
    enum,
    filled,
    flag,
    integer,
    nonempty,
    objects,
    pattern,
    required,
    scalar_map,
    scope,
    simple_types,
    string,
    text,
    text_color,
    web_address,
)
from app.layout.models import (
    Action,
    Block,
    Deadline,
    LargeText,
    Layout,
    LineOfBlocks,
    Link,
    OpenRestApp,
    Redirect,
    RestEvent,
    SliderParams,
    Text,
    WithTitle,
    _wire_names,
)
from app.layout.problems import N_, Code
from app.layout.schema import (
    ACTION_TYPES,
    ANIMATION_TYPES,
    BLOCK_TYPES,
    COLORS,
    LABEL_BG_COLORS,
    MAX_ACTION_PARAMS,
    MAX_BLOCKS,
    SIMPLE_BLOCK_TYPES,
    SIZES,
)

_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def parse_layout(data: Any, *, languages: Collection[str] | None = None, blank_text: bool = False) -> Layout:
    """Validate RestAppLayoutDto JSON like the portal does and build the Layout; raise LayoutError.

    ``languages``: the portal's installed language ids; without it translation keys are not checked.
    ``blank_text``: let an empty text through, as the portal does (a template filled from an empty field).
    """
    reader = _Reader(languages, blank_text=blank_text)
    return reader.read(_read_layout, data)


def validate_layout(layout: Layout, *, languages: Collection[str] | None = None) -> None:
    """Raise LayoutError if the portal would refuse this layout."""
    parse_layout(layout.to_wire(), languages=languages)


# RestAppLayoutDto and ContentBlockDto


def _read_layout(r: _Reader, data: Any) -> Layout | None:
    fields_ = _as_object(data)
    if fields_ is None:
        r.report(Code.WRONG_FIELD_VALUE, "", N_('A layout must be a JSON object: {"blocks": {...}}.'))
        return None
    mark = r.mark()
    r.required(fields_, "", "blocks", N_("A layout"))
    r.nonempty(fields_, "", "blocks", N_("A layout"))
    r.block_map(fields_, "", "blocks", MAX_BLOCKS)
    r.no_extra(fields_, "", ("blocks",), N_("A layout"))
    blocks = {} if "blocks" in r.unread else _read_blocks(r, fields_.get("blocks"), "blocks", nested=False)
    return r.build(mark, Layout, fields_, blocks=blocks)


def _read_blocks(r: _Reader, value: Any, path: str, *, nested: bool) -> dict[str, Block | None]:
    items = _as_map(value) or {}
    # SimpleContentBlockField keeps only the last child's verdict; the others' types are checked as blocks.
    last = next((key for key in reversed(items) if isinstance(items[key], dict)), None)
    return {
        key: _read_block(r, item, _join(path, key), nested=nested, type_checked=nested and key == last)
        for key, item in items.items()
    }


def _read_block(
    r: _Reader, data: Any, path: str, *, nested: bool, type_checked: bool = False
) -> Block | None:
    """Read one ContentBlockDto; ``type_checked``: its parent's SimpleContentBlockField judged its type."""
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    if not nested:
        r.required(
            fields_, path, "type", N_("A block"), strict=True
        )  # the portal skips a block without a type
    if not type_checked:  # else the parent reported a wrong type already (WRONG_FIELD_VALUE)
        r.enum(fields_, path, "type", BLOCK_TYPES)
    r.required(fields_, path, "properties", N_("A block"), strict=True)
    r.object_field(fields_, path, "properties")
    r.no_extra(fields_, path, ("type", "properties"), N_("A block"))
    kind = fields_.get("type")
    properties = _as_object(fields_.get("properties"))
    if not isinstance(kind, str) or kind not in BLOCK_TYPES or properties is None:
        return None
    # The portal checks a nested largeText's properties too (a lineOfBlocks child before the last one).
    block = _BLOCKS[kind].read(r, properties, _join(path, "properties"))
    if nested and kind not in SIMPLE_BLOCK_TYPES:
        return None  # already refused by the parent's simple_types check
    return None if r.failed(mark) else block


def _read_with_title_block(r: _Reader, value: Any, path: str) -> Block | None:
    return _read_block(r, value, path, nested=True, type_checked=True)


def _read_nested_blocks(r: _Reader, value: Any, path: str) -> dict[str, Block | None]:
    return _read_blocks(r, value, path, nested=True)


def _title(r: _Reader, value: Any, path: str) -> Any:
    # title is optional on the portal (the docs say required) but positional here: pass it even when absent.
    return _copy(value)


TEXT = Dto(
    Text,
    N_("A text block"),
    [
        required("value"),
        text("value"),
        filled("value"),
        flag("multiline"),
        text("title"),
        flag("bold"),
        enum("size", SIZES),
        text_color("color", COLORS),
        scope(),
    ],
)
LARGE_TEXT = Dto(
    LargeText, N_("A largeText block"), [required("value"), text("value"), filled("value"), scope()]
)
LINK = Dto(
    Link,
    N_("A link block"),
    [
        required("text"),
        text("text"),
        filled("text"),
        required("action"),
        objects("action"),
        flag("bold"),
        scope(),
    ],
    parts={"action": ("action", lambda r, value, path: _read_action(r, value, path))},
)
DEADLINE = Dto(Deadline, N_("A deadline block"), [flag("readonly"), scope()])
WITH_TITLE = Dto(
    WithTitle,
    N_("A withTitle block"),
    [
        required("block"),
        objects("block"),
        simple_types("block", many=False),
        text("title"),
        flag("inline"),
        scope(),
    ],
    parts={"title": ("title", _title), "block": ("block", _read_with_title_block)},
)
LINE_OF_BLOCKS = Dto(
    LineOfBlocks,
    N_("A lineOfBlocks block"),
    [
        required("blocks"),
        nonempty("blocks", strict=True),
        block_map("blocks", MAX_BLOCKS),
        simple_types("blocks", many=True),
        scope(),
    ],
    parts={"blocks": ("blocks", _read_nested_blocks)},
)


_BLOCKS: dict[str, Dto[Any]] = {
    "text": TEXT,
    "largeText": LARGE_TEXT,
    "link": LINK,
    "deadline": DEADLINE,
    "withTitle": WITH_TITLE,
    "lineOfBlocks": LINE_OF_BLOCKS,
}


# ActionDto and ActionSliderParamsDto

# The portal's ActionDto has all of these whatever the type, so a stray one passes there; the app refuses it.
_ACTION_FIELDS = ("type", "uri", "id", "actionParams", "animationType", "sliderParams")


def _read_action(r: _Reader, data: Any, path: str) -> Action | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    kind = fields_.get("type")
    if isinstance(kind, str) and kind in _ACTIONS:
        return cast(Action | None, _ACTIONS[kind].read(r, fields_, path))
    r.required(fields_, path, "type", N_("An action"))
    r.enum(fields_, path, "type", ACTION_TYPES)
    r.no_extra(fields_, path, _ACTION_FIELDS, N_("An action"))
    return None


REDIRECT = Dto(
    Redirect,
    N_("A redirect action"),
    [required("uri"), string("uri"), web_address("uri")],
    allowed=("type", "uri"),
    lenient=_ACTION_FIELDS,
)
REST_EVENT = Dto(
    RestEvent,
    N_("A restEvent action"),
    [
        required("id"),
        string("id"),
        scalar_map("actionParams", MAX_ACTION_PARAMS),
        enum("animationType", ANIMATION_TYPES),
    ],
    allowed=("type", *_wire_names(RestEvent)),
    lenient=_ACTION_FIELDS,
)
SLIDER_PARAMS = Dto(
    SliderParams,
    "sliderParams",
    [
        enum("labelBgColor", LABEL_BG_COLORS),
        pattern("labelColor", _HEX_COLOR, N_("a colour like #1a2b3c")),
        integer("width"),
        integer("leftBoundary"),
        string("title"),
        string("labelText"),
    ],
)
OPEN_REST_APP = Dto(
    OpenRestApp,
    N_("An openRestApp action"),
    [scalar_map("actionParams", MAX_ACTION_PARAMS), objects("sliderParams")],
    parts={"slider_params": ("sliderParams", SLIDER_PARAMS.read_object)},
    allowed=("type", *_wire_names(OpenRestApp)),
    lenient=_ACTION_FIELDS,
)


_ACTIONS: dict[str, Dto[Any]] = {"redirect": REDIRECT, "restEvent": REST_EVENT, "openRestApp": OPEN_REST_APP}
