"""``hanoinet request``, ``hanoinet schema`` and ``hanoinet check``: the request document."""

from __future__ import annotations

import json as jsonlib
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer

from hanoinet.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_FINDING,
    fail,
    parse_date,
    print_json,
    say,
    user_errors,
)
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED
from hanoinet.errors import NotARequest
from hanoinet.law import (
    Context,
    Finding,
    RequestDocument,
    check_text,
    default_context,
    has_errors,
    request_schema,
    template,
)
from hanoinet.law.document import MAX_TEXT_BYTES, too_large
from hanoinet.services import shapes
from hanoinet.texts import visible

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
        say(f"{f.key:<28} {f.title} ({', '.join(f.articles)})")


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
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Request documents (JSON), or folders: every *.json in them (not sub-folders).",
            metavar="FILE... | DIR",
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date to check on (default: today, UTC).", metavar="DATE"),
    ] = None,
    json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One FILE: one JSON object; several: one per line and a summary (docs/cli.md).",
        ),
    ] = False,
) -> None:
    """Check requests against the Convention; every finding names its article.

    Exit 0 when there is no error, 1 when there is one, 2 when a file is not a request.
    """
    day = parse_date(as_of, "--as-of")
    ctx = default_context(day)
    if len(paths) == 1 and not paths[0].is_dir():
        _check_one(paths[0], day, ctx, json)
        return
    counts = check_files(_expand(paths), ctx, json, sys.stdout)
    if counts["not_requests"]:
        raise typer.Exit(EXIT_BAD_INPUT)
    if counts["with_errors"]:
        raise typer.Exit(EXIT_FINDING)


def check_files(files: list[Path], ctx: Context, json: bool, out: TextIO) -> dict[str, int]:
    """Check each file and write its report (text, or one JSON line), then a summary; the
    counts by outcome. A file that is not a request is reported and counted, not fatal."""
    day = ctx.as_of
    counts = {"files": len(files), "pass": 0, "with_errors": 0, "not_requests": 0}
    for file in files:
        try:
            doc, findings = check_text(read_request_file(file), ctx, str(file))
        except NotARequest as exc:
            counts["not_requests"] += 1
            if json:
                line = {
                    "file": str(file),
                    "ok": False,
                    "kind": None,
                    "as_of": day.isoformat(),
                    "findings": [],
                    "not_a_request": exc.message,
                }
                out.write(jsonlib.dumps(line, ensure_ascii=False) + "\n")
            else:
                out.write(f"{exc.message}\n")
            continue
        ok = not has_errors(findings)
        counts["pass" if ok else "with_errors"] += 1
        if json:
            line = {"file": str(file), **shapes.check_json(doc.kind, day, findings)}
            line["not_a_request"] = None
            out.write(jsonlib.dumps(line, ensure_ascii=False) + "\n")
        else:
            out.write("".join(f"{text}\n" for text in _report(file, doc, findings, day)))
    if json:
        out.write(jsonlib.dumps({"summary": {**counts, "as_of": day.isoformat()}}) + "\n")
    else:
        out.write(
            f"{_count(counts['files'], 'file', 'files')}: {counts['pass']} pass, "
            f"{counts['with_errors']} with errors, "
            f"{_count(counts['not_requests'], 'not a request', 'not requests')}\n"
        )
    return counts


def _check_one(file: Path, day: date, ctx: Context, json: bool) -> None:
    """One FILE: one JSON object (indented) or one report; not a request is an error line."""
    with user_errors():
        doc, findings = check_text(read_request_file(file, "FILE "), ctx, str(file))
    if json:
        print_json(shapes.check_json(doc.kind, day, findings))
    else:
        for line in _report(file, doc, findings, day):
            say(line)
    if has_errors(findings):
        raise typer.Exit(EXIT_FINDING)


def _expand(paths: list[Path]) -> list[Path]:
    """The files to check, in the order given; a folder's *.json files sorted by name. Not
    recursive: a folder of requests is flat, and a sub-folder (drafts, answers, a node's data)
    is better named on purpose than swept in."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if p.is_file())
            if not found:
                fail(f"{path} is a folder with no *.json file")
            files.extend(found)
        else:
            files.append(path)
    return files


def read_request_file(path: Path, label: str = "") -> str:
    """A request file's text, its size bounded before it is read; raises NotARequest (missing,
    unreadable, not UTF-8) or RequestTooLarge."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_TEXT_BYTES:
                raise too_large(str(path), size)
            # What fstat said, and one byte more to see growth; then up to the limit, for a
            # file that grew or a device that reports no size. Asking for the limit at once
            # costs a 2 MiB buffer per file.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(MAX_TEXT_BYTES + 1 - len(data))
    except FileNotFoundError:
        raise NotARequest(f"{label}{path}: no such file") from None
    except IsADirectoryError:
        raise NotARequest(f"{label}{path}: a folder, not a file") from None
    except OSError as exc:
        raise NotARequest(f"{label}{path}: {exc.strerror}") from None
    if len(data) > MAX_TEXT_BYTES:  # grew, or a device that reports no size
        raise too_large(str(path), len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotARequest(f"{label}{path}: not UTF-8 text (byte {exc.start})") from None


def _report(file: Path, doc: RequestDocument, findings: list[Finding], day: date) -> list[str]:
    """The text report of one file: a heading naming it, its findings, the verdict."""
    form = convention().forms[doc.kind]
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    lines = [
        visible(
            f"{file}: {form.title} from {doc.requesting_state or '?'} to "
            f"{doc.requested_state or '?'}, checked on {day}"
        )
    ]
    for f in findings:
        where = f" at {f.field}" if f.field else ""
        article = (
            f" ({f.article}{'' if f.article_verified else ', ' + UNCONFIRMED})"
            if f.article
            else f" [{f.basis}]"
        )
        lines.append(visible(f"  {f.severity.upper():<7}{article}{where}: {f.message}"))
    verdict = "ready to send" if errors == 0 else "not ready"
    lines.append(f"{errors} error(s), {warnings} warning(s): {verdict}")
    return lines


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
