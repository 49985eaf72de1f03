"""JSON from outside, bounded in size and depth before it is parsed.

``json.loads`` recurses once per level of nesting: a few hundred kilobytes of
``[[[[...`` raise ``RecursionError`` deep inside the parser (an HTTP 500 before
anything could answer), and a large value is read whole before it is judged.
``loads`` measures both first, with one scan over the bytes outside strings, so
what a peer or a client sends is refused with a clear :class:`TooLarge` or
:class:`TooDeep` naming the limit, and parsed only once it fits.

Our own code: the standard library has no depth limit and no well-kept library
adds one without a second parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hanoinet.errors import InvalidInput

MAX_DEPTH = 32
"""Deepest nesting a message or a request document has any reason for (a request document
nests five levels; a peer's message, three)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class TooLarge(InvalidInput):
    """A JSON text is larger than its limit."""

    code = "too_large"


class TooDeep(InvalidInput):
    """A JSON text nests deeper than its limit."""

    code = "too_deep"


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar); brackets inside
    strings do not count. Malformed text gets a number too: the parser judges it after."""
    deepest = level = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b'""', data)):
        if bracket in b"[{":
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def depth_over(data: bytes, limit: int) -> int | None:
    """The depth of ``data`` when it nests deeper than ``limit``, else None. There are never more
    levels than opening brackets, so a text with at most ``limit`` of them (nearly every text:
    a request document has about ten) is judged by counting, without the scan."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    found = depth(data)
    return found if found > limit else None


def loads(
    data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "JSON"
) -> Any:
    """Parse ``data`` once it is known to fit; raises TooLarge, TooDeep, or ValueError
    (``json.JSONDecodeError``) for text that is not JSON."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise TooLarge(f"{what} is {len(raw):,} bytes; at most {max_bytes:,} are accepted")
    found = depth_over(raw, max_depth)
    if found is not None:
        raise TooDeep(f"{what} nests {found} levels deep; at most {max_depth} are accepted")
    return json.loads(raw)
