"""The formal letter of one step taken on a request with a State that runs no node.

A networked peer learns of each step (an acknowledgement, a request for more information, a
refusal with its ground, an execution, a status enquiry, a withdrawal) as a signed message.
A State that runs no node learns of it by letter or e-mail: this is that letter, laid out by
the request's own template (``templates/request.typ``), in the request's language, with
every fixed phrase from the documents' catalog, signed like the request (PAdES, the node's
document key) and carrying the request it concerns (``request.json``, with its SHA-256, the
step added as ``letter``), so ``hanoinet document verify`` checks it as it checks a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime

from hanoinet.convention import convention
from hanoinet.documents.render import (
    FONTS,
    FORMAT,
    MONO,
    RTL,
    Entry,
    Issuer,
    Line,
    Phrases,
    _article_ref,
    _state_name,
    _style,
    _text,
    _user,
    check_fonts,
    language_for,
    left_to_right,
    request_sha256,
    typeset_document,
)
from hanoinet.documents.signature import Signer, sign
from hanoinet.law.document import RequestDocument
from hanoinet.store.audit import canonical

N_ = str

TITLES: dict[str, str] = {
    "acknowledge": N_("Acknowledgement of receipt"),
    "request_more_info": N_("Request for further information"),
    "provide_more_info": N_("Further information"),
    "start_execution": N_("Execution begun"),
    "consult": N_("Consultation before a decision"),
    "postpone": N_("Postponement of execution"),
    "resume": N_("Execution resumed"),
    "refuse": N_("Refusal of the request"),
    "execute": N_("Request executed"),
    "execute_partially": N_("Request partially executed"),
    "status_enquiry": N_("Enquiry about the status of the request"),
    "answer_status_enquiry": N_("Status of the request"),
    "withdraw": N_("Withdrawal of the request"),
    "notify_cannot_keep_confidential": N_("Confidentiality cannot be kept"),
    "confirm_in_writing": N_("Written confirmation of an oral request"),
    "accept_conditions": N_("Acceptance of the conditions proposed"),
    "propose_conditions": N_("Conditions proposed in answer to the consultation"),
    "request_consent": N_("Request for consent to use in another matter"),
    "notify_exculpatory_disclosure": N_("Notice of disclosure of exculpatory information"),
    "give_consent": N_("Consent to use in another matter"),
    "decline_consent": N_("Consent to use in another matter declined"),
    "use_for_other_matter": N_("Use in another matter"),
    "record_preserved": N_("Data preserved"),
    "extend_preservation": N_("Preservation extended"),
    "link_mla": N_("Request for the preserved data"),
    "notify_not_ensured": N_("Preservation cannot be ensured"),
    "proceed_anyway": N_("Execution requested nonetheless"),
    "disclose_partial_traffic": N_("Disclosure of traffic data"),
    "release": N_("Preserved data released"),
    "answer_consultation": N_("Answer to the consultation"),
}
"""Each step a State that runs no node is told of by letter, as the letter's title."""
NOT_TOLD = frozenset({"send", "check", "edit", "approve", "close"})
"""Steps that are this node's own (or, for ``send``, the request itself): no letter."""
REASON_LABELS: dict[str, str] = {
    "request_more_info": N_("Information needed"),
    "provide_more_info": N_("Information"),
    "answer_status_enquiry": N_("Status"),
    "answer_consultation": N_("Answer"),
    "refuse": N_("Reasons"),
    "postpone": N_("Reasons"),
    "consult": N_("Reasons"),
    "notify_cannot_keep_confidential": N_("Reasons"),
    "notify_not_ensured": N_("Reasons"),
    "execute_partially": N_("What was not executed, and why"),
}
"""What the free text of each step is, where it is not simply its details."""
DETAILS = N_("Details")


def told(action: str) -> bool:
    """Whether the other State is told of ``action`` by letter."""
    return action in TITLES and action not in NOT_TOLD


@dataclass(frozen=True)
class Step:
    """The step the letter tells: as recorded (``events``)."""

    action: str
    article: str
    at: datetime
    params: dict[str, str]


@dataclass(frozen=True)
class Made:
    pdf: bytes
    lang: str
    request_sha256: str


def content(
    doc: RequestDocument,
    document: dict[str, Any],
    step: Step,
    *,
    lang: str,
    issued_at: datetime,
    issuer: Issuer,
    request_id: str,
    our_state: str,
    peer_reference: str | None,
    directory_token: str | None,
) -> dict[str, Any]:
    """What the template prints for the letter of ``step``: the request's shape (parties,
    basis, one section, signature) with the letter's own text."""
    say = Phrases(lang)
    locale = Locale.parse(lang)
    other = doc.requested_state if our_state == doc.requesting_state else doc.requesting_state
    ours, theirs = _state_name(our_state, lang), _state_name(other, lang)
    issued = format_datetime(issued_at, format="long", locale=locale, tzinfo=issued_at.tzinfo)
    taken = format_date(step.at.date(), format="long", locale=locale)
    digest = request_sha256(document)
    body: Entry = [[_text(say("%(state)s took this step on %(date)s.", state=ours, date=taken))]]
    grounds = convention().grounds
    ground = step.params.get("ground")
    if ground in grounds:
        body.append(
            [
                _text(say("Ground") + ": "),
                _text(say(grounds[ground].text)),
                _text(" ("),
                _text(_article_ref(grounds[ground].article, say)["label"]),
                _text(")"),
            ]
        )
    third = step.params.get("third_state")
    if third:
        body.append([_text(say("Third State") + ": "), _style(_state_name(third, lang), "strong")])
    matter = step.params.get("matter")
    if matter:
        body.append([_text(say("Other matter") + ": "), _user(matter)])
    conditions = step.params.get("conditions")
    if conditions:
        body.append([_text(say("Conditions") + ": "), _user(conditions)])
    related = step.params.get("related")
    if related:
        body.append([_text(say("Related request") + ": "), _style(left_to_right(related), "mono")])
    reason = step.params.get("reason")
    if reason:
        label = say(REASON_LABELS.get(step.action, DETAILS))
        body.append([_text(f"{label}: "), _user(reason)])
    own = doc.references.own_reference if doc.references else None
    concerning: list[Line] = [[_text(say(convention().forms[doc.kind].title))]]
    if own:
        concerning.append(
            [
                _text(say("Reference of the requesting authority: %(reference)s", reference="")),
                _user(own),
            ]
        )
    references: Entry = [[_style(left_to_right(request_id), "mono")]]
    if peer_reference:
        references.append(
            [
                _text(say("Reference of %(state)s:", state=theirs) + " "),
                _style(left_to_right(peer_reference), "mono"),
            ]
        )
    attached = {
        "format": FORMAT,
        "request_id": request_id,
        "request_sha256": digest,
        "language": lang,
        "draft": False,
        "issued_at": issued_at.isoformat(),
        "issuer": issuer.node_id,
        "request": document,
        "letter": {"action": step.action, "article": step.article, "params": step.params},
    }
    return {
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "fonts": list(FONTS[lang]),
        "mono": MONO,
        "title": say(TITLES[step.action]),
        "date": [issued_at.year, issued_at.month, issued_at.day],
        "attachment": canonical(attached).decode(),
        "directory": directory_token,
        "header": {
            "from": ours,
            "arrow": "\u2190" if lang in RTL else "\u2192",
            "to": theirs,
            "id": request_id,
        },
        "footer": {
            "hash_label": say("Request document SHA-256:"),
            "hash": digest,
            "notes": []
            if say.reviewed
            else [say("Fixed text: unofficial translation, not yet reviewed.")],
            "page": say("Page"),
        },
        "draft": False,
        "draft_label": say("DRAFT"),
        "errors": {"heading": "", "items": []},
        "kicker": say("Letter"),
        "under": say("under the United Nations Convention against Cybercrime"),
        "urgency": "",
        "parties": [
            {"label": say("From"), "lines": [[_style(ours, "strong")], [_user(issuer.name)]]},
            {"label": say("To"), "lines": [[_style(theirs, "strong")]]},
            {"label": say("Reference"), "lines": references},
            {
                "label": say("Date"),
                "lines": [[_text(format_date(issued_at.date(), format="long", locale=locale))]],
            },
        ],
        "basis": {
            "heading": say("Concerning"),
            "intro": say("This letter concerns the following request:"),
            "items": [[line] for line in concerning],
        },
        "sections": [
            {
                "field": "letter",
                "heading": say(TITLES[step.action]),
                "article": _article_ref(step.article, say),
                "numbered": False,
                "entries": [body],
            }
        ],
        "clauses": {"heading": "", "items": []},
        "deadline": None,
        "contact": {"heading": say("Contact"), "lines": [[_user(issuer.name)]]},
        "signature": [
            [
                _text(
                    say("Issued on %(date)s by %(authority)s.", date=issued, authority=issuer.name)
                )
            ],
            [
                _text(
                    say(
                        "Electronically signed (PAdES) by node %(node)s of %(state)s; the "
                        "signature covers this whole document.",
                        node=left_to_right(issuer.node_id),
                        state=issuer.state,
                    )
                )
            ],
        ],
        "notice": say(
            "The articles cited are those of the United Nations Convention against Cybercrime "
            "(General Assembly resolution 79/243). A paragraph marked unconfirmed has not been "
            "checked against the authoritative text."
        ),
    }


def make(
    document: dict[str, Any],
    doc: RequestDocument,
    step: Step,
    *,
    at: datetime,
    request_id: str,
    signer: Signer,
    peer_reference: str | None,
) -> Made:
    """The letter of ``step``, in the request's language, signed by ``signer``."""
    if not told(step.action):
        raise ValueError(f"{step.action} is not told by letter")
    lang = language_for(doc, None)
    check_fonts(lang)
    issuer = Issuer(signer.node.id, signer.node.name, signer.node.state)
    data = content(
        doc,
        document,
        step,
        lang=lang,
        issued_at=at,
        issuer=issuer,
        request_id=request_id,
        our_state=signer.node.state,
        peer_reference=peer_reference,
        directory_token=signer.directory_token,
    )
    pdf = typeset_document(data, lang, at)
    signed = sign(pdf, key=signer.key, node=signer.node)
    return Made(signed, lang, data["footer"]["hash"])
