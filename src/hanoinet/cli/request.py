"""``hanoinet request``, ``hanoinet schema`` and ``hanoinet check``: the request document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hanoinet.cli.output import (
    EXIT_FINDING,
    console,
    parse_date,
    print_json,
    read_text,
    user_errors,
)
from hanoinet.convention import convention
from hanoinet.law import check_text, default_context, has_errors, request_schema, template
from hanoinet.services import shapes

app = typer.Typer(help="Cooperation request documents: forms and templates.", no_args_is_help=True)
schema_app = typer.Typer(help="Published JSON Schemas.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]


@app.command("kinds")
def kinds_command(json: Json = False) -> None:
    """The cooperation forms of the Convention: key, title, articles."""
    forms = convention().forms.values()
    if json:
        print_json(shapes.kinds_json())
        return
    for f in forms:
        console.print(f"{f.key:<28} {f.title} ({', '.join(f.articles)})", markup=False)


@app.command("template")
def template_command(
    kind: Annotated[str, typer.Argument(help="A form key from `hanoinet request kinds`.")],
) -> None:
    """Print an empty request document for one form, ready to fill in."""
    with user_errors():
        print_json(template(kind))


@schema_app.command("request")
def schema_request_command() -> None:
    """Print the JSON Schema of the request document (docs/request-format.md)."""
    print_json(request_schema())


def check_command(
    file: Annotated[Path, typer.Argument(help="A request document (JSON).", metavar="FILE")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date to check on (default: today, UTC).", metavar="DATE"),
    ] = None,
    json: Json = False,
) -> None:
    """Check a request against the Convention; every finding names its article.

    Exit 0 when there is no error, 1 when there is one, 2 when FILE is not a request.
    """
    day = parse_date(as_of, "--as-of")
    text = read_text(file, "FILE")
    with user_errors():
        doc, findings = check_text(text, default_context(day), str(file))
    ok = not has_errors(findings)
    if json:
        print_json(shapes.check_json(doc.kind, day, findings))
    else:
        form = convention().forms[doc.kind]
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        console.print(
            f"{file}: {form.title} from {doc.requesting_state or '?'} to "
            f"{doc.requested_state or '?'}, checked on {day}",
            markup=False,
        )
        for f in findings:
            where = f" at {f.field}" if f.field else ""
            article = f" ({f.article})" if f.article else ""
            console.print(f"  {f.severity.upper():<7}{article}{where}: {f.message}", markup=False)
        verdict = "ready to send" if ok else "not ready"
        console.print(f"{errors} error(s), {warnings} warning(s): {verdict}")
    if not ok:
        raise typer.Exit(EXIT_FINDING)
