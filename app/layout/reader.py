"""Read RestAppLayoutDto JSON (crm.activity.layout.blocks.set): content blocks and their actions."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from app.layout.checks import _as_map, _as_object, _copy, _join, _Reader
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
from app.layout.problems import Code
from app.layout.schema import (
    ACTION_TYPES,
    ANIMATION_TYPES,
    BLOCK_TYPES,
    COLORS,
    LABEL_BG_COLORS,
    MAX_ACTION_PARAMS,
    MAX_BLOCKS,
    SCOPES,
    SIMPLE_BLOCK_TYPES,
    SIZES,
)

_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def parse_layout(data: Any, *, languages: Collection[str] | None = None) -> Layout:
    """Validate RestAppLayoutDto JSON like the portal does and build the Layout; raise LayoutError.

    ``languages``: the portal's installed language ids; without it translation keys are not checked.
    """
    reader = _Reader(languages)
    return reader.result(_read_layout(reader, data))


# RestAppLayoutDto and ContentBlockDto


def _read_layout(r: _Reader, data: Any) -> Layout | None:
    fields_ = _as_object(data)
    if fields_ is None:
        r.report(Code.WRONG_FIELD_VALUE, "", 'A layout must be a JSON object: {"blocks": {...}}.')
        return None
    mark = r.mark()
    r.required(fields_, "", "blocks", "A layout")
    r.nonempty(fields_, "", "blocks", "A layout")
    r.block_map(fields_, "", "blocks", MAX_BLOCKS)
    r.no_extra(fields_, "", ("blocks",), "A layout")
    blocks = _read_blocks(r, fields_.get("blocks"), "blocks", nested=False)
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
        r.required(fields_, path, "type", "A block", strict=True)  # the portal skips a block without a type
    if not type_checked:  # else the parent reported a wrong type already (WRONG_FIELD_VALUE)
        r.enum(fields_, path, "type", BLOCK_TYPES)
    r.required(fields_, path, "properties", "A block", strict=True)
    r.object_field(fields_, path, "properties")
    r.no_extra(fields_, path, ("type", "properties"), "A block")
    kind = fields_.get("type")
    properties = _as_object(fields_.get("properties"))
    if not isinstance(kind, str) or kind not in BLOCK_TYPES or properties is None:
        return None
    # The portal checks a nested largeText's properties too (a lineOfBlocks child before the last one).
    block = _BLOCK_READERS[kind](r, properties, _join(path, "properties"))
    if nested and kind not in SIMPLE_BLOCK_TYPES:
        return None  # already refused by the parent's simple_types check
    return None if r.failed(mark) else block


def _read_text(r: _Reader, props: dict[str, Any], path: str) -> Text | None:
    mark = r.mark()
    r.required(props, path, "value", "A text block")
    r.text(props, path, "value")
    r.flag(props, path, "multiline")
    r.text(props, path, "title")
    r.flag(props, path, "bold")
    r.enum(props, path, "size", SIZES)
    r.enum(props, path, "color", COLORS)
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(Text), "A text block")
    return r.build(mark, Text, props)


def _read_scope(r: _Reader, props: dict[str, Any], path: str) -> None:
    # Content blocks carry no scope validator on the portal; the app still wants web or mobile.
    r.enum(props, path, "scope", SCOPES, strict=True)


def _read_large_text(r: _Reader, props: dict[str, Any], path: str) -> LargeText | None:
    mark = r.mark()
    r.required(props, path, "value", "A largeText block")
    r.text(props, path, "value")
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(LargeText), "A largeText block")
    return r.build(mark, LargeText, props)


def _read_link(r: _Reader, props: dict[str, Any], path: str) -> Link | None:
    mark = r.mark()
    r.required(props, path, "text", "A link block")
    r.text(props, path, "text")
    r.required(props, path, "action", "A link block")
    r.object_field(props, path, "action")
    r.flag(props, path, "bold")
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(Link), "A link block")
    action = _read_action(r, props.get("action"), _join(path, "action"))
    return r.build(mark, Link, props, action=action)


def _read_deadline(r: _Reader, props: dict[str, Any], path: str) -> Deadline | None:
    mark = r.mark()
    r.flag(props, path, "readonly")
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(Deadline), "A deadline block")
    return r.build(mark, Deadline, props)


def _read_with_title(r: _Reader, props: dict[str, Any], path: str) -> WithTitle | None:
    mark = r.mark()
    r.required(props, path, "block", "A withTitle block")
    r.object_field(props, path, "block")
    r.simple_types(props, path, "block", many=False)
    r.text(props, path, "title")
    r.flag(props, path, "inline")
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(WithTitle), "A withTitle block")
    block = _read_block(r, props.get("block"), _join(path, "block"), nested=True, type_checked=True)
    # title is optional on the portal (the docs say required) but positional here: pass it even when absent.
    return r.build(mark, WithTitle, props, title=_copy(props.get("title")), block=block)


def _read_line_of_blocks(r: _Reader, props: dict[str, Any], path: str) -> LineOfBlocks | None:
    mark = r.mark()
    r.required(props, path, "blocks", "A lineOfBlocks block")
    r.nonempty(props, path, "blocks", "A lineOfBlocks block", strict=True)
    r.block_map(props, path, "blocks", MAX_BLOCKS)
    r.simple_types(props, path, "blocks", many=True)
    _read_scope(r, props, path)
    r.no_extra(props, path, _wire_names(LineOfBlocks), "A lineOfBlocks block")
    blocks = _read_blocks(r, props.get("blocks"), _join(path, "blocks"), nested=True)
    return r.build(mark, LineOfBlocks, props, blocks=blocks)


_BLOCK_READERS: dict[str, Callable[[_Reader, dict[str, Any], str], Block | None]] = {
    "text": _read_text,
    "largeText": _read_large_text,
    "link": _read_link,
    "deadline": _read_deadline,
    "withTitle": _read_with_title,
    "lineOfBlocks": _read_line_of_blocks,
}


# ActionDto and ActionSliderParamsDto

# The portal's ActionDto has all of these whatever the type, so a stray one passes there; the app refuses it.
_ACTION_FIELDS = ("type", "uri", "id", "actionParams", "animationType", "sliderParams")


def _read_action(r: _Reader, data: Any, path: str) -> Action | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    kind = fields_.get("type")
    if isinstance(kind, str) and kind in _ACTION_READERS:
        return _ACTION_READERS[kind](r, fields_, path)
    r.required(fields_, path, "type", "An action")
    r.enum(fields_, path, "type", ACTION_TYPES)
    r.no_extra(fields_, path, _ACTION_FIELDS, "An action")
    return None


def _read_redirect(r: _Reader, data: dict[str, Any], path: str) -> Redirect | None:
    mark = r.mark()
    r.required(data, path, "uri", "A redirect action")
    r.string(data, path, "uri")
    r.web_address(data, path, "uri")
    r.no_extra(data, path, ("type", "uri"), "A redirect action", lenient=_ACTION_FIELDS)
    return r.build(mark, Redirect, data)


def _read_rest_event(r: _Reader, data: dict[str, Any], path: str) -> RestEvent | None:
    mark = r.mark()
    r.required(data, path, "id", "A restEvent action")
    r.string(data, path, "id")
    r.scalar_map(data, path, "actionParams", MAX_ACTION_PARAMS)
    r.enum(data, path, "animationType", ANIMATION_TYPES)
    allowed = ("type", *_wire_names(RestEvent))
    r.no_extra(data, path, allowed, "A restEvent action", lenient=_ACTION_FIELDS)
    return r.build(mark, RestEvent, data)


def _read_open_rest_app(r: _Reader, data: dict[str, Any], path: str) -> OpenRestApp | None:
    mark = r.mark()
    r.scalar_map(data, path, "actionParams", MAX_ACTION_PARAMS)
    r.object_field(data, path, "sliderParams")
    allowed = ("type", *_wire_names(OpenRestApp))
    r.no_extra(data, path, allowed, "An openRestApp action", lenient=_ACTION_FIELDS)
    slider = _read_slider(r, data.get("sliderParams"), _join(path, "sliderParams"))
    return r.build(mark, OpenRestApp, data, slider_params=slider)


def _read_slider(r: _Reader, data: Any, path: str) -> SliderParams | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    r.enum(fields_, path, "labelBgColor", LABEL_BG_COLORS)
    r.pattern(fields_, path, "labelColor", _HEX_COLOR, "a colour like #1a2b3c")
    r.integer(fields_, path, "width")
    r.integer(fields_, path, "leftBoundary")
    r.string(fields_, path, "title")
    r.string(fields_, path, "labelText")
    r.no_extra(fields_, path, _wire_names(SliderParams), "sliderParams")
    return r.build(mark, SliderParams, fields_)


_ACTION_READERS: dict[str, Callable[[_Reader, dict[str, Any], str], Action | None]] = {
    "redirect": _read_redirect,
    "restEvent": _read_rest_event,
    "openRestApp": _read_open_rest_app,
}
