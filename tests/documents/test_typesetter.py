"""Typst in a child process within a time and a memory bound (documents/typesetter.py): a
layout past either is stopped and fails naming the bound and its setting, and the next
document gets a fresh child."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hanoinet.documents.typesetter import Bounds, LayoutError, Typesetter
from hanoinet.errors import DocumentFailed

SOURCES = {
    "ok": "Hello\n",
    # 400 million steps: far longer than a second on any machine (nested, as Typst stops a
    # single loop it takes to be endless)
    "slow": "#let n = 0\n#for i in range(20000) { for j in range(20000) { n += 1 } }\n#n\n",
    # an array of 200 million integers: gigabytes
    "large": "#let a = range(200000000)\n#a.len()\n",
    "wrong": "#let\n",
}


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    for name, text in SOURCES.items():
        (tmp_path / f"{name}.typ").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def typesetter() -> Iterator[Typesetter]:
    made = Typesetter(Bounds(seconds=1, memory_mb=768))
    yield made
    made.close()


def _compile(typesetter: Typesetter, sources: Path, name: str) -> bytes:
    pdf, warned = typesetter.compile(input=str(sources / f"{name}.typ"), root=str(sources))
    assert warned == []
    return pdf


def test_a_document_within_the_bounds_is_laid_out(typesetter: Typesetter, sources: Path) -> None:
    assert _compile(typesetter, sources, "ok").startswith(b"%PDF-")


def test_typsts_own_refusal_comes_back_as_its_message(
    typesetter: Typesetter, sources: Path
) -> None:
    with pytest.raises(LayoutError, match="expected"):
        _compile(typesetter, sources, "wrong")
    assert _compile(typesetter, sources, "ok").startswith(b"%PDF-")


def test_a_layout_past_its_time_is_stopped_and_the_next_gets_a_fresh_child(
    typesetter: Typesetter, sources: Path
) -> None:
    _compile(typesetter, sources, "ok")
    with pytest.raises(DocumentFailed, match="longer than 1 s") as failed:
        _compile(typesetter, sources, "slow")
    assert "HANOINET_DOCUMENT_RENDER_SECONDS" in failed.value.message
    assert _compile(typesetter, sources, "ok").startswith(b"%PDF-")


def test_a_layout_past_its_memory_is_stopped_and_the_next_gets_a_fresh_child(
    sources: Path,
) -> None:
    typesetter = Typesetter(Bounds(seconds=600, memory_mb=768))  # time enough to fill it
    try:
        with pytest.raises(DocumentFailed, match="more memory than the 768 MiB") as failed:
            _compile(typesetter, sources, "large")
        assert "HANOINET_DOCUMENT_RENDER_MEMORY_MB" in failed.value.message
        assert _compile(typesetter, sources, "ok").startswith(b"%PDF-")
    finally:
        typesetter.close()
