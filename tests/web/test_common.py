"""What pages share (web/common.py): the download header."""

from __future__ import annotations

import pytest

from hanoinet.web.common import disposition


def test_a_plain_name_is_written_as_it_is() -> None:
    assert disposition("inline", "R-000001-en.pdf") == 'inline; filename="R-000001-en.pdf"'


@pytest.mark.parametrize(
    ("name", "plain", "encoded"),
    [
        ('a"; filename=evil.exe', "a___filename_evil.exe", "a%22%3B%20filename%3Devil.exe"),
        ("r\r\nX-Injected: 1.pdf", "r__X-Injected__1.pdf", "r%0D%0AX-Injected%3A%201.pdf"),
        ("rapport-été.pdf", "rapport-_t_.pdf", "rapport-%C3%A9t%C3%A9.pdf"),
        ("", "download", ""),
    ],
)
def test_any_other_name_stays_one_header(name: str, plain: str, encoded: str) -> None:
    header = disposition("attachment", name)
    assert header == f"attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}"
    assert header.isascii()
    assert "\r" not in header and "\n" not in header
