"""The guards the lifecycle table names, each enforcing a duty of the Convention.

A guard raises TransitionRefused with the article it enforces; it never
returns a bool (a forgotten check cannot pass silently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hanoinet.cases.approval import lapsed_approval, standing_approval
from hanoinet.cases.clocks import preservation_expiry
from hanoinet.cases.lifecycle import Event, RequestView, Transition
from hanoinet.convention import convention
from hanoinet.convention.catalog import mark_citations
from hanoinet.convention.model import Ground, article_of
from hanoinet.errors import TransitionRefused, UnknownParticipant
from hanoinet.law.context import default_context
from hanoinet.registry.participants import is_known_code, participant

Guard = Callable[[RequestView, Transition, dict[str, str], datetime], None]


def _refuse(message: str, article: str) -> TransitionRefused:
    """A refusal whose every article cited carries its mark when its number is unverified."""
    return TransitionRefused(mark_citations(message), article=article)


def no_error_findings(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    if request.error_findings:
        raise _refuse(
            f"the request has {request.error_findings} error finding(s); a request must be complete "
            f"before it leaves (art. {t.article}); run `hanoinet check` on it and correct them",
            t.article,
        )


def reason(request: RequestView, t: Transition, params: dict[str, str], at: datetime) -> None:
    if not params.get("reason", "").strip():
        what = {
            "refuse": "Reasons must be given for any refusal (art. 40(24))",
            "postpone": "A postponement needs its reason (art. 40(26))",
        }.get(t.action, f"'{t.action}' needs a reason in writing (art. {t.article})")
        raise _refuse(what, "40(24)" if t.action == "refuse" else t.article)


GROUND_KINDS = {
    "refusal_ground": ("refusal", "no_obligation"),
    "postponement_ground": ("postponement",),
}


def grounds_for(request_kind: str, kinds: tuple[str, ...]) -> list[Ground]:
    """The grounds of ``kinds`` a request of ``request_kind`` may invoke, by its form alone
    (``grounds_open`` adds what a ground requires of the request itself)."""
    form = convention().forms[request_kind]
    return [
        g
        for g in convention().grounds.values()
        if g.kind in kinds and (form.grounds in g.applies_to or form.key in g.applies_to)
    ]


def grounds_open(
    request_kind: str, kinds: tuple[str, ...], document: Mapping[str, Any], at: datetime
) -> list[Ground]:
    """The grounds of ``kinds`` open to this request on ``at``: those of its form whose
    ``requires`` hold (the requested State's reservation, the offences alleged), so that a
    form never offers a ground the guard would refuse."""
    return [g for g in grounds_for(request_kind, kinds) if _closed(g, document, at) is None]


def _convention_offences(document: Mapping[str, Any]) -> list[str]:
    """The articles of the offences the request alleges that the Convention establishes."""
    established = {o.article for o in convention().offences.values()}
    alleged = document.get("offences") or []
    found = [str(o.get("article") or "") for o in alleged if isinstance(o, Mapping)]
    return list(dict.fromkeys(a for a in found if a in established))


def _established_range() -> str:
    """The offences established in accordance with the Convention, as articles: ``7-17``."""
    numbers = sorted({article_of(o.article) for o in convention().offences.values()})
    return f"{numbers[0]}-{numbers[-1]}"


def _closed(ground: Ground, document: Mapping[str, Any], at: datetime) -> tuple[str, str] | None:
    """Why ``ground`` is not open to the request of ``document`` on ``at`` (the sentence and
    the article), or None when all it requires holds."""
    needs = ground.requires
    if needs.reservation:
        code = str(document.get("requested_state") or "")
        designation = default_context(at.date()).designations.get(code)
        if designation is None or designation.reservation(needs.reservation, at.date()) is None:
            who = _state_name(code) if code else "the requested State"
            return (
                f"{who} has made no reservation under art. {needs.reservation} on record; only "
                "a State that made that reservation may invoke this ground",
                needs.reservation,
            )
    if needs.offences == "not_convention":
        established = _convention_offences(document)
        if established:
            alleged = ", ".join(f"art. {a}" for a in established)
            dual = _dual_criminality_key(ground)
            return (
                f"the request alleges an offence established under the Convention ({alleged}), "
                f"and preservation for an offence established under the Convention "
                f"(art. {_established_range()}) cannot be refused for lack of dual criminality "
                f"(art. {dual})",
                dual,
            )
    return None


def _dual_criminality_key(ground: Ground) -> str:
    """The provision that waives dual criminality for the ground's form (cooperation.yaml's
    ``dual_criminality_article``: 42(3) for preservation), else the ground's own."""
    for form in convention().forms.values():
        if form.key in ground.applies_to and form.dual_criminality_article:
            return form.dual_criminality_article
    return ground.article


def _state_name(code: str) -> str:
    try:
        return participant(code).name()
    except UnknownParticipant:
        return code


def _ground(
    params: dict[str, str],
    request: RequestView,
    kinds: tuple[str, ...],
    action: str,
    at: datetime,
) -> None:
    key = params.get("ground", "")
    form = convention().forms[request.kind]
    grounds = convention().grounds
    allowed = grounds_for(request.kind, kinds)
    listing = (
        ", ".join(
            f"{g.id} ({g.article})" for g in grounds_open(request.kind, kinds, request.document, at)
        )
        or "none"
    )
    if not key:
        raise _refuse(f"'{action}' needs a ground, one of {listing}", "40(21)")
    ground = grounds.get(key)
    if ground is not None and ground.kind == "not_a_ground":
        raise _refuse(
            f"'{key}' is never a ground for {action} ({ground.text.lower()}, "
            f"art. {ground.article}); the grounds are: {listing}",
            ground.article,
        )
    if ground is None or ground not in allowed:
        raise _refuse(
            f"'{key}' is not a ground for {action} of {_a(form.title.lower())} request; "
            f"the grounds are: {listing}",
            "40(21)",
        )
    closed = _closed(ground, request.document, at)
    if closed is not None:
        why, article = closed
        raise _refuse(
            f"'{key}' is not open to this request: {why}; the grounds open to it are: {listing}",
            article,
        )


def _a(noun: str) -> str:
    """The noun with its indefinite article (the forms' titles: "an expedited ...")."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def refusal_ground(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    # What a partial execution leaves out is refused: the same grounds hold it (issue 27).
    what = "partial execution" if t.action == "execute_partially" else "refusal"
    _ground(params, request, GROUND_KINDS["refusal_ground"], what, at)


def postponement_ground(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    _ground(params, request, GROUND_KINDS["postponement_ground"], "postponement", at)


def consulted(request: RequestView, t: Transition, params: dict[str, str], at: datetime) -> None:
    if not any(e.action == "consult" for e in request.events):
        raise _refuse(
            "Before refusing, postponing or executing in part, consult the requesting State to "
            "see whether assistance can be given under conditions (art. 40(27)); record it with "
            "the action 'consult' first",
            "40(27)",
        )


DECIDED_STATES = frozenset({"executed", "partially_executed", "refused", "withdrawn", "closed"})
"""A request in one of these states is decided: a held preservation waiting for it may be
released (42), and conditions are no longer proposed for it (40(27))."""
FOLLOW_UP_DECIDED = DECIDED_STATES

CONDITIONS_MAX = 2000
"""The longest statement of conditions (40(27)) a consultation carries."""


def proposed_conditions(events: Sequence[Event]) -> str | None:
    """The conditions the requested State's last consultation proposed (40(27)), while the
    requesting State has neither accepted them nor answered with others; None when none wait.
    One rule for the guard, the desk and the page."""
    waiting: str | None = None
    last: str | None = None
    for e in events:
        if e.action == "consult":
            waiting = last = e.params.get("conditions", "").strip() or None
        elif e.action in ("accept_conditions", "propose_conditions"):
            waiting = None
        elif _rejected(e, ("accept_conditions", "propose_conditions")):
            waiting = last  # the other State's node did not take the answer
    return waiting


def _rejected(event: Event, actions: tuple[str, ...]) -> bool:
    """A receipt refusing this node's message of one of ``actions`` (services/federation)."""
    return event.action == "message_rejected" and event.params.get("action") in actions


def agreed_conditions(events: Sequence[Event]) -> list[str]:
    """The conditions the requesting State accepted (40(27): they bind it), oldest first;
    an acceptance the other State's node refused to apply is not an agreement."""
    agreed: list[str] = []
    for e in events:
        if e.action == "accept_conditions" and e.params.get("conditions"):
            agreed.append(e.params["conditions"])
        elif _rejected(e, ("accept_conditions",)) and agreed:
            agreed.pop()
    return agreed


def conditions_bounded(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """Conditions, where given, fit a statement of at most CONDITIONS_MAX characters, and
    are proposed while the request is still to be decided."""
    text = params.get("conditions", "").strip()
    if text and request.state in DECIDED_STATES:
        raise _refuse(
            "Conditions are proposed before the request is decided, to see whether assistance "
            f"can be given under them (art. {t.article}); the request is "
            f"{request.state.replace('_', ' ')}",
            t.article,
        )
    if len(text) > CONDITIONS_MAX:
        raise _refuse(
            f"The conditions are stated in {len(text)} characters; at most {CONDITIONS_MAX} "
            f"(art. {t.article})",
            t.article,
        )


def conditions_given(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``propose_conditions``: the conditions proposed, in writing (40(27))."""
    if not params.get("conditions", "").strip():
        raise _refuse(
            "State the conditions the requesting State proposes instead (art. 40(27))", "40(27)"
        )


def consultation_open(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``propose_conditions``: an answer to a consultation of the requested State (40(27))."""
    if not any(e.action == "consult" for e in request.events):
        raise _refuse(
            "The requested State has not consulted on this request; conditions are proposed "
            "in answer to its consultation (art. 40(27))",
            "40(27)",
        )


def conditions_proposed(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``accept_conditions``: the requested State's last proposed conditions, not yet
    accepted, and the conditions accepted are those (40(27): accepted conditions bind)."""
    proposed = proposed_conditions(request.events)
    if proposed is None:
        raise _refuse(
            "No conditions proposed by the requested State await an answer (art. 40(27)); "
            "they are proposed in its consultation",
            "40(27)",
        )
    accepted = params.get("conditions") or proposed  # as proposed, unless said otherwise
    if not same_matter(accepted, proposed):
        raise _refuse(
            "The conditions accepted are not those the requested State proposed in its last "
            "consultation (art. 40(27)); accept those, or propose others",
            "40(27)",
        )


def enquiry_received(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``answer_status_enquiry``: the requesting State asked (40(25)), and that enquiry is not
    answered yet; the latest enquiry counts."""
    asked = [i for i, e in enumerate(request.events) if e.action == "status_enquiry"]
    answered = [i for i, e in enumerate(request.events) if e.action == "answer_status_enquiry"]
    if not asked or (answered and answered[-1] > asked[-1]):
        raise _refuse(
            "No status enquiry of the requesting State awaits an answer (art. 40(25)); "
            "answer one once it is received",
            "40(25)",
        )


def marked_confidential(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    if not request.document.get("confidential"):
        raise _refuse(
            "The request was not marked confidential, so there is nothing to notify (art. 40(20))",
            "40(20)",
        )


def oral_unconfirmed(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    if not request.document.get("oral"):
        raise _refuse(
            "The request was made in writing; only an oral request is confirmed in writing (art. 40(14))",
            "40(14)",
        )
    if any(e.action == "confirm_in_writing" for e in request.events):
        raise _refuse("The oral request is already confirmed in writing (art. 40(14))", "40(14)")


MATTER_MAX = 500
"""The longest description of the matter a consent covers (a title and a reference)."""


def same_matter(a: str, b: str) -> bool:
    """Whether two descriptions name the same matter (case and spacing aside)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def consented_matters(request: RequestView) -> list[str]:
    """The matters the requested State consented to (40(19)), oldest first."""
    return [
        e.params["matter"]
        for e in request.events
        if e.action == "give_consent" and e.params.get("matter")
    ]


def consent_given(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """A consent of the requested State on record; with a ``matter``, one for that matter."""
    if not any(e.action == "give_consent" for e in request.events):
        raise _refuse(
            "Information or evidence may be used for other proceedings only with the requested "
            "State's prior consent (art. 40(19)); ask for its consent first",
            "40(19)",
        )
    matter = params.get("matter", "").strip()
    if matter and not any(same_matter(matter, m) for m in consented_matters(request)):
        given = "; ".join(consented_matters(request)) or "none named"
        raise _refuse(
            f"The requested State consented to use in other matters ({given}), not in "
            f"{matter!r} (art. 40(19)); ask for its consent to this one",
            "40(19)",
        )


def consent_matter(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``give_consent`` and ``use_for_other_matter`` name the other matter (40(19))."""
    matter = params.get("matter", "").strip()
    if not matter:
        raise _refuse(
            "Name the other matter (the proceedings) the consent covers (art. 40(19))",
            "40(19)",
        )
    if len(matter) > MATTER_MAX:
        raise _refuse(
            f"The matter is described in {len(matter)} characters; at most {MATTER_MAX} "
            "(art. 40(19))",
            "40(19)",
        )


def related_request(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    if not params.get("related", "").strip():
        raise _refuse(
            "Name the mutual legal assistance request that follows the preservation (art. 42)",
            "42",
        )


def follow_up_decided(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``release``: the data is held until the follow-up request is decided (42); the
    requesting State may withdraw the preservation before then."""
    follow_up = request.follow_up
    if follow_up is None or follow_up.id is None:
        named = "the follow-up request" if follow_up is None else follow_up.named
        raise _refuse(
            f"The data is held for {named}, which is not on this node, until it is decided "
            "(art. 42); release it once that request is here and executed, refused or "
            "withdrawn, or when the requesting State withdraws the preservation",
            "42",
        )
    if follow_up.state not in FOLLOW_UP_DECIDED:
        state = (follow_up.state or "").replace("_", " ")
        raise _refuse(
            f"The data is held for {follow_up.named} until it is decided (art. 42); that "
            f"request is {state}. Release it once the request is executed, refused or "
            "withdrawn, or when the requesting State withdraws the preservation",
            "42",
        )


def third_state(request: RequestView, t: Transition, params: dict[str, str], at: datetime) -> None:
    code = params.get("third_state", "")
    if not is_known_code(code):
        raise _refuse(
            "Name the third State where the service provider is, as an ISO code (art. 43)",
            "43",
        )


def preservation_expired(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    expiry = preservation_expiry(request.events)
    if expiry is None or at < expiry:
        raise _refuse(f"The preservation has not expired (it runs until {expiry}) (art. 42)", "42")


NODE_POLICY = (
    "This is the node's own control, not a duty of the Convention (art. {article} makes the "
    "central authority responsible for transmitting requests)"
)


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def approved_if_required(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``send``: when the node's policy asks it, a supervisor's approval of the text as it is."""
    approval = request.approval
    if not approval.required or standing_approval(request.events) is not None:
        return
    policy = NODE_POLICY.format(article=t.article)
    lapsed = lapsed_approval(request.events)
    if lapsed is not None:
        given, after = lapsed
        what = "edited" if after.action == "edit" else "checked again"
        raise _refuse(
            f"The approval {given.actor} gave at {_when(given.at)} no longer counts: the request "
            f"was {what} at {_when(after.at)}, and the {after.action} invalidated the approval; "
            f"{approval.describe} asks a supervisor to approve the text that is sent. {policy}. "
            "Ask a supervisor to approve it again",
            t.article,
        )
    raise _refuse(
        f"The request awaits a supervisor's approval: {approval.describe} asks for it before "
        f"the request is sent. {policy}. Ask a supervisor to approve it, then send it",
        t.article,
    )


def awaiting_approval(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``approve``: only a request the node's policy asks approval for, and not approved yet."""
    approval = request.approval
    if not approval.required:
        raise _refuse(
            f"This request needs no approval: {approval.describe} does not ask a supervisor's "
            "approval for it, and it may be sent as it is (approval is node policy, not a duty "
            f"of the Convention, art. {t.article})",
            t.article,
        )
    given = standing_approval(request.events)
    if given is not None:
        raise _refuse(
            f"The request is already approved, by {given.actor} at {_when(given.at)}; it may "
            f"be sent (art. {t.article})",
            t.article,
        )


def not_the_opener(
    request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    """``approve``: four eyes; whoever opened the case does not approve its requests."""
    approval = request.approval
    if approval.asked_by is not None and approval.asked_by == approval.opened_by:
        raise _refuse(
            f"{approval.asked_by} opened this case and may not also approve its request (four "
            f"eyes, node policy, art. {t.article}); ask another supervisor to approve it",
            t.article,
        )


GUARDS: dict[str, Guard] = {
    "no_error_findings": no_error_findings,
    "reason": reason,
    "refusal_ground": refusal_ground,
    "postponement_ground": postponement_ground,
    "consulted": consulted,
    "conditions_bounded": conditions_bounded,
    "conditions_given": conditions_given,
    "consultation_open": consultation_open,
    "conditions_proposed": conditions_proposed,
    "enquiry_received": enquiry_received,
    "marked_confidential": marked_confidential,
    "oral_unconfirmed": oral_unconfirmed,
    "consent_given": consent_given,
    "consent_matter": consent_matter,
    "related_request": related_request,
    "follow_up_decided": follow_up_decided,
    "third_state": third_state,
    "preservation_expired": preservation_expired,
    "approved_if_required": approved_if_required,
    "awaiting_approval": awaiting_approval,
    "not_the_opener": not_the_opener,
}


def check_guard(
    name: str, request: RequestView, t: Transition, params: dict[str, str], at: datetime
) -> None:
    try:
        GUARDS[name](request, t, params, at)
    except TransitionRefused as exc:
        exc.guard = exc.guard or name
        raise
