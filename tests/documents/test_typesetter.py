"""Typst in a child process within a time and a memory bound (documents/typesetter.py): a
layout past either is stopped and fails naming the bound and its setting, and the next
document gets a fresh child; small documents are laid out in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hanoinet.documents import typesetter as typesetter_module
from hanoinet.documents.typesetter import (
    IN_PROCESS_BYTES,
    Bounds,
    LayoutError,
    Typesetter,
    typeset,
)
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


@pytest.fixture
def shared() -> Iterator[None]:
    typesetter_module.configure(Bounds(seconds=1, memory_mb=768))
    yield
    typesetter_module.configure(Bounds())


def test_small_data_is_laid_out_in_process_and_large_data_within_the_bounds(
    sources: Path, shared: None
) -> None:
    """Most requests are small: laid out in-process, no child started; data past
    IN_PROCESS_BYTES goes to the child, where the time bound holds."""
    small = "x" * 100
    pdf, _warned = typeset(small, input=str(sources / "ok.typ"), root=str(sources))
    assert pdf.startswith(b"%PDF-")
    assert typesetter_module.typesetter()._child is None
    large = "x" * (IN_PROCESS_BYTES + 1)
    with pytest.raises(DocumentFailed, match="longer than 1 s"):
        typeset(large, input=str(sources / "slow.typ"), root=str(sources))
    pdf, _warned = typeset(large, input=str(sources / "ok.typ"), root=str(sources))
    assert pdf.startswith(b"%PDF-")
    assert typesetter_module.typesetter()._child is not None
