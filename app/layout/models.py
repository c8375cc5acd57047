"""Typed layout models; ``to_wire()`` gives the portal's JSON back.

Two wire formats (protocol notes §6): RestAppLayoutDto ``{"blocks": {...}}`` for
crm.activity.layout.blocks.set, and LayoutDto (icon, header, body, footer) for crm.activity.configurable.add
and .update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any, ClassVar, TypeAlias

from app.layout.schema import (
    AnimationType,
    ButtonType,
    Color,
    LabelBgColor,
    ParamValue,
    Scope,
    Size,
    TagType,
    TextWithTranslation,
)

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
    tags: Mapping[str, Tag] | None = None  # keyed by the app's tag id


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
    items: Mapping[str, MenuItem] | None = None  # keyed by the app's item id


@dataclass(frozen=True)
class Footer(_Wire):
    """Up to two buttons, the note switch and the menu."""

    _: KW_ONLY
    buttons: Mapping[str, Button] | None = None  # keyed by the app's button id
    show_note: bool | None = None
    menu: Menu | None = None


@dataclass(frozen=True)
class ConfigurableLayout(_Wire):
    """LayoutDto of a configurable activity (crm.activity.configurable.add/update)."""

    icon: Icon
    header: Header
    body: Body
    footer: Footer | None = None
