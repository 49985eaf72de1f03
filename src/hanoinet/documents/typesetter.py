"""Typst run in a child process with a time and a memory bound (docs/limits.md).

Typst lays out in-process (Rust, through its Python binding): a document with megabytes of
text once took 30 s and 3 GB, and nothing in the binding can stop it. So each process that
makes documents keeps one child, ``python -m hanoinet.documents.typesetter``, in which the
compiler lives: the child caps its own address space (``RLIMIT_AS``) before it loads Typst,
and the parent waits at most the time allowed for each document. A child past either bound
is killed, the document fails with ``DocumentFailed`` naming the bound and its setting, and
the next document gets a fresh child. The request document's own limits (law/document.py)
are the first line; these catch what gets past them.

A plain child process rather than ``multiprocessing``: it works from any process (a
daemonic pool worker may not have children of its own) and copies nothing of its parent (a
server's threads). Parent and child speak length-prefixed pickles over the child's stdin
and stdout; the child is this module, nothing else writes there.

The cost: the data and the PDF cross a pipe, and every document is two hand-overs between
processes, which on a busy machine wait for the scheduler: ``bench documents`` made 12-44
signed documents per second on two processes that way against 18-55 in-process, in the
same hour (docs/benchmarks.md). So a document whose data is small (``IN_PROCESS_BYTES``,
most requests by far) is laid out in-process, where its cost is known and small (a 64 KiB
document: about 14 pages, a fraction of a second, tens of MiB); only a larger one goes to
the child, where the bounds hold.
"""

from __future__ import annotations

import atexit
import os
import pickle
import resource
import selectors
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from hanoinet.errors import DocumentFailed

_LENGTH = struct.Struct(">Q")
IN_PROCESS_BYTES = 64 << 10
"""Data up to this size (the JSON Typst is given) is laid out in-process; larger, in the
bounded child."""
START_SECONDS = 120.0
"""A child loading Typst and finding the fonts: seconds on a loaded machine, never minutes."""


@dataclass(frozen=True)
class Bounds:
    """How long one document may take to lay out, and how much memory its process may hold."""

    seconds: float = 30.0
    memory_mb: int = 1024
    """The defaults of HANOINET_DOCUMENT_RENDER_SECONDS and HANOINET_DOCUMENT_RENDER_MEMORY_MB."""


class LayoutError(Exception):
    """Typst refused the document (raised in the parent with Typst's own message)."""


class _Gone(Exception):
    """The child stopped answering: it ended, or ran out of its time."""


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read(fd: int, deadline: float | None) -> Any:
    """One value from ``fd`` by ``deadline`` (``time.monotonic``; None: no hurry); _Gone if
    it ends or is late."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)

        def exactly(size: int) -> bytes:
            data = bytearray()
            while len(data) < size:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not selector.select(wait):
                    raise _Gone("late")
                piece = os.read(fd, size - len(data))
                if not piece:
                    raise _Gone("ended")
                data.extend(piece)
            return bytes(data)

        (size,) = _LENGTH.unpack(exactly(_LENGTH.size))
        return pickle.loads(exactly(size))


class Typesetter:
    """One child process compiling one document at a time, within ``bounds``."""

    def __init__(self, bounds: Bounds | None = None) -> None:
        self.bounds = bounds or Bounds()
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def compile(self, **options: Any) -> tuple[bytes, list[str]]:
        """``typst.Compiler.compile_with_warnings(**options)`` in the child: the PDF and the
        warnings; raises LayoutError (Typst's message) or DocumentFailed (a bound passed)."""
        with self._lock:
            child = self._child or self._start()
            assert child.stdin is not None and child.stdout is not None
            try:
                _write(child.stdin, options)
                made = _read(child.stdout.fileno(), time.monotonic() + self.bounds.seconds)
            except (_Gone, OSError) as exc:
                self._stop()
                if str(exc) == "late":
                    raise DocumentFailed(
                        f"laying out the document took longer than {self.bounds.seconds:g} s; "
                        "shorten its texts (HANOINET_DOCUMENT_RENDER_SECONDS)"
                    ) from None
                raise DocumentFailed(
                    "laying out the document needed more memory than the "
                    f"{self.bounds.memory_mb} MiB allowed, or its process failed; shorten "
                    "its texts (HANOINET_DOCUMENT_RENDER_MEMORY_MB)"
                ) from None
        if made[0] == "error":
            raise LayoutError(made[1])
        return made[1], made[2]

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(self.bounds.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._child = child
        assert child.stdout is not None
        try:  # a child starting is not a document taking long
            _read(child.stdout.fileno(), time.monotonic() + START_SECONDS)
        except _Gone:
            self._stop()
            raise DocumentFailed(
                "the process that lays out documents did not start (with "
                f"{self.bounds.memory_mb} MiB, HANOINET_DOCUMENT_RENDER_MEMORY_MB)"
            ) from None
        return child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.kill()  # a layout that runs on is stopped, not waited for
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


_shared = Typesetter()
_IN_PROCESS = threading.Lock()
"""One compile at a time per process: the Typst compiler is one object (fonts loaded once)."""


@cache
def _compiler() -> Any:
    import typst

    return typst.Compiler()


def typeset(data: str, **options: Any) -> tuple[bytes, list[str]]:
    """Lay out with ``sys_inputs={"data": data}``: in-process when ``data`` is small, else
    in this process's bounded child (raises LayoutError, DocumentFailed)."""
    if len(data.encode()) > IN_PROCESS_BYTES:
        return _shared.compile(sys_inputs={"data": data}, **options)
    import typst

    try:
        with _IN_PROCESS:
            pdf, warned = _compiler().compile_with_warnings(sys_inputs={"data": data}, **options)
    except typst.TypstError as exc:
        raise LayoutError(str(exc)) from None
    return pdf, [str(getattr(w, "message", w)) for w in warned]


def configure(bounds: Bounds) -> None:
    """The bounds of this process's typesetter (``serve`` and ``worker`` from the settings)."""
    global _shared
    _shared.close()
    _shared = Typesetter(bounds)


def typesetter() -> Typesetter:
    return _shared


@atexit.register
def _close_shared() -> None:
    """The child goes with its process: ended and its pipes closed, not left to the
    interpreter's shutdown (which warns of a subprocess still running)."""
    _shared.close()


def _serve(memory_mb: int) -> None:
    """The child: cap the address space, load Typst, then lay out what the parent sends
    until its stdin closes."""
    cap = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import typst

    compiler = typst.Compiler()
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the channel
    _write(out, ("ready",))
    fd = sys.stdin.buffer.fileno()
    while True:
        try:
            options = _read(fd, None)
        except _Gone:
            return
        try:
            pdf, warned = compiler.compile_with_warnings(**options)
        except typst.TypstError as exc:
            _write(out, ("error", str(exc)))
            continue
        _write(out, ("ok", pdf, [str(getattr(w, "message", w)) for w in warned]))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
