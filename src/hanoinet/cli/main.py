"""The ``hanoinet`` command."""

from __future__ import annotations

import typer

from hanoinet import __version__
from hanoinet.cli import (
    bench,
    case,
    convention,
    document,
    evidence,
    node,
    request,
    serve,
    stats,
    treaty,
    user,
)

app = typer.Typer(
    name="hanoinet",
    help="hanoinet: the working machinery of the UN Convention against Cybercrime.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(treaty.app, name="treaty")
app.add_typer(convention.app, name="convention")
app.add_typer(request.app, name="request")
app.add_typer(request.schema_app, name="schema")
app.command("check")(request.check_command)
app.add_typer(case.app, name="case")
app.add_typer(case.audit_app, name="audit")
app.add_typer(case.clock_app, name="clock")
app.add_typer(evidence.app, name="evidence")
app.add_typer(document.app, name="document")
app.add_typer(node.app, name="node")
app.add_typer(node.directory_app, name="directory")
app.add_typer(user.app, name="user")
app.add_typer(user.token_app, name="token")
app.command("serve")(serve.serve_command)
app.command("worker")(serve.worker_command)
app.add_typer(stats.app, name="stats")
app.add_typer(bench.app, name="bench")


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
