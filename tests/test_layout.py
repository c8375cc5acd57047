"""Layouts are validated like the portal validates them, and models give back the portal's exact JSON."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.layout import (
    Body,
    Button,
    Code,
    ConfigurableLayout,
    Deadline,
    Footer,
    Header,
    Icon,
    LargeText,
    Layout,
    LayoutBuilder,
    LayoutError,
    LineOfBlocks,
    Link,
    Logo,
    Menu,
    MenuItem,
    OpenRestApp,
    Problem,
    Redirect,
    RestEvent,
    SliderParams,
    Tag,
    Text,
    WithTitle,
    fill,
    open_rest_app,
    parse_configurable_layout,
    parse_layout,
    placeholders,
    redirect,
    rest_event,
    validate_configurable_layout,
    validate_layout,
)
from tests.layout_cases import (
    CASES,
    CONFIGURABLE_CASES,
    FULL_CONFIGURABLE,
    LANGUAGES,
    NOTES_EXAMPLE,
    REST_EVENT,
    STRICT_CASES,
    STRICT_CONFIGURABLE_CASES,
    VENDOR_EXAMPLE,
    Case,
    configurable,
    layout,
    link,
    text,
)


def ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def problems_of(data: Any, **options: Any) -> list[Problem]:
    with pytest.raises(LayoutError) as caught:
        parse_layout(data, **options)
    return caught.value.problems


def configurable_problems_of(data: Any, **options: Any) -> list[Problem]:
    with pytest.raises(LayoutError) as caught:
        parse_configurable_layout(data, **options)
    return caught.value.problems


# --- the shared corpus --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_blocks_layout_gets_the_portals_first_error_at_a_precise_path(case: Case) -> None:
    if case.code is None:
        assert parse_layout(case.layout, languages=LANGUAGES).to_wire() == case.layout
        return
    first = problems_of(case.layout, languages=LANGUAGES)[0]
    assert (first.code, first.path, first.strict) == (case.code, case.path, False)


@pytest.mark.parametrize("case", STRICT_CASES, ids=ids(STRICT_CASES))
def test_blocks_layout_the_portal_would_take_is_still_refused_and_marked_strict(case: Case) -> None:
    problems = problems_of(case.layout, languages=LANGUAGES)
    assert (problems[0].code, problems[0].path) == (case.code, case.path)
    assert all(problem.strict for problem in problems)


@pytest.mark.parametrize("case", CONFIGURABLE_CASES, ids=ids(CONFIGURABLE_CASES))
def test_configurable_layout_gets_the_portals_first_error_at_a_precise_path(case: Case) -> None:
    if case.code is None:
        assert parse_configurable_layout(case.layout, languages=LANGUAGES).to_wire() == case.layout
        return
    first = configurable_problems_of(case.layout, languages=LANGUAGES)[0]
    assert (first.code, first.path, first.strict) == (case.code, case.path, False)


@pytest.mark.parametrize("case", STRICT_CONFIGURABLE_CASES, ids=ids(STRICT_CONFIGURABLE_CASES))
def test_configurable_layout_the_portal_would_take_is_still_refused_and_marked_strict(case: Case) -> None:
    problems = configurable_problems_of(case.layout, languages=LANGUAGES)
    assert (problems[0].code, problems[0].path) == (case.code, case.path)
    assert all(problem.strict for problem in problems)


def test_the_corpus_covers_every_error_code() -> None:
    codes = {case.code for case in CASES + CONFIGURABLE_CASES}
    assert codes == {*Code, None}


@pytest.mark.parametrize("example", [NOTES_EXAMPLE, VENDOR_EXAMPLE], ids=["notes", "vendor"])
def test_documented_examples_round_trip_to_identical_json_text(example: dict[str, Any]) -> None:
    wire = parse_layout(example).to_wire()
    assert json.dumps(wire, ensure_ascii=False) == json.dumps(example, ensure_ascii=False)


def test_parsed_models_are_typed() -> None:
    blocks = parse_layout(NOTES_EXAMPLE).blocks
    assert blocks["b1"] == Text("Hello!\nWe are starting.", multiline=True, bold=True, color="base_90")
    assert blocks["b3"] == Link("Open deal", Redirect("/crm/deal/details/123/"), bold=True)
    assert blocks["b4"] == WithTitle("Title", Text("Some value"), inline=True)
    assert blocks["b5"] == LineOfBlocks({"t": Text("x"), "l": Link("app", OpenRestApp({"k": "v"}))})
    assert blocks["b6"] == WithTitle("Deadline", Deadline(readonly=False))


# --- problems -----------------------------------------------------------------------------------------------


def test_every_problem_is_reported_in_document_order_not_only_the_first() -> None:
    data = layout(text(size="lg"), text(color="red"), link({"type": "restEvent", "animationType": "x"}))
    problems = problems_of(data)
    assert [(problem.code, problem.path) for problem in problems] == [
        ("ENUM_FIELD", "blocks.b1.properties.size"),
        ("ENUM_FIELD", "blocks.b2.properties.color"),
        ("FIELD_IS_REQUIRED", "blocks.b3.properties.action.id"),
        ("ENUM_FIELD", "blocks.b3.properties.action.animationType"),
    ]


def test_the_portals_own_problems_come_before_the_apps_stricter_ones() -> None:
    problems = problems_of(layout(text(bold="yes"), text(size="huge")))
    assert [(problem.path, problem.strict) for problem in problems] == [
        ("blocks.b2.properties.size", False),
        ("blocks.b1.properties.bold", True),
    ]


def test_problems_and_the_error_serialise_to_json_for_the_editor() -> None:
    with pytest.raises(LayoutError) as caught:
        parse_layout(layout(text(colour="base_90"), text(size="lg")))
    body = json.loads(json.dumps(caught.value.to_dict()))
    assert body["error"] == "FIELD_IS_REDUNDANT"
    assert body["problems"][0] == {
        "code": "FIELD_IS_REDUNDANT",
        "path": "blocks.b1.properties.colour",
        "message": "A text block has no property 'colour'. Did you mean 'color'? "
        "Allowed: value, multiline, title, bold, size, color, scope.",
        "strict": False,
    }
    assert body["message"] == body["problems"][0]["message"]
    assert str(caught.value).startswith("blocks.b1.properties.colour: A text block has no property")
    assert str(caught.value).endswith("(and 1 more problem)")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (layout(text(size="lg")), "use one of: xs, sm, md"),
        ({"blocks": {"my block": text()}}, "only Latin letters, digits, '-' and '_'"),
        ({"blocks": {f"k{n}": text() for n in range(21)}}, "too many items (21); the most allowed is 20"),
        (layout(text({"fr": "Salut"})), "'fr' is not installed on the portal; use one of: de, en, ru"),
        (layout({"type": "withTitle", "properties": {"block": {"type": "largeText"}}}), 'not "largeText"'),
        (layout(link({"type": "redirect"})), "A redirect action needs 'uri'"),
    ],
)
def test_messages_say_what_to_do(data: dict[str, Any], words: str) -> None:
    assert words in problems_of(data, languages=LANGUAGES)[0].message


def test_languages_are_checked_only_against_a_given_set() -> None:
    data = layout(text({"xx": "?"}))
    assert parse_layout(data).blocks["b1"] == Text({"xx": "?"})
    assert problems_of(data, languages=["en"])[0].code == "WRONG_LANG"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("Save", True),
        ("", False),  # the app refuses a text that would show nothing
        ("  \n", False),
        ({"en": "", "de": " "}, False),
        ({"en": "Save"}, True),
        ({"en": "Save", "de": "Speichern", "ru": "Сохранить"}, True),
        ({}, False),
        (["Save"], False),
        (5, False),
        (True, False),
        ({"en": None}, False),
    ],
)
def test_text_with_translation_is_a_string_or_a_non_empty_map_of_strings(value: Any, accepted: bool) -> None:
    data = layout(text(value))
    if accepted:
        assert parse_layout(data, languages=LANGUAGES).blocks["b1"] == Text(value)
    else:
        assert problems_of(data, languages=LANGUAGES)[0].path.startswith("blocks.b1.properties.value")


def test_an_unknown_block_type_is_not_also_checked_for_properties() -> None:
    problems = problems_of(layout({"type": "image", "properties": {"src": "x"}}))
    assert [problem.path for problem in problems] == ["blocks.b1.type"]


def test_a_nested_block_of_the_wrong_type_is_reported_once() -> None:
    nested = {"type": "image", "properties": {}}
    problems = problems_of(layout({"type": "withTitle", "properties": {"block": nested}}))
    assert [(problem.code, problem.path) for problem in problems] == [
        ("WRONG_FIELD_VALUE", "blocks.b1.properties.block.type")
    ]


@pytest.mark.parametrize("root", [None, "blocks", 5, ["x"]])
def test_a_layout_that_is_not_an_object_is_refused(root: Any) -> None:
    message = 'A layout must be a JSON object: {"blocks": {...}}.'
    assert problems_of(root) == [Problem(Code.WRONG_FIELD_VALUE, "", message)]


def test_php_shapes_from_the_portal_are_read_an_empty_map_as_array_and_blocks_as_a_list() -> None:
    # PHP's json_encode turns an empty map into [] and a 0..n-1 keyed map into a list.
    parsed = parse_layout({"blocks": [{"type": "deadline", "properties": []}, text()]})
    assert parsed.blocks == {"0": Deadline(), "1": Text("Hello")}


def test_icon_and_logo_codes_are_checked_against_the_portals_lists_when_given() -> None:
    problems = configurable_problems_of(configurable(), icons=["info"], logos=["call"])
    assert [(problem.code, problem.path) for problem in problems] == [
        ("ENUM_FIELD", "icon.code"),
        ("ENUM_FIELD", "body.logo.code"),
    ]
    assert parse_configurable_layout(configurable(), icons=["attention"], logos=["info"]).icon == Icon(
        "attention"
    )


@pytest.mark.parametrize("root", [None, "layout", 1])
def test_a_configurable_layout_that_is_not_an_object_is_refused(root: Any) -> None:
    assert [problem.code for problem in configurable_problems_of(root)] == ["WRONG_FIELD_VALUE"]


# --- models and wire format ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "wire"),
    [
        (redirect("/crm/deal/details/1/"), {"type": "redirect", "uri": "/crm/deal/details/1/"}),
        (rest_event("confirm"), {"type": "restEvent", "id": "confirm"}),
        (
            rest_event("pay", {"deal": 12, "sure": True}, animation="loader"),
            {
                "type": "restEvent",
                "id": "pay",
                "actionParams": {"deal": 12, "sure": True},
                "animationType": "loader",
            },
        ),
        (open_rest_app(), {"type": "openRestApp"}),
        (
            open_rest_app(
                {"view": "deal"},
                slider=SliderParams(width=900, left_boundary=50, label_text="new", label_bg_color="aqua"),
            ),
            {
                "type": "openRestApp",
                "actionParams": {"view": "deal"},
                "sliderParams": {
                    "width": 900,
                    "leftBoundary": 50,
                    "labelText": "new",
                    "labelBgColor": "aqua",
                },
            },
        ),
    ],
)
def test_actions_go_on_the_wire_in_camel_case_without_unset_fields(action: Any, wire: dict[str, Any]) -> None:
    assert action.to_wire() == wire
    parsed = parse_layout(layout(link(wire))).blocks["b1"]
    assert parsed == Link("Open", action)


def test_blocks_go_on_the_wire_as_type_and_properties() -> None:
    assert Text("x", title={"en": "hint"}, size="sm", scope="mobile").to_wire() == {
        "type": "text",
        "properties": {"value": "x", "title": {"en": "hint"}, "size": "sm", "scope": "mobile"},
    }
    assert LargeText("long").to_wire() == {"type": "largeText", "properties": {"value": "long"}}
    assert Deadline().to_wire() == {"type": "deadline", "properties": {}}
    assert WithTitle(None, Deadline(readonly=True)).to_wire() == {
        "type": "withTitle",
        "properties": {"block": {"type": "deadline", "properties": {"readonly": True}}},
    }


def test_a_configurable_layout_built_from_models_is_the_documented_json() -> None:
    confirm, details = RestEvent("confirm"), OpenRestApp()
    model = ConfigurableLayout(
        Icon("attention"),
        Header(
            {"en": "Payment received", "de": "Zahlung erhalten"},
            title_action=Redirect("/crm/deal/details/123/"),
            tags={"paid": Tag("Paid", "success"), "confirm": Tag("Paid", "warning", action=confirm)},
        ),
        Body(
            Logo("info", action=details),
            {"amount": Text("100 EUR", bold=True), "due": WithTitle("Due", Deadline())},
        ),
        Footer(
            buttons={
                "confirm": Button("Confirm", "primary", confirm, scope="web", hide_if_readonly=True),
                "open": Button("Confirm", "secondary", Redirect("/crm/deal/details/123/")),
            },
            show_note=True,
            menu=Menu(
                show_pin_item=True,
                show_postpone_item=False,
                show_delete_item=True,
                items={
                    "details": MenuItem("Details", details, scope="mobile", hide_if_readonly=False),
                    "deal": MenuItem("Details", Redirect("/crm/deal/details/123/")),
                },
            ),
        ),
    )
    assert model.to_wire() == FULL_CONFIGURABLE
    assert parse_configurable_layout(FULL_CONFIGURABLE) == model
    validate_configurable_layout(model, languages=LANGUAGES)


def test_tags_buttons_and_items_given_as_a_json_array_are_keyed_0_to_n() -> None:
    listed = {
        **FULL_CONFIGURABLE,
        "header": {"title": "Paid", "tags": [{"title": "Paid", "type": "success"}]},
    }
    wire = parse_configurable_layout(listed).to_wire()
    assert wire["header"]["tags"] == {"0": {"title": "Paid", "type": "success"}}


def test_validate_refuses_a_model_the_portal_would_refuse() -> None:
    with pytest.raises(LayoutError) as caught:
        validate_layout(Layout({"b1": Text("x", size=cast(Any, "huge"))}))
    assert caught.value.code == "ENUM_FIELD"
    with pytest.raises(LayoutError) as caught:
        validate_configurable_layout(
            ConfigurableLayout(Icon("x"), Header("t", tags=[Tag("a", "success")] * 3), Body(Logo("l"), {}))
        )
    assert [problem.path for problem in caught.value.problems] == ["header.tags", "body.blocks"]


# --- builder ------------------------------------------------------------------------------------------------


def test_the_builder_reads_like_the_timeline_and_builds_a_valid_layout() -> None:
    built = (
        LayoutBuilder()
        .text("status", "Paid in full", bold=True, color="base_90")
        .large_text("notes", "A long note")
        .link("deal", "Open deal", redirect("/crm/deal/details/12/"))
        .with_title("due", "Deadline", Deadline())
        .line_of_blocks("actions", {"ok": Link("Confirm", rest_event("ok")), "when": Deadline(readonly=True)})
        .deadline("deadline", readonly=False)
        .build(languages=LANGUAGES)
    )
    assert list(built.blocks) == ["status", "notes", "deal", "due", "actions", "deadline"]
    assert parse_layout(built.to_wire(), languages=LANGUAGES) == built
    assert built.to_wire()["blocks"]["deal"] == {
        "type": "link",
        "properties": {"text": "Open deal", "action": {"type": "redirect", "uri": "/crm/deal/details/12/"}},
    }


def test_the_builder_refuses_a_key_used_twice() -> None:
    with pytest.raises(ValueError, match="'a' is used twice"):
        LayoutBuilder().text("a", "x").text("a", "y")


@pytest.mark.parametrize(
    ("builder", "code", "path"),
    [
        (LayoutBuilder(), "FIELD_IS_REQUIRED", "blocks"),
        (LayoutBuilder().text("bad key", "x"), "KEY_CONTAIN_WRONG_SYMBOLS", "blocks.bad key"),
        (LayoutBuilder().text("t", {"fr": "x"}), "WRONG_LANG", "blocks.t.properties.value.fr"),
        (
            LayoutBuilder().with_title("w", "T", cast(Any, LargeText("x"))),
            "WRONG_FIELD_VALUE",
            "blocks.w.properties.block.type",
        ),
    ],
)
def test_the_builder_refuses_what_the_portal_would_refuse(
    builder: LayoutBuilder, code: str, path: str
) -> None:
    with pytest.raises(LayoutError) as caught:
        builder.build(languages=LANGUAGES)
    assert (caught.value.code, caught.value.problems[0].path) == (code, path)


def test_twenty_blocks_build_and_twenty_one_do_not() -> None:
    builder = LayoutBuilder()
    for number in range(20):
        builder.text(f"t{number}", "x")
    assert len(builder.build().blocks) == 20
    with pytest.raises(LayoutError, match="the most allowed is 20"):
        builder.text("t20", "x").build()


# --- templates ----------------------------------------------------------------------------------------------

TEMPLATE: dict[str, Any] = layout(
    text({"en": "Paid {{AMOUNT}}", "de": "Bezahlt {{ AMOUNT }}"}, title="{{UNKNOWN}}", bold=True),
    link({**REST_EVENT, "actionParams": {"deal": "{{DEAL_ID}}", "count": 3}}, text="Deal {{DEAL_ID}}"),
    {"type": "lineOfBlocks", "properties": {"blocks": {"{{KEY}}": text("{{AMOUNT}}{{AMOUNT}}")}}},
)


def test_fill_replaces_placeholders_in_every_string_value() -> None:
    filled = fill(TEMPLATE, {"AMOUNT": "100 EUR", "DEAL_ID": "12", "KEY": "k"})
    first, second, third = (filled["blocks"][key]["properties"] for key in ("b1", "b2", "b3"))
    assert first["value"] == {"en": "Paid 100 EUR", "de": "Bezahlt 100 EUR"}
    assert first["bold"] is True
    assert second["text"] == "Deal 12"
    assert second["action"]["actionParams"] == {"deal": "12", "count": 3}
    assert third["blocks"] == {"{{KEY}}": text("100 EUR100 EUR")}  # keys are block ids, never filled


def test_fill_leaves_unknown_placeholders_visible_and_placeholders_finds_them() -> None:
    filled = fill(TEMPLATE, {"AMOUNT": "1", "DEAL_ID": "2"})
    assert filled["blocks"]["b1"]["properties"]["title"] == "{{UNKNOWN}}"
    assert placeholders(TEMPLATE) == {"AMOUNT", "DEAL_ID", "UNKNOWN"}
    assert placeholders(filled) == {"UNKNOWN"}


def test_fill_copies_and_never_expands_a_value_twice() -> None:
    before = json.dumps(TEMPLATE)
    filled = fill(TEMPLATE, {"AMOUNT": "{{DEAL_ID}}", "DEAL_ID": "12"})
    assert json.dumps(TEMPLATE) == before
    assert filled["blocks"]["b1"]["properties"]["value"]["en"] == "Paid {{DEAL_ID}}"


def test_a_filled_template_is_validated_like_any_layout() -> None:
    template = layout(link({"type": "redirect", "uri": "{{URI}}"}), text(size="{{SIZE}}"))
    filled = fill(template, {"URI": "/crm/deal/details/5/", "SIZE": "md"})
    assert parse_layout(filled).blocks["b1"] == Link("Open", Redirect("/crm/deal/details/5/"))
    assert problems_of(fill(template, {"SIZE": "huge"}))[0].path == "blocks.b2.properties.size"


# --- robustness ---------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.sampled_from(["text", "link", "redirect"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=20,
)


def mutations(document: Any, replacement: Any) -> list[Any]:
    """Return copies of a JSON document with one value replaced, one at a time, at every position."""
    if isinstance(document, dict):
        variants = [{**document, key: replacement} for key in document]
        for key, value in document.items():
            variants += [{**document, key: variant} for variant in mutations(value, replacement)]
        return variants
    if isinstance(document, list):
        return [
            [*document[:i], variant, *document[i + 1 :]]
            for i, v in enumerate(document)
            for variant in [*mutations(v, replacement), replacement]
        ]
    return []


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_any_json_is_either_a_layout_or_a_layout_error(data: Any) -> None:
    for parse in (parse_layout, parse_configurable_layout):
        try:
            parsed = parse(data, languages=LANGUAGES)
        except LayoutError as error:
            assert error.problems and json.dumps(error.to_dict())
        else:
            assert parse(parsed.to_wire(), languages=LANGUAGES) == parsed


@settings(max_examples=25, deadline=None)
@given(JSON)
def test_a_valid_layout_with_any_one_value_replaced_never_crashes_the_validator(replacement: Any) -> None:
    for document, parse in ((NOTES_EXAMPLE, parse_layout), (FULL_CONFIGURABLE, parse_configurable_layout)):
        for variant in mutations(document, replacement):
            try:
                parse(variant, languages=LANGUAGES)
            except LayoutError as error:
                assert all(problem.message for problem in error.problems)
