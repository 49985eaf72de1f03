"""The ``hanoinet`` command.

Each command group is registered here by name, with its module and its one-line help, and
its module is imported only when the group is run: ``hanoinet --help`` lists every group
without importing any, and ``hanoinet treaty status`` does not import the database, the web
desk or the benchmarks. A test checks that each help line here matches its module's.

Every usage error (an unknown command, a missing argument, a value of the wrong type) is
printed as one line, ``error: ...`` on stderr, exit 2, like the commands' own errors.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import typer
import typer.main
from typer._click.core import Command, Context
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.formatting import HelpFormatter
from typer._click.utils import echo, make_default_short_help
from typer.core import TyperCommand, TyperGroup

from hanoinet import __version__
from hanoinet.cli.entry import resume_gc

# pydantic looks for plugins among the entry points of every installed distribution before it
# builds its first model (about 15 ms of every command's start-up); hanoinet uses none. A
# deployment that wants one sets PYDANTIC_DISABLE_PLUGINS itself (empty: look for them).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


class Entry(NamedTuple):
    """One top-level command: where it lives and what ``hanoinet --help`` says of it."""

    module: str
    attribute: str
    """A Typer app (a group: its name ends in ``app``) or a command function."""
    help: str
    """The first paragraph of the group's or command's own help (a test compares them)."""

    @property
    def is_group(self) -> bool:
        return self.attribute.endswith("app")


COMMANDS: dict[str, Entry] = {
    "check": Entry(
        "hanoinet.cli.request",
        "check_command",
        "Check requests against the Convention; every finding names its article.",
    ),
    "serve": Entry(
        "hanoinet.cli.serve",
        "serve_command",
        "Run this node's inbox and API (an ASGI server) until stopped.",
    ),
    "worker": Entry(
        "hanoinet.cli.serve",
        "worker_command",
        "Deliver the outbox and send queued evidence (retries with backoff), verify evidence "
        "that arrived, issue formal documents and fire clocks, until stopped.",
    ),
    "treaty": Entry(
        "hanoinet.cli.treaty",
        "app",
        "Treaty status: signatures, instruments, entry into force (arts 64-67).",
    ),
    "convention": Entry(
        "hanoinet.cli.convention", "app", "The Convention as data: articles and their provisions."
    ),
    "request": Entry(
        "hanoinet.cli.request", "app", "Cooperation request documents: forms and templates."
    ),
    "schema": Entry("hanoinet.cli.request", "schema_app", "Published JSON Schemas."),
    "case": Entry("hanoinet.cli.case", "app", "Cases and their requests on this node."),
    "audit": Entry("hanoinet.cli.case", "audit_app", "The hash-chained audit log."),
    "clock": Entry("hanoinet.cli.case", "clock_app", "Clocks: reminders and expiries."),
    "evidence": Entry(
        "hanoinet.cli.evidence",
        "app",
        "Evidence packages: BagIt + CASE/UCO custody + use conditions, signed, encrypted with age.",
    ),
    "document": Entry(
        "hanoinet.cli.document",
        "app",
        "Formal request documents: the request as a signed PDF/A in a UN language.",
    ),
    "node": Entry("hanoinet.cli.node", "app", "This node: keys and descriptor."),
    "directory": Entry("hanoinet.cli.node", "directory_app", "The signed directory of nodes."),
    "user": Entry("hanoinet.cli.user", "app", "People who log in to this node's web desk."),
    "token": Entry("hanoinet.cli.user", "token_app", "API tokens for other systems."),
    "stats": Entry(
        "hanoinet.cli.stats",
        "app",
        "Statistics of this node, without case content (arts 55, 57): show, export signed, "
        "combine several States' reports.",
    ),
    "bench": Entry(
        "hanoinet.cli.bench",
        "app",
        "Benchmarks, each printed beside a reference measured in the same run.",
    ),
}


def load(name: str) -> Command:
    """Import the module of command ``name`` and build its command."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if entry.is_group:
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    _plain(command)
    resume_gc()
    return command


def _plain(command: Command) -> None:
    """Plain help text, no Rich panels: the same style at every level."""
    if isinstance(command, TyperGroup | TyperCommand):
        command.rich_markup_mode = None
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _plain(sub)


NOT_A = {"int_parsing": "a whole number", "float_parsing": "a number", "bool_parsing": "yes or no"}
"""What a value of the wrong type should have been, by pydantic's error type."""


def _lower(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]


def _bad_value(error: BadParameter) -> str:
    """``"abc" is not a whole number`` rather than the validation library's sentence."""
    errors = getattr(error.__cause__, "errors", None)
    details = errors() if callable(errors) else []
    if details and details[0].get("type") in NOT_A:
        return f'"{details[0].get("input")}" is not {NOT_A[details[0]["type"]]}'
    return _lower(error.message)


UNKNOWN_COMMAND = re.compile(r"No such command '(.*)'\.(?: Did you mean (.*)\?)?")
"""Typer's words for an unknown subcommand, with its suggestions."""


def _did_you_mean(names: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(names)}?" if names else ""


def one_line(error: ClickException) -> str:
    """A usage error in hanoinet's words: what is wrong, and where to read more."""
    if isinstance(error, MissingParameter) and error.param is not None:
        hint = error.param.get_error_hint().replace("'", "")
        message = f"missing {error.param.param_type_name} {hint}"
    elif isinstance(error, BadParameter) and error.param is not None:
        message = f"{error.param.get_error_hint().replace(chr(39), '')}: {_bad_value(error)}"
    elif isinstance(error, NoSuchOption):
        message = f"no option {error.option_name}" + _did_you_mean(error.possibilities or [])
    elif unknown := UNKNOWN_COMMAND.fullmatch(error.message):
        message = f'no command "{unknown[1]}"' + _did_you_mean(
            re.findall(r"'([^']+)'", unknown[2] or "")
        )
    else:
        message = _lower(error.format_message())
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        message += f" (see {ctx.command_path} --help)"
    return "error: " + message


class LazyGroup(TyperGroup):
    """The root group: commands come from ``COMMANDS`` and are imported when run."""

    def list_commands(self, ctx: Context) -> list[str]:
        loaded = [n for n in super().list_commands(ctx) if n not in COMMANDS]
        return [*COMMANDS, *loaded]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        names = list(COMMANDS)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, make_default_short_help(COMMANDS[n].help, limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        name = args[0]
        if name.startswith("-") or name in COMMANDS or name in self.commands:
            return super().resolve_command(ctx, args)
        from difflib import get_close_matches  # only on a mistake: --help does not pay for it

        close = get_close_matches(name, list(COMMANDS))
        raise UsageError(f'no command "{name}"{_did_you_mean(close)}', ctx)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            exc.show()
            code = exc.exit_code
        except ClickException as exc:
            if not standalone_mode:
                raise
            echo(one_line(exc), err=True)
            code = exc.exit_code
        except typer.Abort:
            if not standalone_mode:
                raise
            echo("error: stopped", err=True)
            code = 1
        else:
            if not standalone_mode:
                return result
            code = result if isinstance(result, int) else 0
        sys.exit(code)


app = typer.Typer(
    name="hanoinet",
    cls=LazyGroup,
    help="hanoinet: the working machinery of the UN Convention against Cybercrime.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hanoinet {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """hanoinet: the working machinery of the UN Convention against Cybercrime."""
