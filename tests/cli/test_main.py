"""Usage errors in one style: one `error:` line on stderr, exit 2, no boxes, no library words."""

from __future__ import annotations

import pytest
import typer.main
from typer._click.core import Context
from typer.testing import CliRunner

from hanoinet.cli.main import app

runner = CliRunner()

BOX = set("│╭╮╰╯─")


def usage_error(*args: str) -> str:
    """Run ``hanoinet ARGS``, check the usage-error form, and return the one line."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert not BOX & set(result.stderr)
    assert "Usage:" not in result.stderr and "Try " not in result.stderr
    return lines[0]


def test_bad_argument_type_names_the_value_and_the_range() -> None:
    line = usage_error("convention", "article", "abc")
    assert line == 'error: "abc" is not an article number (1-68)'


def test_bad_option_type_names_the_option() -> None:
    line = usage_error("bench", "treaty", "--calls", "many")
    assert '--calls: "many" is not a whole number' in line
    assert "hanoinet bench treaty --help" in line
    assert "Invalid value" not in line and "Input should be" not in line


def test_unknown_command_suggests_the_close_one() -> None:
    line = usage_error("trety", "status")
    assert line == 'error: no command "trety"; did you mean treaty? (see hanoinet --help)'


def test_unknown_subcommand_suggests_in_the_same_words() -> None:
    line = usage_error("treaty", "stauts")
    assert line.startswith('error: no command "stauts"; did you mean status')
    assert "hanoinet treaty --help" in line


def test_unknown_command_without_a_close_one() -> None:
    assert usage_error("zzz") == 'error: no command "zzz" (see hanoinet --help)'


def test_missing_argument_names_it() -> None:
    line = usage_error("convention", "article")
    assert line == "error: missing argument N (see hanoinet convention article --help)"


def test_unknown_option_suggests_the_close_one() -> None:
    line = usage_error("treaty", "status", "--jsn")
    assert line.startswith("error: no option --jsn; did you mean --json?")


def test_no_arguments_prints_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "treaty" in result.output and "Commands" in result.output


def test_top_help_lists_every_group_with_its_line() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "convention  The Convention as data: articles and their provisions." in result.stdout
    assert "bench" in result.stdout and "check" in result.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["treaty", "status", "--help"], ["case", "list", "--help"]]
)
def test_help_shows_no_placeholder_on_flags_and_no_box(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout and "BOOLEAN" not in result.stdout
    assert not BOX & set(result.stdout)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("hanoinet ")


def test_commands_are_listed_once_after_one_is_loaded() -> None:
    root = typer.main.get_command(app)
    ctx = Context(root, info_name="hanoinet")
    before = root.list_commands(ctx)
    assert root.get_command(ctx, "treaty") is not None
    assert root.list_commands(ctx) == before
    assert len(before) == len(set(before))
