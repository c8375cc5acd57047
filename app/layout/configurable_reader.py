"""Read LayoutDto JSON of a configurable activity (crm.activity.configurable.add/update)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from app.layout.checks import _as_map, _as_object, _join, _Reader
from app.layout.models import (
    Body,
    Button,
    ConfigurableLayout,
    Footer,
    Header,
    Icon,
    Logo,
    Menu,
    MenuItem,
    Tag,
    _wire_names,
)
from app.layout.problems import Code
from app.layout.reader import _read_action, _read_blocks
from app.layout.schema import (
    BUTTON_TYPES,
    MAX_BLOCKS,
    MAX_BUTTONS,
    MAX_MENU_ITEMS,
    MAX_TAGS,
    SCOPES,
    TAG_TYPES,
)

T = TypeVar("T")


def parse_configurable_layout(
    data: Any,
    *,
    languages: Collection[str] | None = None,
    icons: Collection[str] | None = None,
    logos: Collection[str] | None = None,
) -> ConfigurableLayout:
    """Validate LayoutDto JSON like the portal does and build the ConfigurableLayout; raise LayoutError.

    ``icons`` and ``logos``: the codes from crm.timeline.icon.list / logo.list; without them any code passes.
    """
    reader = _Reader(languages, icons=icons, logos=logos)
    return reader.result(_read_configurable(reader, data))


# LayoutDto of a configurable activity


def _read_configurable(r: _Reader, data: Any) -> ConfigurableLayout | None:
    fields_ = _as_object(data)
    if fields_ is None:
        r.report(Code.WRONG_FIELD_VALUE, "", "A layout must be a JSON object with icon, header and body.")
        return None
    mark = r.mark()
    for name in ("icon", "header", "body"):
        r.required(fields_, "", name, "A configurable layout")
        r.object_field(fields_, "", name)
    r.object_field(fields_, "", "footer")
    r.no_extra(fields_, "", _wire_names(ConfigurableLayout), "A configurable layout")
    icon = _read_icon(r, fields_.get("icon"), "icon")
    header = _read_header(r, fields_.get("header"), "header")
    body = _read_body(r, fields_.get("body"), "body")
    footer = _read_footer(r, fields_.get("footer"), "footer")
    return r.build(mark, ConfigurableLayout, fields_, icon=icon, header=header, body=body, footer=footer)


def _read_code(r: _Reader, data: dict[str, Any], path: str, what: str, codes: Sequence[str] | None) -> None:
    r.required(data, path, "code", what)
    r.string(data, path, "code")
    if codes is not None:
        r.enum(data, path, "code", codes)


def _read_icon(r: _Reader, data: Any, path: str) -> Icon | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    _read_code(r, fields_, path, "The icon", r.icons)
    r.no_extra(fields_, path, _wire_names(Icon), "The icon")
    return r.build(mark, Icon, fields_)


def _read_header(r: _Reader, data: Any, path: str) -> Header | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    r.required(fields_, path, "title", "The header")
    r.text(fields_, path, "title")
    r.object_field(fields_, path, "titleAction")
    r.keyed_objects(fields_, path, "tags", MAX_TAGS)
    r.no_extra(fields_, path, _wire_names(Header), "The header")
    action = _read_action(r, fields_.get("titleAction"), _join(path, "titleAction"))
    tags = _read_keyed(r, fields_.get("tags"), _join(path, "tags"), _read_tag)
    return r.build(mark, Header, fields_, title_action=action, tags=tags)


def _read_keyed(
    r: _Reader, value: Any, path: str, read: Callable[[_Reader, dict[str, Any], str], T | None]
) -> dict[str, T | None] | None:
    """Read tags, buttons or menu items keyed by id."""
    items = _as_map(value) if value is not None else None
    if items is None:
        return None
    objects = {key: _as_object(item) for key, item in items.items()}
    return {key: read(r, item, _join(path, key)) for key, item in objects.items() if item is not None}


def _read_tag(r: _Reader, data: dict[str, Any], path: str) -> Tag | None:
    mark = r.mark()
    r.required(data, path, "title", "A tag")
    r.text(data, path, "title")
    r.required(data, path, "type", "A tag")
    r.enum(data, path, "type", TAG_TYPES)
    r.object_field(data, path, "action")
    # The docs list scope and hideIfReadonly for tags, but the portal's TagDto has neither.
    r.no_extra(data, path, _wire_names(Tag), "A tag")
    action = _read_action(r, data.get("action"), _join(path, "action"))
    return r.build(mark, Tag, data, action=action)


def _read_body(r: _Reader, data: Any, path: str) -> Body | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    r.required(fields_, path, "logo", "The body")
    r.object_field(fields_, path, "logo")
    r.required(fields_, path, "blocks", "The body")
    r.nonempty(fields_, path, "blocks", "The body")
    r.block_map(fields_, path, "blocks", MAX_BLOCKS)
    r.no_extra(fields_, path, _wire_names(Body), "The body")
    logo = _read_logo(r, fields_.get("logo"), _join(path, "logo"))
    blocks = _read_blocks(r, fields_.get("blocks"), _join(path, "blocks"), nested=False)
    return r.build(mark, Body, fields_, logo=logo, blocks=blocks)


def _read_logo(r: _Reader, data: Any, path: str) -> Logo | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    _read_code(r, fields_, path, "The logo", r.logos)
    r.object_field(fields_, path, "action")
    r.no_extra(fields_, path, _wire_names(Logo), "The logo")
    action = _read_action(r, fields_.get("action"), _join(path, "action"))
    return r.build(mark, Logo, fields_, action=action)


def _read_footer(r: _Reader, data: Any, path: str) -> Footer | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    r.keyed_objects(fields_, path, "buttons", MAX_BUTTONS)
    r.flag(fields_, path, "showNote")
    r.object_field(fields_, path, "menu")
    r.no_extra(fields_, path, _wire_names(Footer), "The footer")
    buttons = _read_keyed(r, fields_.get("buttons"), _join(path, "buttons"), _read_button)
    menu = _read_menu(r, fields_.get("menu"), _join(path, "menu"))
    return r.build(mark, Footer, fields_, buttons=buttons, menu=menu)


def _read_button(r: _Reader, data: dict[str, Any], path: str) -> Button | None:
    mark = r.mark()
    r.required(data, path, "title", "A button")
    r.text(data, path, "title")
    r.required(data, path, "type", "A button")
    r.required(data, path, "action", "A button")
    r.enum(data, path, "type", BUTTON_TYPES)
    r.object_field(data, path, "action")
    r.enum(data, path, "scope", SCOPES)
    r.flag(data, path, "hideIfReadonly")
    r.no_extra(data, path, _wire_names(Button), "A button")
    action = _read_action(r, data.get("action"), _join(path, "action"))
    return r.build(mark, Button, data, action=action)


def _read_menu(r: _Reader, data: Any, path: str) -> Menu | None:
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    r.keyed_objects(fields_, path, "items", MAX_MENU_ITEMS)
    for name in ("showPinItem", "showPostponeItem", "showDeleteItem"):
        r.flag(fields_, path, name)
    r.no_extra(fields_, path, _wire_names(Menu), "The menu")
    items = _read_keyed(r, fields_.get("items"), _join(path, "items"), _read_menu_item)
    return r.build(mark, Menu, fields_, items=items)


def _read_menu_item(r: _Reader, data: dict[str, Any], path: str) -> MenuItem | None:
    mark = r.mark()
    r.required(data, path, "title", "A menu item")
    r.text(data, path, "title")
    r.required(data, path, "action", "A menu item")
    r.object_field(data, path, "action")
    r.enum(data, path, "scope", SCOPES)
    r.flag(data, path, "hideIfReadonly")
    r.no_extra(data, path, _wire_names(MenuItem), "A menu item")
    action = _read_action(r, data.get("action"), _join(path, "action"))
    return r.build(mark, MenuItem, data, action=action)
