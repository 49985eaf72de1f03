"""``hanoinet document``: the formal request as a signed PDF, and its verification.

``render`` makes it from a case on this node (signed by this node when it is an outgoing
request that has been sent) or from a request document file (never signed: a file is not
a request this node has issued). ``verify`` checks a PDF offline against the directory.
``list`` and ``save`` read the documents a node issued or received; ``reissue`` queues one
that could not be made again.
"""

from __future__ import annotations

import hashlib
import json as json_module
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from babel import Locale

from hanoinet.cli.output import (
    EXIT_FINDING,
    console,
    parse_time,
    print_json,
    read_text,
    user_errors,
    write_whole,
)
from hanoinet.cli.trust import Authority, Directory
from hanoinet.cli.trust import trust as read_trust
from hanoinet.documents.render import request_sha256
from hanoinet.documents.signature import Made, Signer, make, verify
from hanoinet.errors import HanoinetError, InvalidInput
from hanoinet.law import check_text, default_context
from hanoinet.services import documents as service
from hanoinet.services import runtime
from hanoinet.settings import load_settings

app = typer.Typer(
    help="Formal request documents: the request as a signed PDF/A in a UN language.",
    no_args_is_help=True,
)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]
Lang = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="ar, en, es, fr, ru or zh (default: the request's language if it is one, else "
        "the requested State's).",
        metavar="LANG",
    ),
]
At = Annotated[
    str | None,
    typer.Option(
        "--at", help="Date the document as of this UTC time (default now).", metavar="TIME"
    ),
]


def _issuer(at: datetime) -> tuple[Signer | None, str]:
    """This node as issuer, or None with the reason (no node set up here)."""
    settings = load_settings()
    try:
        ctx, signed = runtime.load_context(settings, at)
    except (HanoinetError, OSError) as exc:
        message = exc.message if isinstance(exc, HanoinetError) else str(exc)
        return None, f"not signed: {message}"
    ctx.store.dispose()
    return service.signer(ctx, signed.token, at), ""


def _from_file(path: Path, lang: str | None, at: datetime) -> tuple[Made, str | None]:
    text = read_text(path, "CASE-OR-FILE")
    doc, findings = check_text(text, default_context(at.date()), name=str(path))
    document = json_module.loads(text)
    return make(document, doc, findings, lang=lang, at=at, request_id=None, signer=None), None


@app.command("render")
def render_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A case or request on this node (C-..., R-...), or a request document file.",
            metavar="CASE-OR-FILE",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The PDF file to write.", metavar="PDF")],
    lang: Lang = None,
    at: At = None,
    json: Json = False,
) -> None:
    """Render a request as its formal document (PDF/A-4f); a request with errors renders
    only as an unsigned draft (exit 1)."""
    when = parse_time(at)
    note = ""
    with user_errors():
        if Path(source).is_file():
            made, request_id = _from_file(Path(source), lang, when)
            note = "not signed: made from a file, not from a request this node has sent"
        else:
            issuer, note = _issuer(when)
            store = runtime.open_node_store(load_settings())
            try:
                rendered = service.render_request(
                    store,
                    source,
                    lang=lang,
                    actor=load_settings().user,
                    at=when,
                    issuer=issuer,
                )
            finally:
                store.dispose()
            made, request_id = rendered.made, rendered.request_id
            if issuer is not None and not made.signed and not made.draft:
                note = "not signed: only an outgoing request this node has sent is signed by it"
        write_whole(out, made.pdf)
    data = _made_json(made, request_id, out)
    if json:
        print_json(data)
    else:
        what = "DRAFT" if made.draft else "formal request"
        signed = "signed" if made.signed else note or "not signed"
        language = Locale.parse(made.lang).get_display_name("en")
        console.print(
            f"{what} {request_id or source} in {language} ({made.lang}), {made.pages} pages, "
            f"{signed}: "
            f"{out} ({len(made.pdf):,} bytes)",
            markup=False,
        )
        console.print(f"  request SHA-256 {made.request_sha256}", markup=False)
        if made.draft:
            console.print(
                "  the request has errors: `hanoinet check` lists them; a draft is never signed",
                markup=False,
            )
    if made.draft:
        raise typer.Exit(EXIT_FINDING)


def _made_json(made: Made, request_id: str | None, out: Path) -> dict[str, Any]:
    return {
        "path": str(out),
        "request": request_id,
        "lang": made.lang,
        "pages": made.pages,
        "bytes": len(made.pdf),
        "draft": made.draft,
        "signed": made.signed,
        "request_sha256": made.request_sha256,
        "pdf_sha256": hashlib.sha256(made.pdf).hexdigest(),
    }


@app.command("verify")
def verify_command(
    pdf: Annotated[Path, typer.Argument(help="A formal request document (PDF).")],
    request: Annotated[
        Path | None,
        typer.Option(
            "--request",
            help="The request document (JSON) the PDF must have been made from.",
            metavar="FILE",
        ),
    ] = None,
    authority: Authority = None,
    directory: Directory = None,
    json: Json = False,
) -> None:
    """Check a formal document's signature, signer, coverage and request hash (exit 1 when
    it does not verify)."""
    with user_errors():
        try:
            data = pdf.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"{pdf}: {exc.strerror}") from None
        expected = None
        if request is not None:
            try:
                expected = request_sha256(json_module.loads(read_text(request, "--request")))
            except ValueError as exc:
                raise InvalidInput(f"--request {request}: not JSON ({exc})") from None
        result = verify(data, read_trust(authority, directory), expected_sha256=expected)
    shaped = {"path": str(pdf), **result.to_json()}
    if json:
        print_json(shaped)
    else:
        mark = {True: "ok  ", False: "FAIL", None: "--  "}
        for check in result.checks:
            console.print(f"  {mark[check.ok]} {check.name:<10} {check.detail}", markup=False)
        verdict = "VERIFIED" if result.ok else "NOT VERIFIED"
        console.print(f"{verdict}: {pdf}", markup=False)
    if not result.ok:
        raise typer.Exit(EXIT_FINDING)


@app.command("list")
def list_command(
    case: Annotated[str, typer.Argument(help="A case or request (C-..., R-...).")],
    json: Json = False,
) -> None:
    """The formal documents this node issued or received for a request."""
    with user_errors():
        store = runtime.open_node_store(load_settings())
    try:
        with user_errors():
            request_id, kept = service.documents_of(store, case)
    finally:
        store.dispose()
    if json:
        print_json({"request": request_id, "documents": [k.to_json() for k in kept]})
        return
    if not kept:
        console.print(f"{request_id}: no formal document (one is issued when it is sent)")
    for k in kept:
        size = f"{k.size:,} bytes" if k.size else ""
        console.print(
            f"{k.id:>4}  {k.direction:<8} {k.status:<9} {k.lang or '--':<3} "
            f"{k.updated_at:%Y-%m-%d %H:%M} {k.signer or ''} {size} {k.problem or ''}".rstrip(),
            markup=False,
        )


@app.command("save")
def save_command(
    case: Annotated[str, typer.Argument(help="A case or request (C-..., R-...).")],
    number: Annotated[int, typer.Argument(help="The document's number (`document list`).")],
    out: Annotated[Path, typer.Option("--out", help="The PDF file to write.", metavar="PDF")],
    json: Json = False,
) -> None:
    """Write a kept formal document, as it was signed or received (an audited read)."""
    with user_errors():
        store = runtime.open_node_store(load_settings())
    try:
        with user_errors():
            stored, pdf = service.read_pdf(
                store, case, number, actor=load_settings().user, at=parse_time(None)
            )
            write_whole(out, pdf)
    finally:
        store.dispose()
    if json:
        print_json({**stored.to_json(), "path": str(out)})
    else:
        console.print(f"{stored.request_id} document {stored.id} ({stored.status}): {out}")


@app.command("reissue")
def reissue_command(
    case: Annotated[str, typer.Argument(help="An outgoing request (R-...) whose document failed.")],
    json: Json = False,
) -> None:
    """Queue again a formal document that could not be made (after installing a font or
    completing a catalog); the worker makes, signs and sends it (audited)."""
    with user_errors():
        store = runtime.open_node_store(load_settings())
    try:
        with user_errors():
            stored = service.reissue(store, case, actor=load_settings().user, at=parse_time(None))
    finally:
        store.dispose()
    if json:
        print_json(stored.to_json())
    else:
        console.print(
            f"{stored.request_id} document {stored.id}: queued again; the worker issues it",
            markup=False,
        )
