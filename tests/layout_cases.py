"""One corpus of layouts for two validators: the app's (app/layout/) and the sandbox portal's.

Each case names a layout, the code of the first problem the portal reports (None: accepted) and, for the app,
the path of that problem. The portal's languages are LANGUAGES; icon and logo codes are not checked.

- CASES: RestAppLayoutDto, the ``layout`` of crm.activity.layout.blocks.set (protocol notes §6.2).
- CONFIGURABLE_CASES: LayoutDto, the ``layout`` of crm.activity.configurable.add (notes §6.3).
- STRICT_CASES: layouts the portal's code lets through but the app refuses (it casts scalars, skips a block
  without a type, keeps only the last lineOfBlocks child's verdict...). A faithful sandbox accepts these.
"""

from __future__ import annotations

from typing import Any, NamedTuple

LANGUAGES = ("en", "de", "ru")

Json = dict[str, Any]


class Case(NamedTuple):
    name: str
    layout: Json
    code: str | None
    path: str | None = None


REDIRECT: Json = {"type": "redirect", "uri": "/crm/deal/details/123/"}
REST_EVENT: Json = {"type": "restEvent", "id": "confirm"}
OPEN_APP: Json = {"type": "openRestApp"}


def text(value: Any = "Hello", **props: Any) -> Json:
    return {"type": "text", "properties": {"value": value, **props}}


def large(value: Any = "Long text") -> Json:
    return {"type": "largeText", "properties": {"value": value}}


def link(action: Any = None, **props: Any) -> Json:
    return {
        "type": "link",
        "properties": {"text": "Open", "action": REDIRECT if action is None else action, **props},
    }


def deadline(**props: Any) -> Json:
    return {"type": "deadline", "properties": props}


def with_title(block: Any, **props: Any) -> Json:
    return {"type": "withTitle", "properties": {"title": "Title", "block": block, **props}}


def line(blocks: Any) -> Json:
    return {"type": "lineOfBlocks", "properties": {"blocks": blocks}}


def layout(*blocks: Any) -> Json:
    """Return a layout with the blocks under keys b1, b2, ..."""
    return {"blocks": {f"b{number}": block for number, block in enumerate(blocks, start=1)}}


def many(block: Json, count: int) -> Json:
    return {f"k{number}": block for number in range(count)}


def params(count: int) -> Json:
    return {f"p{number}": "v" for number in range(count)}


# §6.2's example, verbatim.
NOTES_EXAMPLE: Json = {
    "blocks": {
        "b1": {
            "type": "text",
            "properties": {
                "value": "Hello!\nWe are starting.",
                "multiline": True,
                "bold": True,
                "color": "base_90",
            },
        },
        "b2": {"type": "largeText", "properties": {"value": "long…"}},
        "b3": {
            "type": "link",
            "properties": {
                "text": "Open deal",
                "bold": True,
                "action": {"type": "redirect", "uri": "/crm/deal/details/123/"},
            },
        },
        "b4": {
            "type": "withTitle",
            "properties": {
                "title": "Title",
                "inline": True,
                "block": {"type": "text", "properties": {"value": "Some value"}},
            },
        },
        "b5": {
            "type": "lineOfBlocks",
            "properties": {
                "blocks": {
                    "t": {"type": "text", "properties": {"value": "x"}},
                    "l": {
                        "type": "link",
                        "properties": {
                            "text": "app",
                            "action": {"type": "openRestApp", "actionParams": {"k": "v"}},
                        },
                    },
                }
            },
        },
        "b6": {
            "type": "withTitle",
            "properties": {
                "title": "Deadline",
                "block": {"type": "deadline", "properties": {"readonly": False}},
            },
        },
    }
}

# The vendor's crm.activity.layout.blocks.set example (docs and vendor-examples.json), verbatim.
VENDOR_EXAMPLE: Json = {
    "blocks": {
        "block_1": {
            "type": "text",
            "properties": {
                "value": "Hello!\nWe are starting.",
                "multiline": True,
                "bold": True,
                "color": "base_90",
            },
        },
        "block_2": {
            "type": "largeText",
            "properties": {
                "value": "Hello!\nWe are starting.\nWe are continuing.\nWe are still working on this.\n"
                "We are continuing.\nWe are close to the result.\nGoodbye."
            },
        },
        "block_3": {
            "type": "link",
            "properties": {
                "text": "Open deal",
                "bold": True,
                "action": {"type": "redirect", "uri": "/crm/deal/details/123/"},
            },
        },
        "block_4": {
            "type": "withTitle",
            "properties": {
                "title": "Title",
                "block": {"type": "text", "properties": {"value": "Some value"}},
            },
        },
    }
}

P = "blocks.b1.properties"  # where a single block's properties sit

CASES: list[Case] = [
    # Valid layouts
    Case("notes example", NOTES_EXAMPLE, None),
    Case("vendor example", VENDOR_EXAMPLE, None),
    Case("one text block", layout(text()), None),
    Case(
        "absolute https redirect",
        layout(link({"type": "redirect", "uri": "https://example.com/a?b=1"})),
        None,
    ),
    Case(
        "text with every property",
        layout(
            text("a\nb", multiline=True, title="hint", bold=False, size="xs", color="base_50", scope="web")
        ),
        None,
    ),
    *(Case(f"text size {size}", layout(text(size=size)), None) for size in ("xs", "sm", "md")),
    *(
        Case(f"text color {color}", layout(text(color=color)), None)
        for color in ("base_50", "base_60", "base_70", "base_90")
    ),
    Case("text in two languages", layout(text({"en": "Save", "de": "Speichern"})), None),
    Case("largeText", layout(large()), None),
    Case(
        "link with restEvent",
        layout(link({**REST_EVENT, "actionParams": {"a": "1", "n": 2, "b": True}})),
        None,
    ),
    *(
        Case(f"restEvent animation {kind}", layout(link({**REST_EVENT, "animationType": kind})), None)
        for kind in ("loader", "disable")
    ),
    Case("link with openRestApp, no params", layout(link(OPEN_APP)), None),
    Case(
        "openRestApp with sliderParams",
        layout(
            link(
                {
                    **OPEN_APP,
                    "sliderParams": {
                        "width": 800,
                        "leftBoundary": 100,
                        "title": "App",
                        "labelText": "new",
                        "labelColor": "#1a2B3c",
                        "labelBgColor": "violet",
                    },
                }
            )
        ),
        None,
    ),
    *(
        Case(
            f"slider label {colour}",
            layout(link({**OPEN_APP, "sliderParams": {"labelBgColor": colour}})),
            None,
        )
        for colour in ("aqua", "green", "orange", "brown", "pink", "blue", "grey", "violet")
    ),
    Case("deadline, no properties set", layout(deadline()), None),
    Case("deadline readonly", layout(deadline(readonly=True)), None),
    *(
        Case(f"withTitle holding {kind}", layout(with_title(block)), None)
        for kind, block in (("text", text()), ("link", link()), ("deadline", deadline()))
    ),
    Case(
        "withTitle without a title",
        {"blocks": {"b1": {"type": "withTitle", "properties": {"block": text()}}}},
        None,
    ),
    Case(
        "lineOfBlocks of text, link and deadline",
        layout(line({"t": text(), "l": link(), "d": deadline()})),
        None,
    ),
    Case("mobile and web scopes", layout(text(scope="mobile"), large(), deadline(scope="web")), None),
    Case("keys with digits, dash and underscore", {"blocks": {"Block-1_a": text(), "2": text()}}, None),
    # Limits: 20 is fine, 21 is refused
    Case("20 blocks", {"blocks": many(text(), 20)}, None),
    Case("21 blocks", {"blocks": many(text(), 21)}, "TOO_MANY_ITEMS", "blocks"),
    Case("lineOfBlocks of 20", layout(line(many(text(), 20))), None),
    Case("lineOfBlocks of 21", layout(line(many(text(), 21))), "TOO_MANY_ITEMS", f"{P}.blocks"),
    Case("restEvent with 20 params", layout(link({**REST_EVENT, "actionParams": params(20)})), None),
    Case(
        "restEvent with 21 params",
        layout(link({**REST_EVENT, "actionParams": params(21)})),
        "TOO_MANY_ITEMS",
        f"{P}.action.actionParams",
    ),
    Case("openRestApp with 20 params", layout(link({**OPEN_APP, "actionParams": params(20)})), None),
    Case(
        "openRestApp with 21 params",
        layout(link({**OPEN_APP, "actionParams": params(21)})),
        "TOO_MANY_ITEMS",
        f"{P}.action.actionParams",
    ),
    # FIELD_IS_REQUIRED
    Case("no blocks", {}, "FIELD_IS_REQUIRED", "blocks"),
    Case("empty blocks", {"blocks": {}}, "FIELD_IS_REQUIRED", "blocks"),
    Case(
        "text without value",
        layout({"type": "text", "properties": {"bold": True}}),
        "FIELD_IS_REQUIRED",
        f"{P}.value",
    ),
    Case(
        "largeText without value",
        layout({"type": "largeText", "properties": {}}),
        "FIELD_IS_REQUIRED",
        f"{P}.value",
    ),
    Case(
        "link without text",
        layout({"type": "link", "properties": {"action": REDIRECT}}),
        "FIELD_IS_REQUIRED",
        f"{P}.text",
    ),
    Case(
        "link without action",
        layout({"type": "link", "properties": {"text": "Open"}}),
        "FIELD_IS_REQUIRED",
        f"{P}.action",
    ),
    Case("action without type", layout(link({"uri": "/x/"})), "FIELD_IS_REQUIRED", f"{P}.action.type"),
    Case("redirect without uri", layout(link({"type": "redirect"})), "FIELD_IS_REQUIRED", f"{P}.action.uri"),
    Case("restEvent without id", layout(link({"type": "restEvent"})), "FIELD_IS_REQUIRED", f"{P}.action.id"),
    Case(
        "withTitle without block",
        layout({"type": "withTitle", "properties": {"title": "T"}}),
        "FIELD_IS_REQUIRED",
        f"{P}.block",
    ),
    Case(
        "lineOfBlocks without blocks",
        layout({"type": "lineOfBlocks", "properties": {}}),
        "FIELD_IS_REQUIRED",
        f"{P}.blocks",
    ),
    Case(
        "text without value inside withTitle",
        layout(with_title({"type": "text", "properties": {}})),
        "FIELD_IS_REQUIRED",
        f"{P}.block.properties.value",
    ),
    Case(
        "link without action inside lineOfBlocks",
        layout(line({"l": {"type": "link", "properties": {"text": "x"}}})),
        "FIELD_IS_REQUIRED",
        f"{P}.blocks.l.properties.action",
    ),
    # FIELD_IS_REDUNDANT
    Case("unknown layout property", {**layout(text()), "title": "x"}, "FIELD_IS_REDUNDANT", "title"),
    Case("unknown block property", layout({**text(), "style": "x"}), "FIELD_IS_REDUNDANT", "blocks.b1.style"),
    Case("misspelt text property", layout(text(colour="base_90")), "FIELD_IS_REDUNDANT", f"{P}.colour"),
    Case(
        "text property on largeText",
        layout({"type": "largeText", "properties": {"value": "v", "bold": True}}),
        "FIELD_IS_REDUNDANT",
        f"{P}.bold",
    ),
    Case("unknown deadline property", layout(deadline(editable=True)), "FIELD_IS_REDUNDANT", f"{P}.editable"),
    Case(
        "unknown action property",
        layout(link({**REDIRECT, "target": "_blank"})),
        "FIELD_IS_REDUNDANT",
        f"{P}.action.target",
    ),
    Case(
        "unknown sliderParams property",
        layout(link({**OPEN_APP, "sliderParams": {"height": 300}})),
        "FIELD_IS_REDUNDANT",
        f"{P}.action.sliderParams.height",
    ),
    # WRONG_FIELD_VALUE
    Case("blocks is a string", {"blocks": "text"}, "WRONG_FIELD_VALUE", "blocks"),
    Case("a block is a string", {"blocks": {"b1": "text"}}, "WRONG_FIELD_VALUE", "blocks.b1"),
    Case("action is a string", layout(link("/crm/")), "WRONG_FIELD_VALUE", f"{P}.action"),
    Case("withTitle block is a string", layout(with_title("text")), "WRONG_FIELD_VALUE", f"{P}.block"),
    Case("largeText inside withTitle", layout(with_title(large())), "WRONG_FIELD_VALUE", f"{P}.block.type"),
    Case(
        "withTitle inside withTitle",
        layout(with_title(with_title(text()))),
        "WRONG_FIELD_VALUE",
        f"{P}.block.type",
    ),
    Case(
        "lineOfBlocks inside withTitle",
        layout(with_title(line({"t": text()}))),
        "WRONG_FIELD_VALUE",
        f"{P}.block.type",
    ),
    Case(
        "unknown type inside withTitle",
        layout(with_title({"type": "image", "properties": {}})),
        "WRONG_FIELD_VALUE",
        f"{P}.block.type",
    ),
    Case(
        "largeText last in lineOfBlocks",
        layout(line({"t": text(), "x": large()})),
        "WRONG_FIELD_VALUE",
        f"{P}.blocks.x.type",
    ),
    # Each lineOfBlocks child is still a ContentBlockDto: its own checks run, whatever the type check says.
    Case(
        "unknown type before the last lineOfBlocks child",
        layout(line({"x": {"type": "image", "properties": {}}, "t": text()})),
        "ENUM_FIELD",
        f"{P}.blocks.x.type",
    ),
    Case(
        "largeText without value before the last lineOfBlocks child",
        layout(line({"x": {"type": "largeText", "properties": {}}, "t": text()})),
        "FIELD_IS_REQUIRED",
        f"{P}.blocks.x.properties.value",
    ),
    Case(
        "withTitle last in lineOfBlocks",
        layout(line({"t": text(), "w": with_title(text())})),
        "WRONG_FIELD_VALUE",
        f"{P}.blocks.w.type",
    ),
    Case("lineOfBlocks blocks is a string", layout(line("t")), "WRONG_FIELD_VALUE", f"{P}.blocks"),
    Case("translation is not a string", layout(text({"en": 5})), "WRONG_FIELD_VALUE", f"{P}.value.en"),
    Case(
        "actionParams is a string",
        layout(link({**REST_EVENT, "actionParams": "a=1"})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.actionParams",
    ),
    Case(
        "nested actionParams",
        layout(link({**REST_EVENT, "actionParams": {"deal": {"id": 1}}})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.actionParams.deal",
    ),
    Case(
        "null actionParam",
        layout(link({**OPEN_APP, "actionParams": {"deal": None}})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.actionParams.deal",
    ),
    Case(
        "sliderParams is a string",
        layout(link({**OPEN_APP, "sliderParams": "wide"})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.sliderParams",
    ),
    Case(
        "labelColor by name",
        layout(link({**OPEN_APP, "sliderParams": {"labelColor": "red"}})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.sliderParams.labelColor",
    ),
    Case(
        "labelColor short hex",
        layout(link({**OPEN_APP, "sliderParams": {"labelColor": "#fff"}})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.sliderParams.labelColor",
    ),
    # ENUM_FIELD
    Case("unknown block type", layout({"type": "image", "properties": {}}), "ENUM_FIELD", "blocks.b1.type"),
    Case(
        "internal block type money",
        layout({"type": "money", "properties": {}}),
        "ENUM_FIELD",
        "blocks.b1.type",
    ),
    Case("text size lg", layout(text(size="lg")), "ENUM_FIELD", f"{P}.size"),
    Case("text color green", layout(text(color="green")), "ENUM_FIELD", f"{P}.color"),
    Case("text color null", layout(text(color=None)), "ENUM_FIELD", f"{P}.color"),
    Case(
        "unknown action type",
        layout(link({"type": "openUrl", "uri": "/x/"})),
        "ENUM_FIELD",
        f"{P}.action.type",
    ),
    Case(
        "animationType spinner",
        layout(link({**REST_EVENT, "animationType": "spinner"})),
        "ENUM_FIELD",
        f"{P}.action.animationType",
    ),
    Case(
        "labelBgColor black",
        layout(link({**OPEN_APP, "sliderParams": {"labelBgColor": "black"}})),
        "ENUM_FIELD",
        f"{P}.action.sliderParams.labelBgColor",
    ),
    # KEY_CONTAIN_WRONG_SYMBOLS
    Case(
        "block key with a space",
        {"blocks": {"my block": text()}},
        "KEY_CONTAIN_WRONG_SYMBOLS",
        "blocks.my block",
    ),
    Case("block key with a dot", {"blocks": {"a.b": text()}}, "KEY_CONTAIN_WRONG_SYMBOLS", "blocks.a.b"),
    Case("block key in Cyrillic", {"blocks": {"блок": text()}}, "KEY_CONTAIN_WRONG_SYMBOLS", "blocks.блок"),
    Case("empty block key", {"blocks": {"": text()}}, "KEY_CONTAIN_WRONG_SYMBOLS", "blocks."),
    Case(
        "lineOfBlocks key with a slash",
        layout(line({"a/b": text()})),
        "KEY_CONTAIN_WRONG_SYMBOLS",
        f"{P}.blocks.a/b",
    ),
    Case(
        "actionParams key with a bracket",
        layout(link({**REST_EVENT, "actionParams": {"a[1]": "x"}})),
        "KEY_CONTAIN_WRONG_SYMBOLS",
        f"{P}.action.actionParams.a[1]",
    ),
    # WRONG_LANG
    Case(
        "text in an uninstalled language",
        layout(text({"en": "Hi", "fr": "Salut"})),
        "WRONG_LANG",
        f"{P}.value.fr",
    ),
    Case("text title language", layout(text(title={"xx": "?"})), "WRONG_LANG", f"{P}.title.xx"),
    # A JSON array is a PHP map keyed 0..n-1: TextWithTranslationField takes 0 for a language.
    Case("text value a list", layout(text(["Hello"])), "WRONG_LANG", f"{P}.value.0"),
    Case("link text language", layout(link(text={"es": "Abrir"})), "WRONG_LANG", f"{P}.text.es"),
    Case(
        "withTitle title language",
        layout(with_title(text(), title={"it": "Titolo"})),
        "WRONG_LANG",
        f"{P}.title.it",
    ),
    # The first problem the portal meets: own checks, then unknown properties, then nested objects.
    Case(
        "first problem: earlier block first",
        layout(text(size="lg"), link({"type": "x"})),
        "ENUM_FIELD",
        f"{P}.size",
    ),
    Case(
        "first problem: key check before block contents",
        {"blocks": {"b1": text(size="lg"), "b 2": text()}},
        "KEY_CONTAIN_WRONG_SYMBOLS",
        "blocks.b 2",
    ),
    Case(
        "first problem: own field before unknown property",
        layout(text(extra=1, size="lg")),
        "ENUM_FIELD",
        f"{P}.size",
    ),
    Case(
        "first problem: unknown property before nested action",
        layout(link({"type": "x"}, extra=1)),
        "FIELD_IS_REDUNDANT",
        f"{P}.extra",
    ),
    Case(
        "first problem: too many blocks after a bad block",
        {"blocks": {"b1": "x", **many(text(), 20)}},
        "WRONG_FIELD_VALUE",
        "blocks.b1",
    ),
]

STRICT_CASES: list[Case] = [
    Case("block without type", layout({"properties": {"value": "v"}}), "FIELD_IS_REQUIRED", "blocks.b1.type"),
    Case(
        "block without properties", layout({"type": "deadline"}), "FIELD_IS_REQUIRED", "blocks.b1.properties"
    ),
    Case("null value", layout(text(None)), "FIELD_IS_REQUIRED", f"{P}.value"),
    Case("number as text", layout(text(42)), "WRONG_FIELD_VALUE", f"{P}.value"),
    Case("empty translation map", layout(text({})), "WRONG_FIELD_VALUE", f"{P}.value"),
    Case("bold as a string", layout(text(bold="Y")), "WRONG_FIELD_VALUE", f"{P}.bold"),
    Case("multiline as 1", layout(text(multiline=1)), "WRONG_FIELD_VALUE", f"{P}.multiline"),
    Case("readonly as a string", layout(deadline(readonly="true")), "WRONG_FIELD_VALUE", f"{P}.readonly"),
    Case("inline as a string", layout(with_title(text(), inline="N")), "WRONG_FIELD_VALUE", f"{P}.inline"),
    Case(
        "uri as a number",
        layout(link({"type": "redirect", "uri": 5})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.uri",
    ),
    Case(
        "slider width as a string",
        layout(link({**OPEN_APP, "sliderParams": {"width": "800"}})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.sliderParams.width",
    ),
    Case("scope desktop on a text block", layout(text(scope="desktop")), "ENUM_FIELD", f"{P}.scope"),
    Case(
        "javascript uri",
        layout(link({"type": "redirect", "uri": "javascript:alert(1)"})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.uri",
    ),
    Case(
        "data uri",
        layout(link({"type": "redirect", "uri": " data:text/html,x"})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.uri",
    ),
    Case("id on a redirect", layout(link({**REDIRECT, "id": "x"})), "FIELD_IS_REDUNDANT", f"{P}.action.id"),
    Case(
        "uri on a restEvent",
        layout(link({**REST_EVENT, "uri": "/x/"})),
        "FIELD_IS_REDUNDANT",
        f"{P}.action.uri",
    ),
    Case(
        "sliderParams on a restEvent",
        layout(link({**REST_EVENT, "sliderParams": {}})),
        "FIELD_IS_REDUNDANT",
        f"{P}.action.sliderParams",
    ),
    Case(
        "largeText before the last lineOfBlocks child",
        layout(line({"x": large(), "t": text()})),
        "WRONG_FIELD_VALUE",
        f"{P}.blocks.x.type",
    ),
    Case("empty lineOfBlocks", layout(line({})), "FIELD_IS_REQUIRED", f"{P}.blocks"),
    Case(
        "actionParams as an array",
        layout(link({**REST_EVENT, "actionParams": ["a", "b"]})),
        "WRONG_FIELD_VALUE",
        f"{P}.action.actionParams",
    ),
]


def configurable(**parts: Any) -> Json:
    """Return a valid LayoutDto with some parts replaced (a part set to None is left out)."""
    base: Json = {
        "icon": {"code": "attention"},
        "header": {"title": "Payment received"},
        "body": {"logo": {"code": "info"}, "blocks": {"b1": text()}},
    }
    return {name: value for name, value in (base | parts).items() if value is not None}


def header(**fields: Any) -> Json:
    return {"title": "Payment received", **fields}


def body(**fields: Any) -> Json:
    return {"logo": {"code": "info"}, "blocks": {"b1": text()}, **fields}


def tag(kind: str = "success", **fields: Any) -> Json:
    return {"title": "Paid", "type": kind, **fields}


def button(kind: str = "primary", **fields: Any) -> Json:
    return {"title": "Confirm", "type": kind, "action": REST_EVENT, **fields}


def keyed(*items: Json) -> Json:
    """Tags, buttons and menu items are objects keyed by the app's ids (docs configurable/structure)."""
    return {f"id{n}": value for n, value in enumerate(items)}


def item(**fields: Any) -> Json:
    return {"title": "Details", "action": OPEN_APP, **fields}


FULL_CONFIGURABLE: Json = {
    "icon": {"code": "attention"},
    "header": {
        "title": {"en": "Payment received", "de": "Zahlung erhalten"},
        "titleAction": REDIRECT,
        "tags": {"paid": tag("success"), "confirm": tag("warning", action=REST_EVENT)},
    },
    "body": {
        "logo": {"code": "info", "action": OPEN_APP},
        "blocks": {"amount": text("100 EUR", bold=True), "due": with_title(deadline(), title="Due")},
    },
    "footer": {
        "buttons": {
            "confirm": button("primary", scope="web", hideIfReadonly=True),
            "open": button("secondary", action=REDIRECT),
        },
        "showNote": True,
        "menu": {
            "showPinItem": True,
            "showPostponeItem": False,
            "showDeleteItem": True,
            "items": {"details": item(scope="mobile", hideIfReadonly=False), "deal": item(action=REDIRECT)},
        },
    },
}

CONFIGURABLE_CASES: list[Case] = [
    Case("full configurable layout", FULL_CONFIGURABLE, None),
    Case("minimal configurable layout", configurable(), None),
    *(
        Case(f"tag type {kind}", configurable(header=header(tags={"t": tag(kind)})), None)
        for kind in ("success", "failure", "warning", "primary", "secondary")
    ),
    Case("2 tags", configurable(header=header(tags=keyed(tag(), tag()))), None),
    Case(
        "tag key with a space",
        configurable(header=header(tags={"a b": tag()})),
        "KEY_CONTAIN_WRONG_SYMBOLS",
        "header.tags.a b",
    ),
    Case("3 tags", configurable(header=header(tags=[tag(), tag(), tag()])), "TOO_MANY_ITEMS", "header.tags"),
    Case("2 buttons", configurable(footer={"buttons": keyed(button(), button("secondary"))}), None),
    Case(
        "3 buttons",
        configurable(footer={"buttons": [button(), button(), button()]}),
        "TOO_MANY_ITEMS",
        "footer.buttons",
    ),
    Case("10 menu items", configurable(footer={"menu": {"items": keyed(*[item()] * 10)}}), None),
    Case(
        "11 menu items",
        configurable(footer={"menu": {"items": [item()] * 11}}),
        "TOO_MANY_ITEMS",
        "footer.menu.items",
    ),
    Case("20 body blocks", configurable(body=body(blocks=many(text(), 20))), None),
    Case("21 body blocks", configurable(body=body(blocks=many(text(), 21))), "TOO_MANY_ITEMS", "body.blocks"),
    Case("no icon", configurable(icon=None), "FIELD_IS_REQUIRED", "icon"),
    Case("no header", configurable(header=None), "FIELD_IS_REQUIRED", "header"),
    Case("no body", configurable(body=None), "FIELD_IS_REQUIRED", "body"),
    Case("icon without code", configurable(icon={}), "FIELD_IS_REQUIRED", "icon.code"),
    Case("header without title", configurable(header={"tags": []}), "FIELD_IS_REQUIRED", "header.title"),
    Case(
        "body without logo", configurable(body={"blocks": {"b1": text()}}), "FIELD_IS_REQUIRED", "body.logo"
    ),
    Case(
        "body without blocks",
        configurable(body={"logo": {"code": "info"}}),
        "FIELD_IS_REQUIRED",
        "body.blocks",
    ),
    Case(
        "tag without title",
        configurable(header=header(tags=[{"type": "success"}])),
        "FIELD_IS_REQUIRED",
        "header.tags.0.title",
    ),
    Case(
        "tag without type",
        configurable(header=header(tags=[{"title": "Paid"}])),
        "FIELD_IS_REQUIRED",
        "header.tags.0.type",
    ),
    Case(
        "button without action",
        configurable(footer={"buttons": [{"title": "OK", "type": "primary"}]}),
        "FIELD_IS_REQUIRED",
        "footer.buttons.0.action",
    ),
    Case(
        "menu item without action",
        configurable(footer={"menu": {"items": [{"title": "More"}]}}),
        "FIELD_IS_REQUIRED",
        "footer.menu.items.0.action",
    ),
    Case("unknown layout part", configurable(sidebar={}), "FIELD_IS_REDUNDANT", "sidebar"),
    Case(
        "tag with scope",
        configurable(header=header(tags=[tag(scope="web")])),
        "FIELD_IS_REDUNDANT",
        "header.tags.0.scope",
    ),
    Case(
        "tag with hideIfReadonly",
        configurable(header=header(tags=[tag(hideIfReadonly=True)])),
        "FIELD_IS_REDUNDANT",
        "header.tags.0.hideIfReadonly",
    ),
    Case(
        "unknown button property",
        configurable(footer={"buttons": [button(color="red")]}),
        "FIELD_IS_REDUNDANT",
        "footer.buttons.0.color",
    ),
    Case(
        "tag type danger",
        configurable(header=header(tags=[tag("danger")])),
        "ENUM_FIELD",
        "header.tags.0.type",
    ),
    Case(
        "button type link",
        configurable(footer={"buttons": [button("link")]}),
        "ENUM_FIELD",
        "footer.buttons.0.type",
    ),
    Case(
        "button scope desktop",
        configurable(footer={"buttons": [button(scope="desktop")]}),
        "ENUM_FIELD",
        "footer.buttons.0.scope",
    ),
    Case(
        "menu item scope tablet",
        configurable(footer={"menu": {"items": [item(scope="tablet")]}}),
        "ENUM_FIELD",
        "footer.menu.items.0.scope",
    ),
    Case("header is a string", configurable(header="Paid"), "WRONG_FIELD_VALUE", "header"),
    # ObjectCollectionField wants an array: null is no array (HeaderDto, FooterDto, FooterMenuDto).
    Case("null tags", configurable(header=header(tags=None)), "WRONG_FIELD_VALUE", "header.tags"),
    Case("null buttons", configurable(footer={"buttons": None}), "WRONG_FIELD_VALUE", "footer.buttons"),
    Case(
        "null menu items",
        configurable(footer={"menu": {"items": None}}),
        "WRONG_FIELD_VALUE",
        "footer.menu.items",
    ),
    Case(
        "titleAction is a string",
        configurable(header=header(titleAction="/crm/")),
        "WRONG_FIELD_VALUE",
        "header.titleAction",
    ),
    Case(
        "largeText inside a body withTitle",
        configurable(body=body(blocks={"w": with_title(large())})),
        "WRONG_FIELD_VALUE",
        "body.blocks.w.properties.block.type",
    ),
    Case(
        "body block key with a space",
        configurable(body=body(blocks={"a b": text()})),
        "KEY_CONTAIN_WRONG_SYMBOLS",
        "body.blocks.a b",
    ),
    Case(
        "header title language",
        configurable(header={"title": {"en": "Paid", "pl": "Zapłacono"}}),
        "WRONG_LANG",
        "header.title.pl",
    ),
    Case(
        "button title language",
        configurable(footer={"buttons": [button(title={"jp": "OK"})]}),
        "WRONG_LANG",
        "footer.buttons.0.title.jp",
    ),
    Case(
        "redirect without uri in a button",
        configurable(footer={"buttons": [button(action={"type": "redirect"})]}),
        "FIELD_IS_REQUIRED",
        "footer.buttons.0.action.uri",
    ),
]

STRICT_CONFIGURABLE_CASES: list[Case] = [
    Case(
        "showNote as a string", configurable(footer={"showNote": "Y"}), "WRONG_FIELD_VALUE", "footer.showNote"
    ),
    Case(
        "hideIfReadonly as a number",
        configurable(footer={"buttons": [button(hideIfReadonly=1)]}),
        "WRONG_FIELD_VALUE",
        "footer.buttons.0.hideIfReadonly",
    ),
    Case("icon code as a number", configurable(icon={"code": 7}), "WRONG_FIELD_VALUE", "icon.code"),
]
