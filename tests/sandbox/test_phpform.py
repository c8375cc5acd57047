"""The PHP form codec used for request bodies and event bodies (notes §2.1, §5.1)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from sandbox.phpform import build_query, parse_pairs, parse_query, php_json


def test_bracket_keys_nest_and_empty_brackets_append() -> None:
    parsed = parse_query("fields[SUBJECT]=x&fields[BINDINGS][0][OWNER_ID]=1&ids[]=a&ids[]=b&a.b=1&x=1+2")
    assert parsed == {
        "fields": {"SUBJECT": "x", "BINDINGS": [{"OWNER_ID": "1"}]},
        "ids": ["a", "b"],
        "a_b": "1",
        "x": "1 2",
    }


def test_malformed_keys_are_handled_like_php() -> None:
    assert parse_pairs([("[x]", "1"), ("a[b", "2"), ("c[d]e", "3")]) == {"a": "2", "c": {"d": "3"}}


def test_build_query_matches_http_build_query() -> None:
    data = {
        "event": "ONX",
        "data": {"FIELDS": {"ID": 5}, "ok": True, "no": False, "none": None},
        "s": "a b~/",
    }
    assert build_query(data) == (
        "event=ONX&data%5BFIELDS%5D%5BID%5D=5&data%5Bok%5D=1&data%5Bno%5D=0&s=a+b%7E%2F"
    )


def test_lists_are_indexed() -> None:
    assert build_query({"a": ["x", "y"]}) == "a%5B0%5D=x&a%5B1%5D=y"


def test_php_json_turns_sequential_and_empty_maps_into_lists() -> None:
    assert php_json({"0": "a", "1": "b"}) == ["a", "b"]
    assert php_json({"a": {}, "b": {"1": "x"}}) == {"a": [], "b": {"1": "x"}}


scalars = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
keys = st.text(alphabet="abcXYZ_0", min_size=1, max_size=5).filter(lambda k: not k.isdigit())
trees = st.recursive(
    scalars, lambda children: st.dictionaries(keys, children, min_size=1, max_size=3), max_leaves=8
)


@given(st.dictionaries(keys, trees, min_size=1, max_size=4))
def test_build_then_parse_round_trips(data: dict) -> None:
    assert parse_pairs(parse_qsl(build_query(data), keep_blank_values=True)) == data
