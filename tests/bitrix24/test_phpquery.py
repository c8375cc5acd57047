"""Batch commands' query strings: what the portal's PHP reads back is what the app encoded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.bitrix24.phpquery import SHORT, build_query
from sandbox.phpform import parse_query

# A letter first: PHP (and the sandbox) would read keys 0..n as a list.
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789", max_size=SHORT + 8).map("k".__add__)
VALUES = st.text(max_size=3 * SHORT) | st.sampled_from(["$result[activity][OWNER_ID]", "a&b=c", "100%"])


@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_params_read_back_as_encoded_the_first_time_and_from_the_cache(params: dict[str, str]) -> None:
    first = build_query(params)
    assert build_query(params) == first  # the second time short keys and values come from the cache
    assert parse_query(first) == params
