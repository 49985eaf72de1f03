"""The formal request documents on the case page: render one in any UN language (signed by
this node when it is an outgoing request it has sent), and open or download the documents
the node issued or received, as they were signed. Readers of the case only, by the same
rule as the case page (a request the reader may not see answers like a missing one); every
PDF served is an audited read (services/documents.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hanoinet.convention.model import LANGUAGES
from hanoinet.errors import HanoinetError, UnknownCase
from hanoinet.services import access, users
from hanoinet.services import documents as service
from hanoinet.web.common import attachment, message_page, no_such_request, now, session, web
from hanoinet.web.render import N_

router = APIRouter(include_in_schema=False)
MAX_NUMBER = 2**31 - 1
"""Past any document a node keeps; a larger number would not fit the database's integers."""


def _pdf(pdf: bytes, name: str, download: bool) -> Response:
    # case content: never kept by a browser or proxy (attachment's default)
    return attachment(pdf, "application/pdf", name, inline=not download)


def _reader(request: Request) -> users.Session | Response:
    """The reader of the case page asking, or the empty answer for one who is not."""
    current = session(request)
    if current is None:
        return Response(status_code=401)
    if not access.can(current.principal, "cases.read"):
        return Response(status_code=403)
    return current


@router.get("/requests/{ident}/document.pdf")
def render_document(request: Request, ident: str, lang: str = "", download: str = "") -> Response:
    current = _reader(request)
    if isinstance(current, Response):
        return current
    at = now(request)
    if lang and lang not in LANGUAGES:
        return message_page(
            request,
            N_("Not made"),
            N_("The formal document could not be made"),
            N_("Choose one of the six UN languages."),
            422,
        )
    node = web(request)
    try:
        issuer = service.signer(node.ctx, node.directory_token, at)
        rendered = service.render_request(
            node.ctx.store,
            ident,
            lang=lang or None,
            actor=current.principal.actor,
            at=at,
            principal=current.principal,
            issuer=issuer,
        )
    except UnknownCase:
        return no_such_request(request)
    except HanoinetError as exc:
        return message_page(
            request,
            N_("Not made"),
            N_("The formal document could not be made"),
            exc.message,
            503,
        )
    made = rendered.made
    name = f"{rendered.request_id}-{made.lang}{'-draft' if made.draft else ''}.pdf"
    return _pdf(made.pdf, name, bool(download))


@router.get("/requests/{ident}/documents/{number}.pdf")
def kept_document(request: Request, ident: str, number: int, download: str = "") -> Response:
    current = _reader(request)
    if isinstance(current, Response):
        return current
    if not 0 < number <= MAX_NUMBER:
        return no_such_request(request)
    try:
        stored, pdf = service.read_pdf(
            web(request).ctx.store,
            ident,
            number,
            actor=current.principal.actor,
            at=now(request),
            principal=current.principal,
        )
    except UnknownCase:
        return no_such_request(request)
    # the language as a peer declared it: named in the file name only when it is a UN language
    lang = stored.lang if stored.lang in LANGUAGES else "xx"
    name = f"{stored.request_id}-{stored.direction}-{stored.id}-{lang}.pdf"
    return _pdf(pdf, name, bool(download))


@router.get("/requests/{ident}/attachments/{number}")
def letter_attachment(request: Request, ident: str, number: int) -> Response:
    """A file a letter or e-mail of a request outside the network carried (a scan, an .eml,
    the formal document sent): always downloaded, never shown in the page's origin; the
    reading is audited (services/outside.py)."""
    from hanoinet.services.outside import read_attachment

    current = _reader(request)
    if isinstance(current, Response):
        return current
    if not 0 < number <= MAX_NUMBER:
        return no_such_request(request)
    try:
        kept, content = read_attachment(
            web(request).ctx.store,
            ident,
            number,
            actor=current.principal.actor,
            at=now(request),
            principal=current.principal,
        )
    except UnknownCase:
        return no_such_request(request)
    return attachment(content, kept.media_type, kept.filename, inline=False)


@router.get("/requests/{ident}/letters/{number}/document")
def letter_document(request: Request, ident: str, number: int) -> Response:
    """The signed formal letter of one step this node owes a State that runs no node, to
    print and post (services/letters.py); the reading is audited. Downloaded."""
    from hanoinet.services.letters import letter_document as make_letter

    current = _reader(request)
    if isinstance(current, Response):
        return current
    if not 0 < number <= MAX_NUMBER:
        return no_such_request(request)
    state = web(request)
    try:
        made = make_letter(
            state.ctx,
            ident,
            number,
            actor=current.principal.actor,
            at=now(request),
            directory_token=state.directory_token,
            principal=current.principal,
        )
    except UnknownCase:
        return no_such_request(request)
    except HanoinetError as exc:
        return message_page(
            request, N_("Not made"), N_("The letter could not be made"), exc.message, 503
        )
    return _pdf(made.pdf, f"letter-{ident}-{number}-{made.lang}.pdf", True)
