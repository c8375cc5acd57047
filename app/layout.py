"""Bitrix24 timeline layouts: typed content blocks and configurable-activity layouts, checked before sending.

Two wire formats (protocol notes §6): RestAppLayoutDto ``{"blocks": {...}}`` for
crm.activity.layout.blocks.set, and LayoutDto (icon, header, body, footer) for crm.activity.configurable.add
and .update. ``parse_layout`` and ``parse_configurable_layout`` validate untrusted JSON and build models;
``to_wire()`` gives the portal's JSON back.

The checks mirror the portal's DTO validators (crm/lib/activity/entity/configurablerestapp/dto): each object
runs its own checks, then the unknown-property check, then its nested objects, so ``problems[0]`` is the error
the portal would return. Where the portal is lenient (it casts scalars, takes a block without a type) the app
refuses anyway; such problems are marked ``strict`` and sorted after the ones the portal itself would report.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any, ClassVar, Literal, Self, TypeAlias, TypeVar, cast, get_args
from urllib.parse import urlsplit

T = TypeVar("T")
Data: TypeAlias = Mapping[str, Any]  # one JSON object of untrusted input

Scope = Literal["web", "mobile"]
Size = Literal["xs", "sm", "md"]
Color = Literal["base_50", "base_60", "base_70", "base_90"]
AnimationType = Literal["loader", "disable"]
TagType = Literal["success", "failure", "warning", "primary", "secondary"]
ButtonType = Literal["primary", "secondary"]
LabelBgColor = Literal["aqua", "green", "orange", "brown", "pink", "blue", "grey", "violet"]
# A plain string, or a map of portal language ids to strings ({"en": "Save", "de": "Speichern"}).
TextWithTranslation: TypeAlias = str | Mapping[str, str]
ParamValue: TypeAlias = str | int | float | bool

SCOPES: tuple[str, ...] = get_args(Scope)
SIZES: tuple[str, ...] = get_args(Size)
COLORS: tuple[str, ...] = get_args(Color)
ANIMATION_TYPES: tuple[str, ...] = get_args(AnimationType)
TAG_TYPES: tuple[str, ...] = get_args(TagType)
BUTTON_TYPES: tuple[str, ...] = get_args(ButtonType)
LABEL_BG_COLORS: tuple[str, ...] = get_args(LabelBgColor)
BLOCK_TYPES = ("text", "largeText", "link", "deadline", "withTitle", "lineOfBlocks")
SIMPLE_BLOCK_TYPES = ("text", "link", "deadline")  # what withTitle and lineOfBlocks may hold
ACTION_TYPES = ("redirect", "restEvent", "openRestApp")
MAX_BLOCKS = 20  # layout blocks, body blocks and lineOfBlocks children alike
MAX_ACTION_PARAMS = 20
MAX_TAGS = 2
MAX_BUTTONS = 2
MAX_MENU_ITEMS = 10

_KEY = re.compile(r"[a-zA-Z0-9_-]+")
_HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


class Code(enum.StrEnum):
    """The portal's validation error codes (the REST `error` field)."""

    FIELD_IS_REQUIRED = "FIELD_IS_REQUIRED"
    FIELD_IS_REDUNDANT = "FIELD_IS_REDUNDANT"
    WRONG_FIELD_VALUE = "WRONG_FIELD_VALUE"
    ENUM_FIELD = "ENUM_FIELD"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    KEY_CONTAIN_WRONG_SYMBOLS = "KEY_CONTAIN_WRONG_SYMBOLS"
    WRONG_LANG = "WRONG_LANG"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a layout, at a dotted path such as ``blocks.b3.properties.action.type``."""

    code: Code
    path: str
    message: str
    strict: bool = False  # True when the portal would accept it and only the app refuses

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as JSON-ready data."""
        return {"code": str(self.code), "path": self.path, "message": self.message, "strict": self.strict}


class LayoutError(ValueError):
    """A layout the portal would refuse; ``problems[0]`` is the one the portal would report."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first.path or 'layout'}: {first.message}{suffix}")

    @property
    def code(self) -> Code:
        return self.problems[0].code

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the JSON body the app's APIs send: error, message and every problem."""
        return {
            "error": str(self.code),
            "message": self.problems[0].message,
            "problems": [problem.to_dict() for problem in self.problems],
        }


# --- wire format --------------------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _json(value: Any) -> Any:
    if hasattr(value, "to_wire"):
        return value.to_wire()
    if isinstance(value, Mapping):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


def _wire(obj: Any) -> dict[str, Any]:
    """Return a dataclass's set fields under their camelCase wire names, in declaration order."""
    pairs = ((item.name, getattr(obj, item.name)) for item in fields(obj))
    return {_camel(name): _json(value) for name, value in pairs if value is not None}


def _wire_names(cls: Any) -> tuple[str, ...]:
    return tuple(_camel(item.name) for item in fields(cls))


class _Wire:
    def to_wire(self) -> dict[str, Any]:
        """Return the JSON the portal expects, without unset optional fields."""
        return _wire(self)


class _Action:
    kind: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        """Return the ActionDto JSON: its type, then its fields."""
        return {"type": self.kind, **_wire(self)}


class _Block:
    kind: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        """Return the ContentBlockDto JSON: type and properties."""
        return {"type": self.kind, "properties": _wire(self)}


# --- actions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redirect(_Action):
    """Open a portal page in a slider (relative uri) or any URL in a new tab (absolute uri)."""

    uri: str
    kind: ClassVar[str] = "redirect"


@dataclass(frozen=True)
class RestEvent(_Action):
    """Send ONCRMTIMELINEITEMACTION (with the params) to the app that created the item."""

    id: str
    action_params: Mapping[str, ParamValue] | None = None
    _: KW_ONLY
    animation_type: AnimationType | None = None
    kind: ClassVar[str] = "restEvent"


@dataclass(frozen=True)
class SliderParams(_Wire):
    """How the portal opens the app's slider for openRestApp."""

    _: KW_ONLY
    width: int | None = None
    left_boundary: int | None = None
    title: str | None = None
    label_text: str | None = None
    label_color: str | None = None  # #rrggbb
    label_bg_color: LabelBgColor | None = None


@dataclass(frozen=True)
class OpenRestApp(_Action):
    """Open the app that set the layout, passing the params in PLACEMENT_OPTIONS."""

    action_params: Mapping[str, ParamValue] | None = None
    _: KW_ONLY
    slider_params: SliderParams | None = None
    kind: ClassVar[str] = "openRestApp"


Action: TypeAlias = Redirect | RestEvent | OpenRestApp


def redirect(uri: str) -> Redirect:
    """Return a redirect action."""
    return Redirect(uri)


def rest_event(
    id: str, params: Mapping[str, ParamValue] | None = None, *, animation: AnimationType | None = None
) -> RestEvent:
    """Return a restEvent action."""
    return RestEvent(id, params, animation_type=animation)


def open_rest_app(
    params: Mapping[str, ParamValue] | None = None, *, slider: SliderParams | None = None
) -> OpenRestApp:
    """Return an openRestApp action."""
    return OpenRestApp(params, slider_params=slider)


# --- content blocks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text(_Block):
    """A line of text; ``title`` is the HTML title attribute, ``multiline`` turns newlines into breaks."""

    value: TextWithTranslation
    _: KW_ONLY
    multiline: bool | None = None
    title: TextWithTranslation | None = None
    bold: bool | None = None
    size: Size | None = None
    color: Color | None = None
    scope: Scope | None = None
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class LargeText(_Block):
    """Long text, collapsed under "Show more"."""

    value: TextWithTranslation
    _: KW_ONLY
    scope: Scope | None = None
    kind: ClassVar[str] = "largeText"


@dataclass(frozen=True)
class Link(_Block):
    """A link that runs an action."""

    text: TextWithTranslation
    # Keyword-only but declared before action: the portal's property order, kept on the wire.
    bold: bool | None = field(default=None, kw_only=True)
    action: Action
    scope: Scope | None = field(default=None, kw_only=True)
    kind: ClassVar[str] = "link"


@dataclass(frozen=True)
class Deadline(_Block):
    """The activity's deadline, editable unless ``readonly``."""

    _: KW_ONLY
    readonly: bool | None = None
    scope: Scope | None = None
    kind: ClassVar[str] = "deadline"


SimpleBlock: TypeAlias = Text | Link | Deadline


@dataclass(frozen=True)
class WithTitle(_Block):
    """A titled block; the inner block is text, link or deadline."""

    title: TextWithTranslation | None
    inline: bool | None = field(default=None, kw_only=True)
    block: SimpleBlock
    scope: Scope | None = field(default=None, kw_only=True)
    kind: ClassVar[str] = "withTitle"


@dataclass(frozen=True)
class LineOfBlocks(_Block):
    """Up to 20 text, link or deadline blocks on one line."""

    blocks: Mapping[str, SimpleBlock]
    _: KW_ONLY
    scope: Scope | None = None
    kind: ClassVar[str] = "lineOfBlocks"


Block: TypeAlias = Text | LargeText | Link | Deadline | WithTitle | LineOfBlocks


@dataclass(frozen=True)
class Layout(_Wire):
    """RestAppLayoutDto: the blocks an app adds to an activity, keyed by block id, in display order."""

    blocks: Mapping[str, Block]

    def validate(self, *, languages: Collection[str] | None = None) -> None:
        """Raise LayoutError if the portal would refuse this layout."""
        parse_layout(self.to_wire(), languages=languages)


# --- configurable activity layout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Icon(_Wire):
    """The timeline icon, a code from crm.timeline.icon.list."""

    code: str


@dataclass(frozen=True)
class Tag(_Wire):
    """A coloured tag in the header."""

    title: TextWithTranslation
    type: TagType
    _: KW_ONLY
    action: Action | None = None


@dataclass(frozen=True)
class Header(_Wire):
    """The item's title, its click action and up to two tags."""

    title: TextWithTranslation
    _: KW_ONLY
    title_action: Action | None = None
    tags: Sequence[Tag] | None = None


@dataclass(frozen=True)
class Logo(_Wire):
    """The body logo, a code from crm.timeline.logo.list."""

    code: str
    _: KW_ONLY
    action: Action | None = None


@dataclass(frozen=True)
class Body(_Wire):
    """The logo and the content blocks."""

    logo: Logo
    blocks: Mapping[str, Block]


@dataclass(frozen=True)
class Button(_Wire):
    """A footer button."""

    title: TextWithTranslation
    type: ButtonType
    action: Action
    _: KW_ONLY
    scope: Scope | None = None
    hide_if_readonly: bool | None = None


@dataclass(frozen=True)
class MenuItem(_Wire):
    """An entry of the footer's "more" menu."""

    title: TextWithTranslation
    action: Action
    _: KW_ONLY
    scope: Scope | None = None
    hide_if_readonly: bool | None = None


@dataclass(frozen=True)
class Menu(_Wire):
    """The footer's "more" menu: the standard entries to show and up to ten of the app's."""

    _: KW_ONLY
    show_pin_item: bool | None = None
    show_postpone_item: bool | None = None
    show_delete_item: bool | None = None
    items: Sequence[MenuItem] | None = None


@dataclass(frozen=True)
class Footer(_Wire):
    """Up to two buttons, the note switch and the menu."""

    _: KW_ONLY
    buttons: Sequence[Button] | None = None
    show_note: bool | None = None
    menu: Menu | None = None


@dataclass(frozen=True)
class ConfigurableLayout(_Wire):
    """LayoutDto of a configurable activity (crm.activity.configurable.add/update)."""

    icon: Icon
    header: Header
    body: Body
    footer: Footer | None = None

    def validate(
        self,
        *,
        languages: Collection[str] | None = None,
        icons: Collection[str] | None = None,
        logos: Collection[str] | None = None,
    ) -> None:
        """Raise LayoutError if the portal would refuse this layout."""
        parse_configurable_layout(self.to_wire(), languages=languages, icons=icons, logos=logos)


# --- builder and templates ----------------------------------------------------------------------------------


class LayoutBuilder:
    """Build a Layout block by block, in display order; ``build()`` validates it."""

    def __init__(self) -> None:
        self._blocks: dict[str, Block] = {}

    def add(self, key: str, block: Block) -> Self:
        """Append a block under a key that is not used yet."""
        if key in self._blocks:
            raise ValueError(f"block key {key!r} is used twice")
        self._blocks[key] = block
        return self

    def text(
        self,
        key: str,
        value: TextWithTranslation,
        *,
        multiline: bool | None = None,
        title: TextWithTranslation | None = None,
        bold: bool | None = None,
        size: Size | None = None,
        color: Color | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a text block."""
        block = Text(value, multiline=multiline, title=title, bold=bold, size=size, color=color, scope=scope)
        return self.add(key, block)

    def large_text(self, key: str, value: TextWithTranslation, *, scope: Scope | None = None) -> Self:
        """Append a long, collapsible text block."""
        return self.add(key, LargeText(value, scope=scope))

    def link(
        self,
        key: str,
        text: TextWithTranslation,
        action: Action,
        *,
        bold: bool | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a link block."""
        return self.add(key, Link(text, action, bold=bold, scope=scope))

    def deadline(self, key: str, *, readonly: bool | None = None, scope: Scope | None = None) -> Self:
        """Append the activity's deadline."""
        return self.add(key, Deadline(readonly=readonly, scope=scope))

    def with_title(
        self,
        key: str,
        title: TextWithTranslation | None,
        block: SimpleBlock,
        *,
        inline: bool | None = None,
        scope: Scope | None = None,
    ) -> Self:
        """Append a titled text, link or deadline block."""
        return self.add(key, WithTitle(title, block, inline=inline, scope=scope))

    def line_of_blocks(
        self, key: str, blocks: Mapping[str, SimpleBlock], *, scope: Scope | None = None
    ) -> Self:
        """Append a line of text, link or deadline blocks."""
        return self.add(key, LineOfBlocks(dict(blocks), scope=scope))

    def build(self, *, languages: Collection[str] | None = None) -> Layout:
        """Return the layout, or raise LayoutError if the portal would refuse it."""
        layout = Layout(dict(self._blocks))
        layout.validate(languages=languages)
        return layout


def fill(layout_json: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of template JSON with ``{{NAME}}`` replaced in every string value (never in keys).

    Unknown names stay visible as ``{{NAME}}`` rather than failing a background job or vanishing silently;
    check a template when it is saved with ``placeholders(template) - known_names``. Inserted values are not
    scanned again, so a CRM value that contains ``{{X}}`` cannot pull in another value.
    """
    return cast(dict[str, Any], _fill(layout_json, values))


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), value)
    if isinstance(value, Mapping):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def placeholders(layout_json: Any) -> set[str]:
    """Return the ``{{NAME}}`` names used in the string values of template JSON."""
    if isinstance(layout_json, str):
        return set(_PLACEHOLDER.findall(layout_json))
    if isinstance(layout_json, Mapping):
        items = list(layout_json.values())
    elif isinstance(layout_json, list):
        items = layout_json
    else:
        return set()
    names: set[str] = set()
    for item in items:
        names |= placeholders(item)
    return names


# --- validation ---------------------------------------------------------------------------------------------


def parse_layout(data: Any, *, languages: Collection[str] | None = None) -> Layout:
    """Validate RestAppLayoutDto JSON like the portal does and build the Layout; raise LayoutError.

    ``languages``: the portal's installed language ids; without it translation keys are not checked.
    """
    reader = _Reader(languages)
    return reader.result(_read_layout(reader, data))


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


def _join(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


def _as_object(value: Any) -> dict[str, Any] | None:
    """Return a JSON object; PHP sends an empty map as ``[]``, so that counts as one too."""
    if isinstance(value, dict):
        return value
    return {} if value == [] else None


def _as_map(value: Any) -> dict[str, Any] | None:
    """Return a keyed collection; a JSON array is a PHP map keyed 0..n-1 (blocks.get returns such maps so)."""
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return _as_object(value)


def _show(value: Any) -> str:
    """Return a value as JSON for a message, cut short so a huge value cannot flood the editor."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


class _Reader:
    """Walks untrusted layout JSON, collecting problems in the order the portal's validators run."""

    def __init__(
        self,
        languages: Collection[str] | None,
        *,
        icons: Collection[str] | None = None,
        logos: Collection[str] | None = None,
    ) -> None:
        self.problems: list[Problem] = []
        self.languages = None if languages is None else frozenset(languages)
        self.icons = None if icons is None else tuple(icons)
        self.logos = None if logos is None else tuple(logos)

    def report(self, code: Code, path: str, message: str, *, strict: bool = False) -> None:
        self.problems.append(Problem(code, path, message, strict))

    def mark(self) -> int:
        return len(self.problems)

    def failed(self, mark: int) -> bool:
        return len(self.problems) > mark

    def build(self, mark: int, cls: Callable[..., T], data: Mapping[str, Any], **nested: Any) -> T | None:
        """Build a model from checked wire data, unless a problem was found since ``mark``."""
        if self.failed(mark):
            return None
        names = {_camel(item.name): item.name for item in fields(cast(Any, cls))}
        values = {
            names[key]: _copy(value) for key, value in data.items() if key in names and value is not None
        }
        return cls(**(values | nested))

    def result(self, value: T | None) -> T:
        """Return the built model, or raise every problem, the portal's own first."""
        if self.problems:
            raise LayoutError(sorted(self.problems, key=lambda problem: problem.strict))
        assert value is not None
        return value

    # One method per portal validator; each checks one field of an object at ``path``.

    def required(self, data: Data, path: str, name: str, what: str, *, strict: bool = False) -> None:
        where = _join(path, name)
        if name not in data:
            self.report(Code.FIELD_IS_REQUIRED, where, f"{what} needs '{name}'.", strict=strict)
        elif data[name] is None:  # the portal only checks that the key exists
            self.report(Code.FIELD_IS_REQUIRED, where, f"{what} needs '{name}', not null.", strict=True)

    def nonempty(self, data: Data, path: str, name: str, what: str, *, strict: bool = False) -> None:
        if data.get(name) in ({}, []):
            message = f"{what} needs at least one block in '{name}'."
            self.report(Code.FIELD_IS_REQUIRED, _join(path, name), message, strict=strict)

    def text(self, data: Data, path: str, name: str) -> None:
        """Check a textWithTranslation: a string, or a non-empty map of installed languages to strings."""
        value = data.get(name)
        where = _join(path, name)
        if value is None or isinstance(value, str):
            return
        if not isinstance(value, dict) or not value:  # the portal casts scalars and takes an empty map as ""
            message = f"'{name}' must be a string or a non-empty map of language ids to strings."
            self.report(Code.WRONG_FIELD_VALUE, where, message, strict=True)
            return
        for lang, item in value.items():
            if self.languages is not None and lang not in self.languages:
                installed = ", ".join(sorted(self.languages))
                message = f"Language {lang!r} is not installed on the portal; use one of: {installed}."
                self.report(Code.WRONG_LANG, _join(where, lang), message)
            elif not isinstance(item, str):
                message = f"The {lang!r} text must be a string, not {_show(item)}."
                self.report(Code.WRONG_FIELD_VALUE, _join(where, lang), message)

    def flag(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        # The portal casts anything to a boolean; the app wants a real one.
        if value is not None and not isinstance(value, bool):
            message = f"'{name}' must be true or false, not {_show(value)}."
            self.report(Code.WRONG_FIELD_VALUE, _join(path, name), message, strict=True)

    def string(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            message = f"'{name}' must be a string, not {_show(value)}."
            self.report(Code.WRONG_FIELD_VALUE, _join(path, name), message, strict=True)

    def integer(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            message = f"'{name}' must be a whole number, not {_show(value)}."
            self.report(Code.WRONG_FIELD_VALUE, _join(path, name), message, strict=True)

    def enum(self, data: Data, path: str, name: str, values: Sequence[str], *, strict: bool = False) -> None:
        if name in data and data[name] not in values:  # null too: the portal's in_array refuses it
            message = f"{_show(data[name])} is not a valid '{name}'; use one of: {', '.join(values)}."
            self.report(Code.ENUM_FIELD, _join(path, name), message, strict=strict)

    def pattern(self, data: Data, path: str, name: str, regex: re.Pattern[str], hint: str) -> None:
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and regex.fullmatch(value)):
            self.report(
                Code.WRONG_FIELD_VALUE, _join(path, name), f"'{name}' must be {hint}, not {_show(value)}."
            )

    def object_field(self, data: Data, path: str, name: str) -> None:
        value = data.get(name, {})
        if _as_object(value) is None:
            # A non-empty JSON array is a PHP array, so the portal takes it; the app wants an object.
            strict = isinstance(value, list)
            message = f"'{name}' must be a JSON object, not {_show(value)}."
            self.report(Code.WRONG_FIELD_VALUE, _join(path, name), message, strict=strict)

    def web_address(self, data: Data, path: str, name: str) -> None:
        value = data.get(name)
        # The portal passes any uri on; an external system must not slip a javascript: link into a timeline.
        if isinstance(value, str) and urlsplit(value).scheme.lower() not in ("", "http", "https"):
            message = f"'{name}' must be a portal path such as /crm/deal/details/1/ or an http(s) URL."
            self.report(Code.WRONG_FIELD_VALUE, _join(path, name), message, strict=True)

    def key(self, key: object, path: str) -> None:
        if isinstance(key, int):  # PHP map keys may be integers; only string keys are pattern-checked
            return
        if not (isinstance(key, str) and _KEY.fullmatch(key)):
            message = f"Key {key!r} may contain only Latin letters, digits, '-' and '_'."
            self.report(Code.KEY_CONTAIN_WRONG_SYMBOLS, _join(path, key), message)

    def count(self, items: Collection[Any], path: str, name: str, limit: int) -> None:
        if len(items) > limit:
            message = f"'{name}' has {len(items)} items; at most {limit} are allowed."
            self.report(Code.TOO_MANY_ITEMS, path, message)

    def block_map(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check an object of blocks keyed by block id (the portal's ObjectCollectionField)."""
        where = _join(path, name)
        items = _as_map(data.get(name, {}))
        if items is None:
            self.report(Code.WRONG_FIELD_VALUE, where, f"'{name}' must be a JSON object keyed by block id.")
            return
        for key, item in items.items():
            self.key(key, where)
            if _as_object(item) is None:
                self.report(Code.WRONG_FIELD_VALUE, _join(where, key), "A block must be a JSON object.")
        self.count(items, where, name, limit)

    def object_list(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check an array of objects such as tags, buttons or menu items."""
        where = _join(path, name)
        items = data.get(name)
        if items is None:
            return
        if not isinstance(items, list):
            # The portal also takes a keyed object here; the app's models hold arrays.
            self.report(Code.WRONG_FIELD_VALUE, where, f"'{name}' must be a JSON array.", strict=True)
            return
        for index, item in enumerate(items):
            if _as_object(item) is None:
                message = f"Each item of '{name}' must be a JSON object, not {_show(item)}."
                self.report(Code.WRONG_FIELD_VALUE, _join(where, index), message)
        self.count(items, where, name, limit)

    def scalar_map(self, data: Data, path: str, name: str, limit: int) -> None:
        """Check actionParams: a flat object of strings, numbers or booleans."""
        where = _join(path, name)
        if name not in data:
            return
        items = _as_object(data[name])
        if items is None:
            strict = isinstance(data[name], list)
            message = f"'{name}' must be a JSON object of strings, numbers or booleans."
            self.report(Code.WRONG_FIELD_VALUE, where, message, strict=strict)
            return
        for key, item in items.items():
            self.key(key, where)
            if item is None or isinstance(item, dict | list):
                message = f"Parameter {key!r} must be a string, number or boolean, not {_show(item)}."
                self.report(Code.WRONG_FIELD_VALUE, _join(where, key), message)
        self.count(items, where, name, limit)

    def simple_types(self, data: Data, path: str, name: str, *, many: bool) -> None:
        """Check that nested blocks are text, link or deadline (the portal's SimpleContentBlockField)."""
        where = _join(path, name)
        if many:
            children = [(_join(where, key), block) for key, block in (_as_map(data.get(name)) or {}).items()]
        else:
            children = [(where, data.get(name))]
        objects = [(at, block) for at, block in children if isinstance(block, dict)]
        for position, (at, block) in enumerate(objects, start=1):
            if block.get("type") in SIMPLE_BLOCK_TYPES:
                continue
            got = _show(block["type"]) if "type" in block else "a block without a type"
            message = f"Only text, link or deadline blocks can be nested here, not {got}."
            # The portal keeps only the last child's verdict, so an earlier bad child slips through there.
            self.report(Code.WRONG_FIELD_VALUE, _join(at, "type"), message, strict=position < len(objects))

    def no_extra(
        self,
        data: Mapping[str, Any],
        path: str,
        allowed: Sequence[str],
        what: str,
        *,
        lenient: Collection[str] = (),
    ) -> None:
        """Refuse unknown properties; ``lenient`` names are ones the portal would let through."""
        for name in data:
            if name in allowed:
                continue
            hint = difflib.get_close_matches(str(name), allowed, n=1)
            guess = f" Did you mean '{hint[0]}'?" if hint else ""
            message = f"{what} has no property '{name}'.{guess} Allowed: {', '.join(allowed)}."
            self.report(Code.FIELD_IS_REDUNDANT, _join(path, name), message, strict=name in lenient)


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
    return {key: _read_block(r, item, _join(path, key), nested=nested) for key, item in items.items()}


def _read_block(r: _Reader, data: Any, path: str, *, nested: bool) -> Block | None:
    """Read one ContentBlockDto; a nested block's type was already checked by its parent."""
    fields_ = _as_object(data)
    if fields_ is None:
        return None
    mark = r.mark()
    if not nested:
        r.required(fields_, path, "type", "A block", strict=True)  # the portal skips a block without a type
        r.enum(fields_, path, "type", BLOCK_TYPES)
    r.required(fields_, path, "properties", "A block", strict=True)
    r.object_field(fields_, path, "properties")
    r.no_extra(fields_, path, ("type", "properties"), "A block")
    kind = fields_.get("type")
    properties = _as_object(fields_.get("properties"))
    allowed = SIMPLE_BLOCK_TYPES if nested else BLOCK_TYPES
    if not isinstance(kind, str) or kind not in allowed or properties is None:
        return None
    block = _BLOCK_READERS[kind](r, properties, _join(path, "properties"))
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
    block = _read_block(r, props.get("block"), _join(path, "block"), nested=True)
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
    r.object_list(fields_, path, "tags", MAX_TAGS)
    r.no_extra(fields_, path, _wire_names(Header), "The header")
    action = _read_action(r, fields_.get("titleAction"), _join(path, "titleAction"))
    tags = _read_list(r, fields_.get("tags"), _join(path, "tags"), _read_tag)
    return r.build(mark, Header, fields_, title_action=action, tags=tags)


def _read_list(
    r: _Reader, value: Any, path: str, read: Callable[[_Reader, dict[str, Any], str], T | None]
) -> list[T | None] | None:
    if not isinstance(value, list):
        return None
    items = [(index, _as_object(item)) for index, item in enumerate(value)]
    return [read(r, item, _join(path, index)) for index, item in items if item is not None]


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
    r.object_list(fields_, path, "buttons", MAX_BUTTONS)
    r.flag(fields_, path, "showNote")
    r.object_field(fields_, path, "menu")
    r.no_extra(fields_, path, _wire_names(Footer), "The footer")
    buttons = _read_list(r, fields_.get("buttons"), _join(path, "buttons"), _read_button)
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
    r.object_list(fields_, path, "items", MAX_MENU_ITEMS)
    for name in ("showPinItem", "showPostponeItem", "showDeleteItem"):
        r.flag(fields_, path, name)
    r.no_extra(fields_, path, _wire_names(Menu), "The menu")
    items = _read_list(r, fields_.get("items"), _join(path, "items"), _read_menu_item)
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
