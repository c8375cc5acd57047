"""Validation of RestAppLayoutDto (layout blocks) and LayoutDto (configurable activities), notes §6.2 / §6.3.

The schema follows the portal's DTO classes (crm/lib/activity/entity/configurablerestapp/dto, crm/lib/Dto):
an object runs its own field checks in its validators' order, then the unknown-property check
(HasNotRedundantFields, appended last by Dto::validateFields), and only then are its nested objects built and
checked, in property order (Dto::initProperties). The first error is raised: the portal reports only the
first (notes §6.2). Like the portal, the schema only refuses what a validator refuses: scalars are cast
(a boolean from "Y", a string from 42), a block without a type or without properties passes, and lineOfBlocks
keeps only the last child's type verdict (notes §6.2 quirk). A JSON array is a PHP array: a map keyed 0..n-1.
Normalising turns wire forms into JSON types: booleans, integers, strings, actionParams values as strings
(as configurable.get shows), null properties left out (Dto::toArray).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.core import RestError
from sandbox.crm.params import to_int

Spec = Callable[[Any, str, str, frozenset[str]], Any]  # (value, field, parent, langs) -> normalised value
Check = Callable[[dict[str, Any], str, frozenset[str]], None]  # (object, its path, langs); raises LayoutError

MAX_BLOCKS = 20  # notes §6.2: MAX_LAYOUT_BLOCKS_COUNT, lineOfBlocks ≤ 20, body blocks 1..20 (§6.3)
MAX_ACTION_PARAMS = 20  # notes §6.2: actionParams ≤ 20
MAX_TAGS = 2  # notes §6.3: header tags ≤ 2
MAX_BUTTONS = 2  # notes §6.3: footer buttons ≤ 2
MAX_MENU_ITEMS = 10  # notes §6.3: menu items ≤ 10
KEY = re.compile(r"^[a-zA-Z0-9\-_]+$")  # notes §6.2: keys; Validator::getKeyValidationError (preg_match)
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")  # notes §6.2: labelColor #rrggbb
BLOCK_TYPES = (
    "text",
    "largeText",
    "link",
    "deadline",
    "withTitle",
    "lineOfBlocks",
)  # ContentBlockDto::ALLOWED_TYPES
INNER_BLOCK_TYPES = ("text", "link", "deadline")  # SimpleContentBlockField: withTitle.block, lineOfBlocks
ACTION_TYPES = ("redirect", "restEvent", "openRestApp")  # notes §6.2 ActionDto
# ActionDto declares every action field whatever the type, so a stray one is not redundant (dto/actiondto.php)
ACTION_FIELDS = ("type", "uri", "id", "actionParams", "animationType", "sliderParams")
MESSAGES = {
    "FIELD_IS_REQUIRED": "Field `{field}` is required in `{parent}`",
    "FIELD_IS_REDUNDANT": "Field `{field}` is redundant in `{parent}`",
    "WRONG_FIELD_VALUE": "Field `{field}` has a wrong value in `{parent}`",
    "ENUM_FIELD": "Field `{field}` in `{parent}` must be one of: {detail}",
    "TOO_MANY_ITEMS": "Field `{field}` in `{parent}` may hold at most {detail} items",
    "KEY_CONTAIN_WRONG_SYMBOLS": "Key `{detail}` of `{field}` in `{parent}` contains wrong symbols",
    "WRONG_LANG": "Field `{field}` in `{parent}` uses the language `{detail}` that is not installed",
}


class LayoutError(Exception):
    """The first structure error: one of the codes of notes §6.2, with FIELD and PARENT_OBJECT."""

    def __init__(self, code: str, field: str, parent: str, detail: Any = "") -> None:
        self.code, self.field, self.parent, self.detail = code, field, parent, detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(field=self.field, parent=self.parent, detail=self.detail)

    def rest_error(self) -> RestError:
        """Return the REST error: the code as `error`, HTTP 400 (notes §6.2)."""
        return RestError(self.code, self.message, 400)


def join(parent: str, field: str) -> str:
    return f"{parent}.{field}" if parent else field


def is_missing(value: Any) -> bool:
    return value is None or value == "" or value == []


def php_array(value: Any) -> dict[str, Any] | None:
    """A JSON object, or a JSON array as the PHP map keyed 0..n-1 it decodes to; None for anything else."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return None


def php_string(value: Any) -> Any:
    """StringCaster: scalars become strings (true → "1", false → ""); anything else is kept as sent."""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value) if isinstance(value, str | int | float) else value


def php_bool(value: Any) -> bool:
    """BoolCaster: a string is true only as TRUE or Y in any case ("1", "yes", "on" are false), else (bool).

    crm/lib/Dto/Caster/BoolCaster.php castSingleValue: in_array(mb_strtoupper($value), ['TRUE', 'Y'], true)
    for strings, (bool)$value otherwise. A PHP form encoding of true is "1": false on the portal.
    """
    if isinstance(value, str):
        return value.upper() in ("TRUE", "Y")
    return value not in (0, 0.0, [], {}) and value is not None and value is not False


# --- badge fields (sandbox/crm/badges.py: crm.activity.badge.add) ------------------------------------------


def text(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    """A badge's textWithTranslation: a string or a non-empty {lang: string} map of installed languages."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        raise LayoutError("WRONG_FIELD_VALUE", field, parent)
    for lang, translated in value.items():
        if lang not in langs:
            raise LayoutError("WRONG_LANG", field, parent, lang)
        if not isinstance(translated, str):
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
    return dict(value)


def enum(*values: str) -> Spec:
    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> str:
        if not isinstance(value, str) or value not in values:
            raise LayoutError("ENUM_FIELD", field, parent, ", ".join(values))
        return value

    return validate


# --- field checks: one per portal validator (crm/lib/Dto/Validator, dto/validator) -------------------------


def required(name: str) -> Check:
    """RequiredField: only that the key exists (array_key_exists), so null passes."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name not in data:
            raise LayoutError("FIELD_IS_REQUIRED", name, path)

    return check


def nonempty(name: str) -> Check:
    """notes §6.2 / §6.3: layout blocks and body blocks hold 1..20 items, so an empty map is missing."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if data.get(name) in ({}, []):
            raise LayoutError("FIELD_IS_REQUIRED", name, path)

    return check


def translated(name: str) -> Check:
    """TextWithTranslationField: a map's keys must be installed languages and its values strings."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        items = php_array(data.get(name))  # isset() && is_array(): a string or a number passes (cast later)
        for lang, value in (items or {}).items():
            if lang not in langs:
                raise LayoutError("WRONG_LANG", name, path, lang)
            if not isinstance(value, str):
                raise LayoutError("WRONG_FIELD_VALUE", f"{name}[{lang}]", path)

    return check


def one_of(name: str, *values: str) -> Check:
    """EnumField: a present key must hold one of the values; null too (in_array(null) is false)."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name in data and data[name] not in values:
            raise LayoutError("ENUM_FIELD", name, path, ", ".join(values))

    return check


def matches(name: str, pattern: re.Pattern[str]) -> Check:
    """notes §6.2 sliderParams.labelColor: #rrggbb."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            raise LayoutError("WRONG_FIELD_VALUE", name, path)

    return check


def an_object(name: str) -> Check:
    """ObjectField: a present key must hold an array (a JSON object, or an array)."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name in data and php_array(data[name]) is None:
            raise LayoutError("WRONG_FIELD_VALUE", name, path)

    return check


def check_key(key: str, name: str, path: str) -> None:
    """Validator::getKeyValidationError: keys match ^[a-zA-Z0-9-_]+$ (notes §6.2)."""
    if not KEY.match(key):
        raise LayoutError("KEY_CONTAIN_WRONG_SYMBOLS", name, path, key)


def objects(name: str, limit: int) -> Check:
    """ObjectCollectionField: an array; each item's key, then each item an array; the count last."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name not in data:
            return
        items = php_array(data[name])
        if items is None:  # null too: is_array(null) is false
            raise LayoutError("WRONG_FIELD_VALUE", name, path)
        for key, item in items.items():
            check_key(key, name, path)
            if php_array(item) is None:
                raise LayoutError("WRONG_FIELD_VALUE", f"{name}[{key}]", path)
        if len(items) > limit:
            raise LayoutError("TOO_MANY_ITEMS", name, path, limit)

    return check


def scalars(name: str, limit: int) -> Check:
    """ScalarCollectionField (actionParams): an array; each key, each value is_scalar (null is not); count."""

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name not in data:
            return
        items = php_array(data[name])
        if items is None:
            raise LayoutError("WRONG_FIELD_VALUE", name, path)
        for key, item in items.items():
            check_key(key, name, path)
            if not isinstance(item, str | int | float | bool):  # is_scalar(null) is false
                raise LayoutError("WRONG_FIELD_VALUE", f"{name}[{key}]", path)
        if len(items) > limit:
            raise LayoutError("TOO_MANY_ITEMS", name, path, limit)

    return check


def simple_blocks(name: str, *, many: bool) -> Check:
    """SimpleContentBlockField: nested blocks are text, link or deadline, else WRONG_FIELD_VALUE.

    For a collection the validator overwrites its result per child, so only the last array child counts
    (notes §6.2 quirk); the other children are still checked as ContentBlockDto when they are built.
    """

    def check(data: dict[str, Any], path: str, langs: frozenset[str]) -> None:
        if name not in data:
            return
        value = data[name]
        children = list((php_array(value) or {}).values()) if many else [value]
        blocks = [child for child in children if php_array(child) is not None]
        if blocks and (php_array(blocks[-1]) or {}).get("type", "") not in INNER_BLOCK_TYPES:
            raise LayoutError("WRONG_FIELD_VALUE", "type", join(path, name))

    return check


# --- values: cast like the portal's casters, never refused --------------------------------------------------


def as_text(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    """TextWithTranslationDto: a string, a {lang: string} map (checked above); an empty map is ""."""
    items = php_array(value)
    if items is not None:
        return items or ""
    return php_string(value)


def as_bool(value: Any, field: str, parent: str, langs: frozenset[str]) -> bool:
    return php_bool(value)


def as_int(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    number = to_int(value)
    return value if number is None else number


def as_string(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    return php_string(value)


def as_is(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    return value


def as_params(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
    """actionParams: CollectionCaster(StringCaster), so configurable.get shows "456" for 456."""
    return {key: php_string(item) for key, item in (php_array(value) or {}).items()}


# --- objects ------------------------------------------------------------------------------------------------


def shape(checks: Iterable[Check], fields: dict[str, Spec]) -> Spec:
    """A DTO: its checks in validator order, then unknown properties, then its fields built in order."""
    checks = tuple(checks)

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        data = php_array(value)
        if data is None:
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        path = join(parent, field)
        for check in checks:
            check(data, path, langs)
        for name in data:  # HasNotRedundantFields, appended after the DTO's own validators
            if name not in fields:
                raise LayoutError("FIELD_IS_REDUNDANT", name, path)
        # Dto::initProperties: nested DTOs' errors follow, in property order; null properties are left out
        return {
            name: spec(data[name], name, path, langs)
            for name, spec in fields.items()
            if data.get(name) is not None
        }

    return validate


def collection(item: Spec) -> Spec:
    """CollectionCaster(ObjectCaster): each item built in turn (the collection itself was checked already)."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        path = join(parent, field)
        return {key: item(entry, key, path, langs) for key, entry in (php_array(value) or {}).items()}

    return validate


# --- actions (notes §6.2 ActionDto, ActionSliderParamsDto) -------------------------------------------------

SLIDER_PARAMS = shape(
    [
        one_of("labelBgColor", "aqua", "green", "orange", "brown", "pink", "blue", "grey", "violet"),
        matches("labelColor", HEX_COLOR),
    ],
    {
        "width": as_int,
        "leftBoundary": as_int,
        "title": as_string,
        "labelText": as_string,
        "labelColor": as_is,
        "labelBgColor": as_is,
    },
)
ACTION_CHECKS: dict[str, list[Check]] = {  # ActionDto::getValidators, chosen by type
    "redirect": [required("uri")],
    "openRestApp": [scalars("actionParams", MAX_ACTION_PARAMS), an_object("sliderParams")],
    "restEvent": [
        required("id"),
        scalars("actionParams", MAX_ACTION_PARAMS),
        one_of("animationType", "loader", "disable"),
    ],
}
ACTION_VALUES: dict[str, Spec] = {
    "type": as_is,
    "uri": as_string,
    "id": as_string,
    "actionParams": as_params,
    "animationType": as_is,
    "sliderParams": as_is,
}


def action(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
    data = php_array(value) or {}
    kind = data.get("type")
    checks = ACTION_CHECKS.get(kind) if isinstance(kind, str) else None
    if checks is None:  # default branch: type required and one of the three
        checks = [required("type"), one_of("type", *ACTION_TYPES)]
    fields = dict(ACTION_VALUES)
    if php_array(data.get("sliderParams")) is not None:
        fields["sliderParams"] = SLIDER_PARAMS
    return shape(checks, fields)(value, field, parent, langs)


# --- content blocks (notes §6.2 ContentBlockDto) ------------------------------------------------------------

SCOPE = as_is  # BaseContentBlockDto::$scope has no validator: any value passes


def content_block(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
    """ContentBlockDto: type ∈ ALLOWED_TYPES when present; properties cast by the type (none: not checked)."""
    data = php_array(value) or {}
    kind = data.get("type")
    properties = BLOCK_PROPERTIES.get(kind, as_is) if isinstance(kind, str) else as_is
    spec = shape(
        [one_of("type", *BLOCK_TYPES), an_object("properties")], {"type": as_is, "properties": properties}
    )
    return spec(value, field, parent, langs)


BLOCKS = collection(content_block)
BLOCK_PROPERTIES: dict[str, Spec] = {
    "text": shape(  # TextDto
        [
            required("value"),
            translated("value"),
            translated("title"),
            one_of("size", "xs", "sm", "md"),
            one_of("color", "base_50", "base_60", "base_70", "base_90"),  # TextDto::ALLOWED_COLORS
        ],
        {
            "value": as_text,
            "multiline": as_bool,
            "title": as_text,
            "bold": as_bool,
            "size": as_is,
            "color": as_is,
            "scope": SCOPE,
        },
    ),
    "largeText": shape([required("value"), translated("value")], {"value": as_text, "scope": SCOPE}),
    "link": shape(  # LinkDto
        [required("text"), translated("text"), required("action"), an_object("action")],
        {"text": as_text, "action": action, "bold": as_bool, "scope": SCOPE},
    ),
    "deadline": shape([], {"readonly": as_bool, "scope": SCOPE}),
    "withTitle": shape(  # WithTitleDto; title: the docs mark it required, the code does not (notes §6.2)
        [required("block"), an_object("block"), simple_blocks("block", many=False), translated("title")],
        {"title": as_text, "inline": as_bool, "block": content_block, "scope": SCOPE},
    ),
    "lineOfBlocks": shape(  # LineOfBlocksDto; an empty map passes (no NotEmpty validator)
        [required("blocks"), objects("blocks", MAX_BLOCKS), simple_blocks("blocks", many=True)],
        {"blocks": BLOCKS, "scope": SCOPE},
    ),
}
REST_APP_LAYOUT = shape(  # RestAppLayoutBlocksDto
    [required("blocks"), nonempty("blocks"), objects("blocks", MAX_BLOCKS)], {"blocks": BLOCKS}
)

# --- configurable activity layout (notes §6.3 LayoutDto) ----------------------------------------------------

SCOPES = ("web", "mobile")  # ScopeField (dto/validator/scopefield.php) on buttons and menu items
TAG = shape(  # TagDto has no scope/hideIfReadonly in code (notes §6.3)
    [
        required("title"),
        translated("title"),
        required("type"),
        one_of("type", "success", "failure", "warning", "primary", "secondary"),
        an_object("action"),
    ],
    {"title": as_text, "type": as_is, "action": action},
)
BUTTON = shape(  # FooterButtonDto
    [
        required("title"),
        translated("title"),
        required("type"),
        required("action"),
        one_of("type", "primary", "secondary"),
        an_object("action"),
        one_of("scope", *SCOPES),
    ],
    {"title": as_text, "type": as_is, "action": action, "scope": as_is, "hideIfReadonly": as_bool},
)
MENU_ITEM = shape(  # MenuItemDto
    [
        required("title"),
        translated("title"),
        required("action"),
        an_object("action"),
        one_of("scope", *SCOPES),
    ],
    {"title": as_text, "action": action, "scope": as_is, "hideIfReadonly": as_bool},
)
MENU = shape(  # FooterMenuDto
    [objects("items", MAX_MENU_ITEMS)],
    {
        "showPinItem": as_bool,
        "showPostponeItem": as_bool,
        "showDeleteItem": as_bool,
        "items": collection(MENU_ITEM),
    },
)
CODE = [required("code")]  # icon and logo codes are not checked against the icon/logo lists (README)
LAYOUT = shape(  # LayoutDto
    [
        required("icon"),
        an_object("icon"),
        required("header"),
        an_object("header"),
        required("body"),
        an_object("body"),
        an_object("footer"),
    ],
    {
        "icon": shape(CODE, {"code": as_string}),
        "header": shape(  # HeaderDto
            [required("title"), translated("title"), an_object("titleAction"), objects("tags", MAX_TAGS)],
            {"title": as_text, "titleAction": action, "tags": collection(TAG)},
        ),
        "body": shape(  # BodyDto
            [
                required("logo"),
                an_object("logo"),
                required("blocks"),
                nonempty("blocks"),
                objects("blocks", MAX_BLOCKS),
            ],
            {
                "logo": shape([*CODE, an_object("action")], {"code": as_string, "action": action}),
                "blocks": BLOCKS,
            },
        ),
        "footer": shape(  # FooterDto
            [objects("buttons", MAX_BUTTONS), an_object("menu")],
            {"buttons": collection(BUTTON), "menu": MENU, "showNote": as_bool},
        ),
    },
)


def top_level(spec: Spec) -> Spec:
    """The `layout` parameter itself must be a JSON object (an empty PHP array counts as one)."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict) and value != []:
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        return spec(value, field, parent, langs)

    return validate


def validate_blocks_layout(layout: Any, langs: Iterable[str]) -> dict[str, Any]:
    """Validate a RestAppLayoutDto for layout.blocks.set; raise LayoutError on the first error."""
    return top_level(REST_APP_LAYOUT)(layout, "layout", "", frozenset(langs))


def validate_layout(layout: Any, langs: Iterable[str]) -> dict[str, Any]:
    """Validate a LayoutDto for crm.activity.configurable.*; raise LayoutError on the first error."""
    return top_level(LAYOUT)(layout, "layout", "", frozenset(langs))


def actions(layout: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Yield every action object of a validated layout (for the UI and the restEvent helper)."""
    stack: list[Any] = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ACTION_TYPES and "properties" not in node:
                yield node
            stack.extend(node.values())
