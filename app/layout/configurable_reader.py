"""Read LayoutDto JSON of a configurable activity (crm.activity.configurable.add/update)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from app.layout.checks import _as_map, _as_object, _join, _Reader
from app.layout.dto import (
    Dto,
    Part,
    block_map,
    enum,
    flag,
    keyed_objects,
    nonempty,
    objects,
    required,
    string,
    text,
)
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
)
from app.layout.problems import N_, Code
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
    return reader.read(_read_configurable, data)


def validate_configurable_layout(
    layout: ConfigurableLayout,
    *,
    languages: Collection[str] | None = None,
    icons: Collection[str] | None = None,
    logos: Collection[str] | None = None,
) -> None:
    """Raise LayoutError if the portal would refuse this layout."""
    parse_configurable_layout(layout.to_wire(), languages=languages, icons=icons, logos=logos)


# LayoutDto of a configurable activity


def _read_configurable(r: _Reader, data: Any) -> ConfigurableLayout | None:
    fields_ = _as_object(data)
    if fields_ is None:
        r.report(Code.WRONG_FIELD_VALUE, "", N_("A layout must be a JSON object with icon, header and body."))
        return None
    return CONFIGURABLE.read(r, fields_, "")


def _codes(kind: str) -> Callable[[_Reader], Sequence[str] | None]:
    """The portal's icon or logo codes this reader was given; None lets any code pass."""
    return lambda r: r.icons if kind == "icons" else r.logos


def _keyed(dto: Dto[T]) -> Part:
    """Read tags, buttons or menu items keyed by id."""

    def read(r: _Reader, value: Any, path: str) -> dict[str, T | None] | None:
        items = _as_map(value) if value is not None else None
        if items is None:
            return None
        objects_ = {key: _as_object(item) for key, item in items.items()}
        return {
            key: dto.read(r, item, _join(path, key)) for key, item in objects_.items() if item is not None
        }

    return read


def _body_blocks(r: _Reader, value: Any, path: str) -> Any:
    return _read_blocks(r, value, path, nested=False)


ACTION: tuple[str, Part] = ("action", _read_action)
ICON = Dto(Icon, N_("The icon"), [required("code"), string("code"), enum("code", _codes("icons"))])
TAG = Dto(
    Tag,
    N_("A tag"),
    # The docs list scope and hideIfReadonly for tags, but the portal's TagDto has neither.
    [required("title"), text("title"), required("type"), enum("type", TAG_TYPES), objects("action")],
    parts={"action": ACTION},
)
HEADER = Dto(
    Header,
    N_("The header"),
    [required("title"), text("title"), objects("titleAction"), keyed_objects("tags", MAX_TAGS)],
    parts={"title_action": ("titleAction", _read_action), "tags": ("tags", _keyed(TAG))},
)
LOGO = Dto(
    Logo,
    N_("The logo"),
    [required("code"), string("code"), enum("code", _codes("logos")), objects("action")],
    parts={"action": ACTION},
)
BODY = Dto(
    Body,
    N_("The body"),
    [
        required("logo"),
        objects("logo"),
        required("blocks"),
        nonempty("blocks"),
        block_map("blocks", MAX_BLOCKS),
    ],
    parts={"logo": ("logo", LOGO.read_object), "blocks": ("blocks", _body_blocks)},
)
BUTTON = Dto(
    Button,
    N_("A button"),
    [
        required("title"),
        text("title"),
        required("type"),
        required("action"),
        enum("type", BUTTON_TYPES),
        objects("action"),
        enum("scope", SCOPES),
        flag("hideIfReadonly"),
    ],
    parts={"action": ACTION},
)
MENU_ITEM = Dto(
    MenuItem,
    N_("A menu item"),
    [
        required("title"),
        text("title"),
        required("action"),
        objects("action"),
        enum("scope", SCOPES),
        flag("hideIfReadonly"),
    ],
    parts={"action": ACTION},
)
MENU = Dto(
    Menu,
    N_("The menu"),
    [
        keyed_objects("items", MAX_MENU_ITEMS),
        flag("showPinItem"),
        flag("showPostponeItem"),
        flag("showDeleteItem"),
    ],
    parts={"items": ("items", _keyed(MENU_ITEM))},
)
FOOTER = Dto(
    Footer,
    N_("The footer"),
    [keyed_objects("buttons", MAX_BUTTONS), flag("showNote"), objects("menu")],
    parts={"buttons": ("buttons", _keyed(BUTTON)), "menu": ("menu", MENU.read_object)},
)
CONFIGURABLE = Dto(
    ConfigurableLayout,
    N_("A configurable layout"),
    [
        required("icon"),
        objects("icon"),
        required("header"),
        objects("header"),
        required("body"),
        objects("body"),
        objects("footer"),
    ],
    parts={
        "icon": ("icon", ICON.read_object),
        "header": ("header", HEADER.read_object),
        "body": ("body", BODY.read_object),
        "footer": ("footer", FOOTER.read_object),
    },
)
