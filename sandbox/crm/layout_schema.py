"""Validation of RestAppLayoutDto (layout blocks) and LayoutDto (configurable activities), notes §6.2 / §6.3.

Specs are small functions `(value, field, parent, langs) -> normalised value` that raise `LayoutError` for the
first problem found: the portal reports only the first error (notes §6.2). Within an object, unknown keys are
reported first, then the declared properties in order. Normalising turns wire forms into JSON types: booleans
from "Y"/"1"/"true", integers from digit strings, actionParams values to strings (as configurable.get shows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.core import RestError
from sandbox.crm.params import as_list, to_bool, to_int

Spec = Callable[[Any, str, str, frozenset[str]], Any]

MAX_BLOCKS = 20  # notes §6.2: MAX_LAYOUT_BLOCKS_COUNT
MAX_ACTION_PARAMS = 20  # notes §6.2: actionParams ≤ 20
MAX_TAGS = 2  # notes §6.3: header tags ≤ 2
MAX_BUTTONS = 2  # notes §6.3: footer buttons ≤ 2
MAX_MENU_ITEMS = 10  # notes §6.3: menu items ≤ 10
KEY = re.compile(r"^[a-zA-Z0-9\-_]+$")  # notes §6.2: block keys
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")  # notes §6.2: labelColor #rrggbb
BLOCK_TYPES = (
    "text",
    "largeText",
    "link",
    "deadline",
    "withTitle",
    "lineOfBlocks",
)  # ContentBlockDto::ALLOWED_TYPES
INNER_BLOCK_TYPES = ("text", "link", "deadline")  # notes §6.2: withTitle.block and lineOfBlocks children
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


# --- scalar specs -------------------------------------------------------------------------------------------


def text(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    """textWithTranslation: a string or a non-empty {lang: string} map of installed languages (notes §6.2)."""
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


def boolean(value: Any, field: str, parent: str, langs: frozenset[str]) -> bool:
    flag = to_bool(value)
    if flag is None:
        raise LayoutError("WRONG_FIELD_VALUE", field, parent)
    return flag


def integer(value: Any, field: str, parent: str, langs: frozenset[str]) -> int:
    number = to_int(value)
    if number is None:
        raise LayoutError("WRONG_FIELD_VALUE", field, parent)
    return number


def string(pattern: re.Pattern[str] | None = None) -> Spec:
    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        return value

    return validate


def enum(*values: str) -> Spec:
    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> str:
        if not isinstance(value, str) or value not in values:
            raise LayoutError("ENUM_FIELD", field, parent, ", ".join(values))
        return value

    return validate


def scalar_map(max_items: int) -> Spec:
    """A flat map of scalars, values kept as strings (notes §6.2; configurable.get shows "456")."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, str]:
        items = mapping(value, field, parent)
        if len(items) > max_items:
            raise LayoutError("TOO_MANY_ITEMS", field, parent, max_items)
        if any(v is not None and not isinstance(v, str | int | float | bool) for v in items.values()):
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        return {k: php_string(v) for k, v in items.items()}

    return validate


def php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    return "" if value is None else str(value)


def mapping(value: Any, field: str, parent: str) -> dict[str, Any]:
    """Accept an object, or a list (a PHP array with int keys, notes §6.2); anything else is a wrong value."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    items = as_list(value)
    if items is None:
        raise LayoutError("WRONG_FIELD_VALUE", field, parent)
    return {str(i): v for i, v in enumerate(items)}


# --- structure specs ----------------------------------------------------------------------------------------


def obj(**props: tuple[Spec, bool]) -> Spec:
    """An object with known properties (name → (spec, required)); unknown ones are FIELD_IS_REDUNDANT."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        if value == []:
            value = {}  # an empty PHP array
        if not isinstance(value, dict):
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        path = join(parent, field)
        for name in value:
            if name not in props:
                raise LayoutError("FIELD_IS_REDUNDANT", str(name), path)
        result = {}
        for name, (spec, required) in props.items():
            if is_missing(value.get(name)):
                if required:
                    raise LayoutError("FIELD_IS_REQUIRED", name, path)
                continue
            result[name] = spec(value[name], name, path, langs)
        return result

    return validate


def keyed(item: Spec, max_items: int, min_items: int = 0) -> Spec:
    """An associative collection: keys ^[a-zA-Z0-9-_]+$, max_items at most (notes §6.2 `blocks`)."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        items = mapping(value, field, parent)
        if len(items) < min_items:
            raise LayoutError("FIELD_IS_REQUIRED", field, parent)
        if len(items) > max_items:
            raise LayoutError("TOO_MANY_ITEMS", field, parent, max_items)
        bad = next((k for k in items if not KEY.match(k)), None)
        if bad is not None:
            raise LayoutError("KEY_CONTAIN_WRONG_SYMBOLS", field, parent, bad)
        path = join(parent, field)
        return {key: item(entry, key, path, langs) for key, entry in items.items()}

    return validate


def tagged(kinds: dict[str, Spec], *, tag: str = "type") -> Spec:
    """A union told apart by its `type`: missing → FIELD_IS_REQUIRED, unknown → ENUM_FIELD."""

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise LayoutError("WRONG_FIELD_VALUE", field, parent)
        kind = value.get(tag)
        if is_missing(kind):
            raise LayoutError("FIELD_IS_REQUIRED", tag, join(parent, field))
        if not isinstance(kind, str) or kind not in kinds:
            raise LayoutError("ENUM_FIELD", tag, join(parent, field), ", ".join(kinds))
        return kinds[kind](value, field, parent, langs)

    return validate


def with_type(kind: str, **props: tuple[Spec, bool]) -> Spec:
    """An object whose `type` is fixed (already checked by `tagged`) plus its own properties."""
    return obj(type=(enum(kind), True), **props)


# --- actions (notes §6.2 ActionDto) -------------------------------------------------------------------------

SLIDER_PARAMS = obj(
    width=(integer, False),
    leftBoundary=(integer, False),
    title=(string(), False),
    labelText=(string(), False),
    labelColor=(string(HEX_COLOR), False),
    labelBgColor=(enum("aqua", "green", "orange", "brown", "pink", "blue", "grey", "violet"), False),
)
ACTION = tagged(
    {
        "redirect": with_type("redirect", uri=(string(), True)),
        "restEvent": with_type(
            "restEvent",
            id=(string(), True),
            actionParams=(scalar_map(MAX_ACTION_PARAMS), False),
            animationType=(enum("loader", "disable"), False),
        ),
        "openRestApp": with_type(
            "openRestApp",
            actionParams=(scalar_map(MAX_ACTION_PARAMS), False),
            sliderParams=(SLIDER_PARAMS, False),
        ),
    }
)

# --- content blocks (notes §6.2 ContentBlockDto) ------------------------------------------------------------

SCOPE = (enum("web", "mobile"), False)


def content_block(allowed: Iterable[str]) -> Spec:
    """A {"type", "properties"} block whose type is one of `allowed`."""
    return tagged({kind: block_of(kind) for kind in allowed})


def block_of(kind: str) -> Spec:
    properties = BLOCK_PROPERTIES[kind]

    def validate(value: Any, field: str, parent: str, langs: frozenset[str]) -> dict[str, Any]:
        shape = obj(type=(enum(kind), True), properties=(properties, False))
        result = shape(value, field, parent, langs)
        # a block with no properties still owes its required ones, so validate {} in their place
        if "properties" not in result:
            result["properties"] = properties({}, "properties", join(parent, field), langs)
        return result

    return validate


def inner_block(value: Any, field: str, parent: str, langs: frozenset[str]) -> Any:
    return content_block(INNER_BLOCK_TYPES)(value, field, parent, langs)


BLOCK_PROPERTIES: dict[str, Spec] = {
    "text": obj(
        value=(text, True),
        multiline=(boolean, False),
        title=(text, False),
        bold=(boolean, False),
        size=(enum("xs", "sm", "md"), False),
        color=(enum("base_50", "base_60", "base_70", "base_90"), False),  # TextDto::ALLOWED_COLORS
        scope=SCOPE,
    ),
    "largeText": obj(value=(text, True), scope=SCOPE),
    "link": obj(text=(text, True), action=(ACTION, True), bold=(boolean, False), scope=SCOPE),
    "deadline": obj(readonly=(boolean, False), scope=SCOPE),
    # withTitle.title: the docs mark it required, the code does not (notes §6.2): not required here
    "withTitle": obj(title=(text, False), block=(inner_block, True), inline=(boolean, False), scope=SCOPE),
    "lineOfBlocks": obj(blocks=(keyed(inner_block, MAX_BLOCKS, 1), True), scope=SCOPE),
}
BLOCKS = keyed(content_block(BLOCK_TYPES), MAX_BLOCKS, 1)
REST_APP_LAYOUT = obj(blocks=(BLOCKS, True))

# --- configurable activity layout (notes §6.3 LayoutDto) ----------------------------------------------------

TAG = obj(
    title=(text, True),
    type=(enum("success", "failure", "warning", "primary", "secondary"), True),
    action=(ACTION, False),
)  # TagDto has no scope/hideIfReadonly in code (notes §6.3)
BUTTON = obj(
    title=(text, True),
    type=(enum("primary", "secondary"), True),
    action=(ACTION, True),
    scope=SCOPE,
    hideIfReadonly=(boolean, False),
)
MENU_ITEM = obj(title=(text, True), action=(ACTION, True), scope=SCOPE, hideIfReadonly=(boolean, False))
LAYOUT = obj(
    icon=(obj(code=(string(), True)), True),
    header=(obj(title=(text, True), titleAction=(ACTION, False), tags=(keyed(TAG, MAX_TAGS), False)), True),
    body=(obj(logo=(obj(code=(string(), True), action=(ACTION, False)), True), blocks=(BLOCKS, True)), True),
    footer=(
        obj(
            buttons=(keyed(BUTTON, MAX_BUTTONS), False),
            menu=(
                obj(
                    showPinItem=(boolean, False),
                    showPostponeItem=(boolean, False),
                    showDeleteItem=(boolean, False),
                    items=(keyed(MENU_ITEM, MAX_MENU_ITEMS), False),
                ),
                False,
            ),
            showNote=(boolean, False),
        ),
        False,
    ),
)


def validate_blocks_layout(layout: Any, langs: Iterable[str]) -> dict[str, Any]:
    """Validate a RestAppLayoutDto for layout.blocks.set; raise LayoutError on the first error."""
    return REST_APP_LAYOUT(layout, "layout", "", frozenset(langs))


def validate_layout(layout: Any, langs: Iterable[str]) -> dict[str, Any]:
    """Validate a LayoutDto for crm.activity.configurable.*; raise LayoutError on the first error."""
    return LAYOUT(layout, "layout", "", frozenset(langs))


def actions(layout: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Yield every action object of a validated layout (for the UI and the restEvent helper)."""
    stack: list[Any] = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("redirect", "restEvent", "openRestApp") and "properties" not in node:
                yield node
            stack.extend(node.values())
