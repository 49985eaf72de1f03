"""The e-mail that carries a formal request to a State that runs no node.

Written in the formal document's language with the documents' catalog (every fixed phrase in
the six UN languages, as the document's own): the subject carries both references (this
node's and the requesting authority's own file number), the body says what is attached and
the request's SHA-256, and the two attachments are the signed PDF and the request as JSON,
byte for byte the document the hash is of. Headers ``X-Hanoinet-Request`` and
``X-Hanoinet-Request-SHA256`` let a receiving system file it without reading the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hanoinet.convention import convention
from hanoinet.documents.render import Phrases
from hanoinet.errors import HanoinetError
from hanoinet.law.document import RequestDocument
from hanoinet.registry.participants import participant


@dataclass(frozen=True)
class Letter:
    """What the e-mail carries, besides its addresses."""

    request_id: str
    document: RequestDocument
    request_json: bytes
    """The request document exactly as stored (canonical JSON): its SHA-256 is ``sha256``."""
    sha256: str
    pdf: bytes
    lang: str


def _state(code: str | None, lang: str) -> str:
    if not code:
        return ""
    try:
        return participant(code).name(lang)
    except HanoinetError:
        return code


def compose(letter: Letter, *, sender: str, to: str, at: object) -> EmailMessage:
    """The e-mail of ``letter`` from ``sender`` to ``to``, dated ``at`` (a datetime)."""
    say = Phrases(letter.lang)
    doc = letter.document
    title = say(convention().forms[doc.kind].title)
    own = doc.references.own_reference if doc.references else None
    subject = say("Request %(reference)s: %(title)s", reference=letter.request_id, title=title)
    if own:  # the requesting authority's own file number, on one line (no header injection)
        subject += " · " + " ".join(own.split())
    requesting = _state(doc.requesting_state, letter.lang)
    requested = _state(doc.requested_state, letter.lang)
    lines = [
        say(
            "%(requesting)s sends %(requested)s the attached request under the United Nations "
            "Convention against Cybercrime.",
            requesting=requesting,
            requested=requested,
        ),
        "",
        say("Attached: the formal request, signed (PDF), and the same request as data (JSON)."),
        say("Our reference: %(reference)s", reference=letter.request_id),
    ]
    if own:
        lines.append(say("Reference of the requesting authority: %(reference)s", reference=own))
    message = _message(say, letter.request_id, letter.sha256, subject, lines, sender, to, at)
    name = f"request-{letter.request_id}"
    message.add_attachment(
        letter.pdf, maintype="application", subtype="pdf", filename=f"{name}.pdf"
    )
    message.add_attachment(
        letter.request_json, maintype="application", subtype="json", filename=f"{name}.json"
    )
    return message


def _message(
    say: Phrases,
    request_id: str,
    sha256: str,
    subject: str,
    lines: list[str],
    sender: str,
    to: str,
    at: object,
) -> EmailMessage:
    """The e-mail with its headers and body (``lines``, then the request's hash and the
    closing request), attachments still to add."""
    lines = [
        *lines,
        say("SHA-256 of the request (JSON): %(hash)s", hash=sha256),
        "",
        say("Please quote our reference in every reply, and reply to this address."),
    ]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)  # type: ignore[arg-type]
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-Hanoinet-Request"] = request_id
    message["X-Hanoinet-Request-SHA256"] = sha256
    message["Content-Language"] = say.lang
    message.set_content("\n".join(lines) + "\n")
    return message


@dataclass(frozen=True)
class StepLetter:
    """A step's letter (``documents/letter.py``) as an e-mail carries it."""

    request_id: str
    document: RequestDocument
    sha256: str
    """Of the request the letter concerns."""
    title: str
    """The letter's title, in English (translated here)."""
    action: str
    pdf: bytes
    lang: str
    sender_state: str
    recipient_state: str


def compose_step(letter: StepLetter, *, sender: str, to: str, at: object) -> EmailMessage:
    """The e-mail of a step's letter: its title and both references in the subject, the
    signed letter attached."""
    say = Phrases(letter.lang)
    doc = letter.document
    own = doc.references.own_reference if doc.references else None
    subject = say(
        "%(title)s · request %(reference)s", title=say(letter.title), reference=letter.request_id
    )
    if own:
        subject += " · " + " ".join(own.split())
    lines = [
        say(
            "%(sender)s writes to %(recipient)s about the request below, under the United "
            "Nations Convention against Cybercrime: %(title)s.",
            sender=_state(letter.sender_state, letter.lang),
            recipient=_state(letter.recipient_state, letter.lang),
            title=say(letter.title),
        ),
        "",
        say("Attached: the letter, signed (PDF)."),
        say("Our reference: %(reference)s", reference=letter.request_id),
    ]
    if own:
        lines.append(say("Reference of the requesting authority: %(reference)s", reference=own))
    message = _message(say, letter.request_id, letter.sha256, subject, lines, sender, to, at)
    message["X-Hanoinet-Step"] = letter.action
    message.add_attachment(
        letter.pdf,
        maintype="application",
        subtype="pdf",
        filename=f"letter-{letter.request_id}-{letter.action}.pdf",
    )
    return message
