"""The everyday commands start without the database, the web desk or the typesetter.

Checked through ``sys.modules`` after each command has run in a fresh interpreter, not by
timing: what is not imported cannot slow the command down (``hanoinet bench startup``
measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hanoinet.cli.main import COMMANDS, load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "preservation-xa-xb.json"

HEAVY = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "pyhanko", "typst")
"""Libraries that only the commands needing a node, a server or a PDF may import."""

RUN_AND_LIST = """
import json, runpy, sys
sys.argv = ["hanoinet", *sys.argv[1:]]
try:
    runpy.run_module("hanoinet", run_name="__main__")
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def heavy_modules(*args: str) -> list[str]:
    """The heavy modules loaded once ``hanoinet ARGS`` has run in a new interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    modules: list[str] = json.loads(out.rsplit("\nMODULES ", 1)[1])
    assert "hanoinet.cli.main" in modules
    return [m for m in modules if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["treaty", "status"],
        ["convention", "article", "42"],
        ["check", str(EXAMPLE)],
        ["check", str(EXAMPLE), "--json"],
    ],
    ids=lambda args: " ".join(a if a != str(EXAMPLE) else "FILE" for a in args),
)
def test_everyday_command_imports_no_heavy_library(args: list[str]) -> None:
    assert heavy_modules(*args) == []


def test_the_check_finds_a_heavy_import() -> None:
    # The same probe on a command that opens a node's database does see SQLAlchemy.
    assert any(m.startswith("sqlalchemy") for m in heavy_modules("case", "list", "--help"))


def test_pure_core_imports_no_database_or_web_library() -> None:
    code = (
        "import json, sys, hanoinet.convention, hanoinet.registry, hanoinet.law;"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert [m for m in json.loads(out) if m.split(".")[0] in HEAVY] == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    # `hanoinet --help` prints the registry's line without importing the module: it must
    # say what the command's own help says.
    command = load(name)
    assert command.help is not None
    assert command.help.split("\n\n")[0].strip() == COMMANDS[name].help
