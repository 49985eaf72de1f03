"""Shared pieces of every command: JSON printing, dates, and turning errors into exit codes.

Exit codes: 0 fine, 1 a check found a problem, 2 bad input (with a one-line reason).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer

from hanoinet.errors import HanoinetError, InvalidInput
from hanoinet.isodate import parse_day

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_BAD_INPUT = 2


class LazyConsole:
    """A rich ``Console``, made when first used: importing rich costs about 30 ms, which the
    commands that print plain lines (``check``, ``treaty status``, ``convention``) need not
    pay before they answer. ``real`` is the console itself, for what needs one (a progress
    bar); anything else is passed through."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    @property
    def real(self) -> Any:
        if self._console is None:
            from rich.console import Console

            made = Console(**self._options)
            if not made.stderr and not made.is_terminal:
                # Piped or captured output: wide tables rather than wrapped cells.
                made.width = 160
            self._console = made
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


console = LazyConsole(highlight=False, soft_wrap=True)
err_console = LazyConsole(stderr=True, highlight=False)


def say(text: object = "") -> None:
    """One line on stdout as it is written: no markup, no colour, no wrapping."""
    sys.stdout.write(f"{text}\n")


def print_json(data: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table as plain aligned columns under a title, as ``git`` or ``ps`` print them: read
    the same in a terminal, a pipe or a log, and ten times faster to print than a framed table
    (``treaty status`` has some 80 rows)."""
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    out = [title, line(columns).rstrip(), "  ".join("-" * w for w in widths)]
    out += [line(row).rstrip() for row in rows]
    sys.stdout.write("\n".join(out) + "\n")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn hanoinet's own errors into a one-line message and exit code 2."""
    try:
        yield
    except HanoinetError as exc:
        fail(exc.message)


def today() -> date:
    """Today's date in UTC: the one place commands read the clock."""
    return datetime.now(UTC).date()


def parse_date(value: str | None, option: str) -> date:
    if value is None:
        return today()
    try:
        return parse_day(value)
    except ValueError:
        fail(f"{option} '{value}' is not a date; write it as YYYY-MM-DD")


def read_text(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{option} {path}: no such file")
    except UnicodeDecodeError as exc:
        fail(f"{option} {path}: not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        fail(f"{option} {path}: {exc.strerror}")


def parse_time(value: str | None, option: str = "--at") -> datetime:
    """A UTC time from the command line (ISO 8601; no zone means UTC); now when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} '{value}' is not a time; write it like 2026-11-24T03:00:00Z")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(value: date | None, empty: str = "—") -> str:
    return value.isoformat() if value is not None else empty


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a crash leaves the old file)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(f"--out {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
