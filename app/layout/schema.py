"""The wire schema's value types, enum values and limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeAlias, get_args

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
