"""``hanoinet user``: the lifecycle commands print what they did, --json in the documented
shape, and refuse with one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hanoinet.cli.main import app
from hanoinet.store import open_store

runner = CliRunner()


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HANOINET_DATABASE_URL", raising=False)
    open_store(f"sqlite:///{tmp_path / 'hanoinet.db'}").dispose()  # a node's database
    for name, role in (("ada", "node_admin"), ("dora", "duty_officer")):
        added = runner.invoke(app, ["user", "add", name, "--role", role, "--json"])
        assert added.exit_code == 0, added.output
    return tmp_path


def run_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_the_lifecycle_from_the_command_line(node: Path) -> None:
    listed = run_json("user", "list")
    dora = next(u for u in listed["users"] if u["username"] == "dora")  # type: ignore[attr-defined]
    assert dora["state"] == "active" and dora["sessions"] == 0 and dora["last_log_in"] is None
    assert set(dora) == {
        "username",
        "role",
        "state",
        "second_factor",
        "created_at",
        "last_log_in",
        "sessions",
        "api_tokens",
    }
    assert run_json("user", "disable", "dora")["state"] == "disabled"
    assert run_json("user", "enable", "dora")["state"] == "active"
    changed = run_json("user", "role", "dora", "supervisor")
    assert (changed["role"], changed["username"]) == ("supervisor", "dora")
    token = run_json("token", "create", "dora", "--name", "ci")
    reset = run_json("user", "reset-totp", "dora")
    assert reset["username"] == "dora" and len(str(reset["initial_password"])) >= 20
    ended = run_json("user", "end-sessions", "dora")
    assert ended == {"username": "dora", "sessions": 0, "api_tokens": 1}
    assert token["username"] == "dora"
    removed = run_json("user", "remove", "dora", "--yes")
    assert removed == {"username": "dora", "sessions": 0, "api_tokens": 0}
    after = run_json("user", "list")
    states = {u["username"]: u["state"] for u in after["users"]}  # type: ignore[attr-defined]
    assert states == {"ada": "active", "dora": "removed"}


def test_plain_output_says_what_was_done(node: Path) -> None:
    result = runner.invoke(app, ["user", "end-sessions", "dora"])
    assert result.exit_code == 0
    assert "0 session(s) ended, 0 API token(s) revoked" in result.stdout
    reset = runner.invoke(app, ["user", "reset-totp", "dora"])
    assert reset.exit_code == 0 and "one-time password (shown once)" in reset.stdout
    listed = runner.invoke(app, ["user", "list"])
    assert "dora" in listed.stdout and "not yet (next log-in)" in listed.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["user", "disable", "ghost"], "no user 'ghost' on this node"),
        (["user", "role", "dora", "emperor"], "unknown role 'emperor'"),
        (["user", "disable", "ada"], "last active node administrator"),
        (["user", "enable", "dora"], "active already"),
        (["user", "remove", "dora"], "cannot be undone; add --yes"),
    ],
)
def test_refusals_are_one_line_and_exit_2(node: Path, args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert run_json("user", "list")["users"][1]["state"] == "active"  # type: ignore[index]
