"""The docs stay honest: every command is documented, and the public exports are pinned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click.core import Context

import hanoinet.convention
import hanoinet.registry
from hanoinet.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        # list_commands/get_command, not .commands: the root imports its groups on demand.
        if hasattr(command, "list_commands"):
            ctx = Context(command, info_name=prefix or "hanoinet")
            for name in command.list_commands(ctx):
                walk(f"{prefix} {name}".strip(), command.get_command(ctx, name))
        else:
            found.append((prefix, command))

    walk("", root)
    return found


COMMANDS = _commands()


def test_commands_found() -> None:
    names = [name for name, _ in COMMANDS]
    assert "treaty status" in names and "convention article" in names


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_cli_doc(name: str, command: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"hanoinet {name}" in readme, f"README.md does not show `hanoinet {name}`"
    assert f"`hanoinet {name}" in cli_doc, f"docs/cli.md does not list `hanoinet {name}`"
    assert command.help, f"`hanoinet {name}` has no help text"


NO_JSON_SWITCH = {"request template", "schema request", "directory issue", "serve", "worker"}
"""Commands whose output is already JSON, a file, or a running service's log: no --json."""


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_json(name: str, command: Any) -> None:
    if name in NO_JSON_SWITCH:
        return
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--json" in options, f"`hanoinet {name}` prints data but has no --json"
    cli_doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"## `hanoinet {name}" in cli_doc, f"docs/cli.md has no JSON section for {name}"


def test_public_exports_are_pinned() -> None:
    assert set(hanoinet.convention.__all__) == {
        "AUTHORITATIVE_TEXT",
        "LANGUAGES",
        "UNCONFIRMED",
        "UNVERIFIED_ARTICLE",
        "Convention",
        "KeyInfo",
        "SearchHit",
        "convention",
    }
    assert set(hanoinet.registry.__all__) == {
        "REIOS",
        "ActionKind",
        "Participant",
        "ParticipantStatus",
        "TreatyAction",
        "TreatyStatus",
        "check_record",
        "packaged_actions",
        "parse_actions",
        "participant",
        "participant_status",
        "resolve",
        "treaty_status",
    }


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.index("## Set-up")
    usage = readme.index("## Usage")
    assert "make demo" in readme[setup:usage] and "make test" in readme[setup:usage]


def test_ci_runs_make_test() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_packaged_record_is_the_shipped_copy_of_the_public_record() -> None:
    """The record ships inside the package; its header is the documented format."""
    record = ROOT / "src" / "hanoinet" / "registry" / "data" / "treaty-actions.csv"
    assert record.read_text(encoding="utf-8").splitlines()[0] == (
        "participant,code,action,date,confirmed,source,note"
    )


def test_lifecycle_doc_lists_every_action_and_guard() -> None:
    """docs/lifecycle.md shows the table as it is, each transition with its basis, and every
    guard (regenerate the table with ``hanoinet.cases.lifecycle.markdown_table()``)."""
    from hanoinet.cases.guards import GUARDS
    from hanoinet.cases.lifecycle import markdown_table

    doc = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert markdown_table() in doc
    for guard in GUARDS:
        assert f"| `{guard}` |" in doc, guard


def test_every_setting_is_documented() -> None:
    from hanoinet.settings import Settings

    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`HANOINET_{name.upper()}`" in doc, name


def test_published_request_schema_is_current() -> None:
    """docs/request.schema.json is what `hanoinet schema request` prints (regenerate it with
    `hanoinet schema request > docs/request.schema.json`)."""
    import json

    from hanoinet.law import request_schema

    published = json.loads((ROOT / "docs" / "request.schema.json").read_text(encoding="utf-8"))
    assert published == request_schema()


def test_the_threat_model_names_only_code_and_tests_that_exist() -> None:
    """docs/security.md ties each control to its code and tests: every path it names exists
    (under src/hanoinet/ or the repository), and every reason code it lists is one the inbox
    can give."""
    import re

    from hanoinet.exchange import envelope, origin

    text = (ROOT / "docs" / "security.md").read_text("utf-8")
    paths = set(re.findall(r"`((?:tests/)?[a-z_][a-z_/]*(?:\.py|\.json|/))`", text))
    assert "exchange/origin.py" in paths and "tests/security/test_rogue_member.py" in paths
    missing = [
        p
        for p in sorted(paths)
        if not (ROOT / "src" / "hanoinet" / p).exists() and not (ROOT / p).exists()
    ]
    assert missing == [], f"docs/security.md names paths that do not exist: {missing}"
    between = text[text.index("### Between States") : text.index("### At the door")]
    named = set(re.findall(r"\(`([a-z_]+)`", between))
    assert named <= set(origin.REASONS) | set(envelope.REASONS) | {"downgrade", "revoked_key"}
    assert (ROOT / "SECURITY.md").exists()
