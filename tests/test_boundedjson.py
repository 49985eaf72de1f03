"""Bounded JSON: size and depth judged before the parser runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hanoinet import boundedjson
from hanoinet.boundedjson import TooDeep, TooLarge, depth, depth_over, loads
from hanoinet.errors import InvalidInput


def test_depth_counts_arrays_and_objects_not_brackets_in_strings() -> None:
    assert depth(b'"x"') == 0
    assert depth(b'{"a": [1, {"b": []}]}') == 4
    assert depth(b'{"a": "[[[[{{{{", "b": "\\"[[["}') == 1


def test_a_deep_value_is_refused_before_parsing_with_the_limit_named() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads would raise RecursionError
    with pytest.raises(TooDeep) as caught:
        loads(deep, max_bytes=1 << 20, what="the message body")
    assert "the message body nests 100000 levels deep; at most 32" in caught.value.message
    assert isinstance(caught.value, InvalidInput)


def test_depth_over_counts_brackets_first_and_scans_only_past_the_limit() -> None:
    assert depth_over(b'{"a": [1, {"b": []}]}', 4) is None
    assert depth_over(b'{"a": [1, {"b": []}]}', 3) == 4
    # more brackets than the limit, all in strings or side by side: scanned, and within it
    assert depth_over(b'[[], [], [], {"x": "[[[[[[[["}]', 3) is None
    assert depth_over(b"[" * 40 + b"]" * 40, 32) == 40


def test_a_large_value_is_refused_before_parsing() -> None:
    with pytest.raises(TooLarge) as caught:
        loads('"' + "x" * 2000 + '"', max_bytes=1000, what="the document")
    assert "the document is 2,002 bytes; at most 1,000" in caught.value.message


def test_what_fits_is_parsed_and_bad_text_is_a_value_error() -> None:
    assert loads(b'{"a": [1]}', max_bytes=100) == {"a": [1]}
    assert loads('{"a": "ü"}', max_bytes=100) == {"a": "ü"}
    with pytest.raises(ValueError):
        loads(b'{"a": ', max_bytes=100)


@given(
    st.recursive(
        st.none() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_depth_agrees_with_the_parsed_value(value: object) -> None:
    def nesting(v: object) -> int:
        if isinstance(v, list):
            return 1 + max((nesting(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((nesting(x) for x in v.values()), default=0)
        return 0

    text = json.dumps(value)
    assert depth(text.encode()) == nesting(value)
    assert depth_over(text.encode(), 2) == (nesting(value) if nesting(value) > 2 else None)
    assert loads(text, max_bytes=1 << 20, max_depth=boundedjson.MAX_DEPTH + 100) == value
