"""One test (or more) per guard of the lifecycle: each fails if its guard is removed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hanoinet.cases.approval import Approval
from hanoinet.cases.guards import GUARDS
from hanoinet.cases.lifecycle import Decision, Event, FollowUp, RequestView, decide, lifecycle
from hanoinet.convention.catalog import mark_citations
from hanoinet.errors import TransitionRefused

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
REASON = {"reason": "Written reasons."}


def ev(action: str, at: datetime = T0) -> Event:
    return Event(action, at, "alice", "requested", "40(25)", "received", "received", {})


def view(
    state: str,
    *,
    kind: str = "stored_data",
    direction: str = "incoming",
    document: dict[str, Any] | None = None,
    events: tuple[Event, ...] = (),
    error_findings: int = 0,
    approval: Approval | None = None,
) -> RequestView:
    first = ev("receive", T0 - timedelta(days=100))
    return RequestView(
        kind,
        direction,  # type: ignore[arg-type]
        state,
        document or {},
        (first, *events),
        error_findings,
        approval or Approval(),
    )


def run(request: RequestView, action: str, at: datetime = T0, **params: str) -> Decision:
    return decide(request, action, at=at, actor="alice", params=params)


def refused(
    request: RequestView, action: str, at: datetime = T0, **params: str
) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as info:
        run(request, action, at, **params)
    return info.value


TESTED = {
    "no_error_findings",
    "reason",
    "refusal_ground",
    "postponement_ground",
    "consulted",
    "conditions_bounded",
    "conditions_given",
    "consultation_open",
    "conditions_proposed",
    "marked_confidential",
    "enquiry_received",
    "oral_unconfirmed",
    "consent_given",
    "consent_matter",
    "related_request",
    "follow_up_decided",
    "third_state",
    "preservation_expired",
    "approved_if_required",
    "awaiting_approval",
    "not_the_opener",
}


def test_every_guard_is_tested_and_used_by_the_table() -> None:
    assert set(GUARDS) == TESTED
    used = {g for t in lifecycle().transitions for g in t.guards}
    assert used == set(GUARDS)


# --- no_error_findings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "state", "article"), [("check", "draft", "40(15)"), ("send", "checked", "40(13)")]
)
def test_no_error_findings(action: str, state: str, article: str) -> None:
    bad = view(state, direction="outgoing", error_findings=2)
    exc = refused(bad, action)
    assert exc.article == article
    assert "2 error finding(s)" in exc.message
    assert "`hanoinet check`" in exc.message
    assert mark_citations(f"(art. {article})") in exc.message
    good = view(state, direction="outgoing")
    assert run(good, action).state in ("checked", "sent")


# --- reason ------------------------------------------------------------------------------


def test_refuse_without_reason_cites_40_24() -> None:
    request = view("acknowledged", events=(ev("consult"),))
    for blank in ("", "   "):
        exc = refused(request, "refuse", ground="essential_interests", reason=blank)
        assert exc.article == "40(24)"
        assert mark_citations("Reasons must be given for any refusal (art. 40(24))") in exc.message
        assert "--" not in exc.message and exc.guard == "reason"  # flags are the CLI's to add
    assert run(request, "refuse", ground="essential_interests", **REASON).state == "refused"


@pytest.mark.parametrize(
    ("action", "state", "article", "extra"),
    [
        ("postpone", "in_execution", "40(26)", {"ground": "ongoing_proceedings"}),
        ("request_more_info", "received", "40(16)", {}),
        ("consult", "received", "40(27)", {}),
        ("execute_partially", "in_execution", "40(25)", {"ground": "essential_interests"}),
        ("give_consent", "executed", "40(19)", {"matter": "Case 9/2027"}),
        ("answer_status_enquiry", "received", "40(25)", {}),
    ],
)
def test_reason_needed(action: str, state: str, article: str, extra: dict[str, str]) -> None:
    request = view(state, events=(ev("consult"), ev("status_enquiry")))
    exc = refused(request, action, **extra)
    assert exc.article == article
    assert "--" not in exc.message and exc.guard == "reason"
    run(request, action, **extra, **REASON)


def test_reason_needed_from_the_requesting_state_too() -> None:
    request = view("more_info_requested", direction="outgoing")
    assert refused(request, "provide_more_info").article == "40(16)"
    assert run(request, "provide_more_info", **REASON).state == "acknowledged"


# --- refusal_ground ----------------------------------------------------------------------


def test_refusal_without_ground_lists_the_grounds_of_the_form() -> None:
    request = view("acknowledged", events=(ev("consult"),))
    exc = refused(request, "refuse", **REASON)
    assert exc.article == "40(21)"
    listing = exc.message.split("one of ", 1)[1]
    assert listing == (
        "not_conforming (40(21)(a)), essential_interests (40(21)(b)), domestic_bar (40(21)(c)), "
        "mla_legal_system (40(21)(d)), no_dual_criminality (40(9)), discrimination (40(22))"
    )
    preservation = view("acknowledged", kind="preservation", events=(ev("consult"),))
    listing = refused(preservation, "refuse", **REASON).message.split("one of ", 1)[1]
    assert listing == "preservation_essential_interests (42)"  # no reservation under 42(4)
    reserved = view(
        "acknowledged", kind="preservation", document=NATIONAL_XB, events=(ev("consult"),)
    )
    listing = refused(reserved, "refuse", **REASON).message.split("one of ", 1)[1]
    assert listing == (
        "preservation_dual_criminality_reservation (42(4)), preservation_essential_interests (42)"
    )


@pytest.mark.parametrize(
    ("ground", "article"), [("fiscal_matters", "40(23)"), ("bank_secrecy", "40(8)")]
)
@pytest.mark.parametrize("kind", ["stored_data", "preservation"])
def test_never_a_ground(ground: str, article: str, kind: str) -> None:
    request = view("acknowledged", kind=kind, events=(ev("consult"),))
    exc = refused(request, "refuse", ground=ground, **REASON)
    assert exc.article == article
    assert f"'{ground}' is never a ground for refusal" in exc.message
    assert mark_citations(f"art. {article}") in exc.message


@pytest.mark.parametrize(
    "ground",
    [
        "preservation_essential_interests",  # preservation only (42)
        "preservation_dual_criminality_reservation",  # preservation only (42(4))
        "extradition_fiscal",  # extradition, and never a ground
        "ongoing_proceedings",  # postpones, does not refuse
        "reasons_for_refusal",  # a procedure
        "whim",  # not in grounds.yaml
    ],
)
def test_not_a_refusal_ground_of_stored_data(ground: str) -> None:
    request = view("acknowledged", events=(ev("consult"),))
    exc = refused(request, "refuse", ground=ground, **REASON)
    assert ground in exc.message
    assert "essential_interests (40(21)(b))" in exc.message
    if ground != "extradition_fiscal":
        assert exc.article == "40(21)"
        assert "is not a ground for refusal of a mutual legal assistance" in exc.message.lower()


def test_mla_grounds_do_not_refuse_preservation() -> None:
    request = view("acknowledged", kind="preservation", events=(ev("consult"),))
    exc = refused(request, "refuse", ground="essential_interests", **REASON)
    assert exc.article == "40(21)"
    assert "preservation_essential_interests (42)" in exc.message


@pytest.mark.parametrize("ground", ["essential_interests", "discrimination", "no_dual_criminality"])
def test_refusal_ground_accepted_after_consult(ground: str) -> None:
    request = view("acknowledged", events=(ev("consult"),))
    decision = run(request, "refuse", ground=ground, **REASON)
    assert decision.state == "refused"
    assert decision.event.params["ground"] == ground


# 42(4): Borealis (XB) made the reservation in the demo designations (illustrative); Aurelia
# (XA) did not. A national offence names no Convention article; art. 7 is one (offences.yaml).
RESERVED = "preservation_dual_criminality_reservation"
NATIONAL_XB = {
    "requesting_state": "XA",
    "requested_state": "XB",
    "offences": [{"name": "Unauthorised use of a computer (national)"}],
}
CONVENTION_XB = {**NATIONAL_XB, "offences": [{"article": "7", "conduct": ["access"]}]}


@pytest.mark.parametrize("action", ["refuse", "execute_partially"])
def test_42_4_reservation_ground_accepted_with_reservation_and_national_offence(
    action: str,
) -> None:
    request = view(
        "in_execution", kind="preservation", document=NATIONAL_XB, events=(ev("consult"),)
    )
    decision = run(request, action, ground=RESERVED, **REASON)
    assert decision.event.params["ground"] == RESERVED


@pytest.mark.parametrize("requested", ["XA", "XC", "FR", ""])
def test_42_4_reservation_ground_needs_the_reservation(requested: str) -> None:
    document = {**NATIONAL_XB, "requested_state": requested}
    request = view("acknowledged", kind="preservation", document=document, events=(ev("consult"),))
    exc = refused(request, "refuse", ground=RESERVED, **REASON)
    assert exc.article == "42(4)" and exc.guard == "refusal_ground"
    who = {"XA": "Aurelia (demo State)", "XC": "Caldera (demo State)", "FR": "France"}
    name = who.get(requested, "the requested State")
    said = mark_citations(f"{name} has made no reservation under art. 42(4) on record")
    assert said in exc.message
    assert exc.message.endswith("the grounds open to it are: preservation_essential_interests (42)")
    assert "--" not in exc.message


def test_42_4_reservation_ground_not_for_a_convention_offence() -> None:
    request = view(
        "acknowledged", kind="preservation", document=CONVENTION_XB, events=(ev("consult"),)
    )
    exc = refused(request, "refuse", ground=RESERVED, **REASON)
    assert exc.article == "42(3)" and exc.guard == "refusal_ground"
    assert "alleges an offence established under the Convention (art. 7)" in exc.message
    said = mark_citations(
        "preservation for an offence established under the Convention (art. 7-17) cannot be "
        "refused for lack of dual criminality (art. 42(3))"
    )
    assert said in exc.message
    # One Convention offence among national ones is enough: the ground does not reach it.
    mixed = {**NATIONAL_XB, "offences": [*NATIONAL_XB["offences"], {"article": "17"}]}
    request = view("acknowledged", kind="preservation", document=mixed, events=(ev("consult"),))
    assert refused(request, "refuse", ground=RESERVED, **REASON).article == "42(3)"


def test_42_4_reservation_counts_from_its_date() -> None:
    """The demo reservation of Borealis is dated 2026-11-02: before, it is not on record."""
    request = view(
        "acknowledged", kind="preservation", document=NATIONAL_XB, events=(ev("consult"),)
    )
    before = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert refused(request, "refuse", before, ground=RESERVED, **REASON).article == "42(4)"
    assert run(request, "refuse", T0, ground=RESERVED, **REASON).state == "refused"


def test_42_4_grounds_open_are_what_the_guard_accepts() -> None:
    """What a form offers (grounds_open) is exactly what the guard accepts, request by request."""
    from hanoinet.cases.guards import GROUND_KINDS, grounds_for, grounds_open

    kinds = GROUND_KINDS["refusal_ground"]
    for document in (NATIONAL_XB, CONVENTION_XB, {**NATIONAL_XB, "requested_state": "XA"}, {}):
        request = view(
            "acknowledged", kind="preservation", document=document, events=(ev("consult"),)
        )
        offered = {g.id for g in grounds_open("preservation", kinds, document, T0)}
        for ground in grounds_for("preservation", kinds):
            try:
                run(request, "refuse", ground=ground.id, **REASON)
                accepted = True
            except TransitionRefused:
                accepted = False
            assert accepted == (ground.id in offered), (ground.id, document)
    assert [g.id for g in grounds_open("preservation", kinds, NATIONAL_XB, T0)] == [
        RESERVED,
        "preservation_essential_interests",
    ]


# --- postponement_ground -----------------------------------------------------------------


def test_postponement_ground() -> None:
    request = view("in_execution", events=(ev("consult"),))
    assert run(request, "postpone", ground="ongoing_proceedings", **REASON).state == "postponed"
    exc = refused(request, "postpone", ground="essential_interests", **REASON)
    assert exc.article == "40(21)"
    assert "'essential_interests' is not a ground for postponement" in exc.message
    assert exc.message.endswith("the grounds are: ongoing_proceedings (40(26))")
    missing = refused(request, "postpone", **REASON)
    assert "needs a ground, one of ongoing_proceedings (40(26))" in missing.message


def test_preservation_cannot_be_postponed() -> None:
    request = view("in_execution", kind="preservation", events=(ev("consult"),))
    exc = refused(request, "postpone", ground="ongoing_proceedings", **REASON)
    assert "the grounds are: none" in exc.message


# --- consulted ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "state", "ground"),
    [
        ("refuse", "acknowledged", "essential_interests"),
        ("postpone", "in_execution", "ongoing_proceedings"),
    ],
)
def test_consult_before_refusing_or_postponing(action: str, state: str, ground: str) -> None:
    request = view(state)
    exc = refused(request, action, ground=ground, **REASON)
    assert exc.article == "40(27)"
    assert mark_citations("(art. 40(27))") in exc.message and "'consult'" in exc.message
    consult = run(request, "consult", **REASON)
    assert consult.state == state
    after = view(state, events=(consult.event,))
    run(after, action, ground=ground, **REASON)


def test_other_events_are_not_a_consultation() -> None:
    request = view("acknowledged", events=(ev("answer_status_enquiry"), ev("request_more_info")))
    assert refused(request, "refuse", ground="essential_interests", **REASON).article == "40(27)"


# --- enquiry_received ------------------------------------------------------------------


def test_a_status_enquiry_is_answered_only_once_received() -> None:
    """40(25): the requested State answers the requesting State's reasonable requests for
    information on the status; with none received (or the last one answered) there is nothing
    to answer, and the refusal names the guard the page places at the form."""
    never = refused(view("acknowledged"), "answer_status_enquiry", **REASON)
    assert never.article == "40(25)" and never.guard == "enquiry_received"
    asked = view("acknowledged", events=(ev("status_enquiry"),))
    answer = run(asked, "answer_status_enquiry", **REASON)
    assert answer.state == "acknowledged"
    answered = view("acknowledged", events=(ev("status_enquiry"), answer.event))
    assert refused(answered, "answer_status_enquiry", **REASON).guard == "enquiry_received"
    asked_again = view("acknowledged", events=(*answered.events, ev("status_enquiry")))
    run(asked_again, "answer_status_enquiry", **REASON)


def test_a_refusal_names_the_guard_that_refused() -> None:
    request = view("acknowledged", events=(ev("consult"),))
    assert refused(request, "refuse", **REASON).guard == "refusal_ground"
    assert refused(request, "refuse", ground="essential_interests").guard == "reason"
    assert refused(view("acknowledged"), "execute").guard is None  # not a guard: the state


# --- marked_confidential -----------------------------------------------------------------


def test_marked_confidential() -> None:
    exc = refused(view("acknowledged"), "notify_cannot_keep_confidential", **REASON)
    assert exc.article == "40(20)"
    assert mark_citations("(art. 40(20))") in exc.message
    marked = view("acknowledged", document={"confidential": True})
    assert run(marked, "notify_cannot_keep_confidential", **REASON).state == "acknowledged"
    unmarked = view("acknowledged", document={"confidential": False})
    assert refused(unmarked, "notify_cannot_keep_confidential", **REASON).article == "40(20)"


# --- oral_unconfirmed --------------------------------------------------------------------


def test_oral_unconfirmed() -> None:
    written = view("sent", direction="outgoing")
    exc = refused(written, "confirm_in_writing")
    assert exc.article == "40(14)"
    assert "made in writing" in exc.message
    oral = view("sent", direction="outgoing", document={"oral": True})
    first = run(oral, "confirm_in_writing")
    assert first.state == "sent"
    confirmed = view("sent", direction="outgoing", document={"oral": True}, events=(first.event,))
    again = refused(confirmed, "confirm_in_writing")
    assert again.article == "40(14)"
    assert "already confirmed" in again.message


# --- consent_given -----------------------------------------------------------------------


MATTER = {"matter": "Case 9/2027 (fraud)"}


def test_consent_given() -> None:
    request = view("executed", direction="outgoing")
    exc = refused(request, "use_for_other_matter", **REASON, **MATTER)
    assert exc.article == "40(19)"
    assert mark_citations("(art. 40(19))") in exc.message and "ask for its consent" in exc.message
    consent = decide(
        request, "give_consent", at=T0, actor="alice", params=REASON | MATTER, from_peer=True
    )
    consented = view("executed", direction="outgoing", events=(consent.event,))
    assert run(consented, "use_for_other_matter", **REASON, **MATTER).state == "executed"
    assert run(consented, "use_for_other_matter", **REASON, matter=" case 9/2027  (FRAUD) ")
    other = refused(consented, "use_for_other_matter", **REASON, matter="Case 1/2028")
    assert other.article == "40(19)"
    assert "consented to use in other matters (Case 9/2027 (fraud)), not in 'Case 1/2028'" in (
        other.message
    )


def test_consent_matter() -> None:
    """A consent and a use for another matter both name the matter (40(19))."""
    request = view("executed")
    missing = refused(request, "give_consent", **REASON)
    assert missing.article == "40(19)" and "Name the other matter" in missing.message
    long = refused(request, "give_consent", **REASON, matter="x" * 501)
    assert "at most 500" in long.message
    assert run(request, "give_consent", **REASON, **MATTER).state == "executed"


# --- related_request ---------------------------------------------------------------------


def test_related_request() -> None:
    request = view("preserved", kind="preservation", direction="outgoing")
    for blank in ({}, {"related": ""}, {"related": "  "}):
        exc = refused(request, "link_mla", **blank)
        assert exc.article == "42"
        assert exc.guard == "related_request" and "(art. 42)" in exc.message
    decision = run(request, "link_mla", related="R-000009")
    assert decision.state == "held"
    assert decision.event.params == {"related": "R-000009"}


# --- follow_up_decided (42) --------------------------------------------------------------


@pytest.mark.parametrize("state", ["received", "acknowledged", "in_execution", "postponed"])
def test_42_release_waits_for_the_follow_up_decision(state: str) -> None:
    held = replace(
        view("held", kind="preservation"), follow_up=FollowUp("R-000009", "R-000003", state)
    )
    exc = refused(held, "release", **REASON)
    assert exc.guard == "follow_up_decided" and exc.article == "42"
    assert "request R-000009 (their reference R-000003) until it is decided" in exc.message
    assert state.replace("_", " ") in exc.message


@pytest.mark.parametrize("state", ["executed", "partially_executed", "refused", "withdrawn"])
def test_42_release_once_the_follow_up_is_decided(state: str) -> None:
    held = replace(view("held", kind="preservation"), follow_up=FollowUp("R-000009", None, state))
    assert run(held, "release", **REASON).state == "executed"


def test_42_release_refused_when_the_follow_up_is_not_here() -> None:
    unknown = replace(view("held", kind="preservation"), follow_up=FollowUp(None, "R-7", None))
    exc = refused(unknown, "release", **REASON)
    assert "the other State's request R-7, which is not on this node" in exc.message
    never = view("held", kind="preservation")
    assert "not on this node" in refused(never, "release", **REASON).message


# --- third_state -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["", "xc", "QQ", "XCC", "X", "ÉÉ"])
def test_third_state_refused(code: str) -> None:
    request = view("in_execution", kind="preservation")
    exc = refused(request, "disclose_partial_traffic", third_state=code)
    assert exc.article == "43"
    assert exc.guard == "third_state" and "(art. 43)" in exc.message


@pytest.mark.parametrize("code", ["XC", "FR", "VN"])
def test_third_state_accepted(code: str) -> None:
    request = view("in_execution", kind="preservation")
    decision = run(request, "disclose_partial_traffic", third_state=code)
    assert decision.state == "in_execution"
    assert decision.event.params == {"third_state": code}


# --- preservation_expired ----------------------------------------------------------------


def lapse(request: RequestView, at: datetime) -> Decision:
    return decide(request, "lapse", at=at, actor="clock", system=True)


def test_preservation_expired() -> None:
    preserved = view("preserved", kind="preservation", events=(ev("record_preserved", T0),))
    for early in (T0, T0 + timedelta(days=30), T0 + timedelta(days=60) - timedelta(seconds=1)):
        with pytest.raises(TransitionRefused) as info:
            lapse(preserved, early)
        assert info.value.article == "42"
        assert "has not expired" in info.value.message
        assert "2027-01-23 03:00:00+00:00" in info.value.message
    assert lapse(preserved, T0 + timedelta(days=60)).state == "lapsed"
    assert lapse(preserved, T0 + timedelta(days=75)).state == "lapsed"


def test_extension_postpones_the_lapse() -> None:
    extended = view(
        "preserved",
        kind="preservation",
        events=(ev("record_preserved", T0), ev("extend_preservation", T0 + timedelta(days=50))),
    )
    with pytest.raises(TransitionRefused, match="has not expired"):
        lapse(extended, T0 + timedelta(days=61))
    assert lapse(extended, T0 + timedelta(days=110)).state == "lapsed"


def test_no_lapse_without_a_preservation_on_record() -> None:
    # a request in 'preserved' with no record_preserved event has no expiry to pass
    request = view("preserved", kind="preservation")
    with pytest.raises(TransitionRefused, match="has not expired") as info:
        lapse(request, T0 + timedelta(days=1000))
    assert info.value.article == "42"


# --- approved_if_required, awaiting_approval, not_the_opener (node policy) ------------------

RITA_OPENED = Approval("requester", "rita", True, "sam")
"""A case an investigator opened, under the default policy; the supervisor sam asks."""


def step(action: str, at: datetime, actor: str = "rita") -> Event:
    return Event(action, at, actor, "requesting", "40(15)", "draft", "checked", {})


def outgoing_checked(*events: Event, approval: Approval = RITA_OPENED) -> RequestView:
    return view("checked", direction="outgoing", events=events, approval=approval)


def test_send_without_approval_is_refused_citing_40_13_and_saying_what_to_do() -> None:
    request = outgoing_checked(step("check", T0))
    exc = refused(request, "send")
    assert exc.article == "40(13)"
    assert "awaits a supervisor's approval" in exc.message
    assert "HANOINET_APPROVAL=requester" in exc.message
    assert "not a duty of the Convention" in exc.message
    assert mark_citations("art. 40(13)") in exc.message
    assert exc.message.endswith("Ask a supervisor to approve it, then send it")


def test_approve_then_send() -> None:
    checked = outgoing_checked(step("check", T0))
    decision = decide(checked, "approve", at=T0 + timedelta(minutes=5), actor="sam")
    assert decision.state == "checked"  # to: same
    assert (decision.event.action, decision.event.article) == ("approve", "40(13)")
    approved = outgoing_checked(step("check", T0), decision.event)
    assert run(approved, "send", T0 + timedelta(minutes=6)).state == "sent"


@pytest.mark.parametrize(("after", "what"), [("edit", "edited"), ("check", "checked again")])
def test_an_edit_or_a_new_check_after_the_approval_asks_for_a_new_one(
    after: str, what: str
) -> None:
    approval = step("approve", T0 + timedelta(minutes=5), actor="sam")
    later = step(after, T0 + timedelta(minutes=10))
    again = step("check", T0 + timedelta(minutes=11))
    request = outgoing_checked(step("check", T0), approval, later, again)
    exc = refused(request, "send")
    assert exc.article == "40(13)"
    assert "The approval sam gave at 2026-11-24 03:05 UTC no longer counts" in exc.message
    assert f"was {what} at 2026-11-24 03:10 UTC" in exc.message
    assert f"the {after} invalidated the approval" in exc.message
    assert exc.message.endswith("Ask a supervisor to approve it again")
    # approving the text as it is now lets it go
    renewed = step("approve", T0 + timedelta(minutes=12), actor="sam")
    assert run(replace(request, events=(*request.events, renewed)), "send").state == "sent"


def test_the_opener_may_not_approve() -> None:
    own = outgoing_checked(step("check", T0), approval=Approval("all", "sam", False, "sam"))
    exc = refused(own, "approve")
    assert exc.article == "40(13)"
    assert "sam opened this case and may not also approve its request (four eyes" in exc.message
    assert "ask another supervisor" in exc.message
    other = outgoing_checked(step("check", T0), approval=Approval("all", "sam", False, "sue"))
    assert run(other, "approve").event.action == "approve"


@pytest.mark.parametrize(
    "approval",
    [
        Approval("none", "rita", True, "sam"),  # no approval step on this node
        Approval("requester", "carl", False, "sam"),  # an officer's case
        Approval("requester", "cli-user", False, "sam"),  # opened by no node user
    ],
)
def test_no_approval_needed_sends_as_before_and_approve_is_refused(approval: Approval) -> None:
    request = outgoing_checked(step("check", T0), approval=approval)
    assert run(request, "send").state == "sent"
    exc = refused(request, "approve")
    assert exc.article == "40(13)"
    assert "This request needs no approval" in exc.message
    assert f"HANOINET_APPROVAL={approval.policy}" in exc.message
    assert "it may be sent as it is" in exc.message


def test_the_all_policy_asks_approval_of_every_outgoing_request() -> None:
    officer = outgoing_checked(step("check", T0), approval=Approval("all", "carl", False, "sam"))
    assert "awaits a supervisor's approval" in refused(officer, "send").message
    assert "HANOINET_APPROVAL=all: every outgoing request" in refused(officer, "send").message


def test_an_approved_request_is_not_approved_twice() -> None:
    approved = outgoing_checked(step("check", T0), step("approve", T0, actor="sam"))
    exc = refused(approved, "approve")
    assert "already approved, by sam at 2026-11-24 03:00 UTC; it may be sent" in exc.message


def test_a_request_with_errors_is_not_approved() -> None:
    bad = view(
        "checked",
        direction="outgoing",
        events=(step("check", T0),),
        error_findings=1,
        approval=RITA_OPENED,
    )
    exc = refused(bad, "approve")
    assert "1 error finding(s)" in exc.message and exc.article == "40(13)"


def test_a_partial_execution_needs_a_ground_and_a_prior_consultation() -> None:
    """Issue 27 item 6: what a partial execution leaves out is refused, so it needs a ground
    of refusal (40(21)) and a consultation first (40(27)), as a refusal does."""
    bare = view("in_execution")
    exc = refused(bare, "execute_partially", **REASON)
    assert exc.article == "40(21)" and "'partial execution' needs a ground" in exc.message
    exc = refused(bare, "execute_partially", ground="essential_interests", **REASON)
    assert exc.article == "40(27)" and "executing in part" in exc.message
    consulted = view("in_execution", events=(ev("consult"),))
    done = run(consulted, "execute_partially", ground="essential_interests", **REASON)
    assert done.state == "partially_executed"


def test_a_form_whose_title_starts_with_a_vowel_takes_an() -> None:
    request = view("received", kind="preservation", events=(ev("consult"),))
    exc = refused(request, "refuse", ground="fiscal_matters_typo", **REASON)
    assert "of an expedited preservation" in exc.message.lower(), exc.message
    assert " a expedited" not in exc.message.lower()


# --- consultation both ways (40(27)) ------------------------------------------------------

PROPOSED = "Used only in the Aurelia proceedings against the two suspects named."


def consulted_on(conditions: str = PROPOSED, *more: Event) -> RequestView:
    """An outgoing request on which the requested State consulted, proposing ``conditions``."""
    consult = Event(
        "consult", T0, "node:xb", "requested", "40(27)", "acknowledged", "acknowledged",
        {"reason": "Can it be limited?", "conditions": conditions},
    )  # fmt: skip
    return view("acknowledged", direction="outgoing", events=(consult, *more))


def test_40_27_accepted_conditions_are_those_proposed() -> None:
    decision = run(consulted_on(), "accept_conditions", conditions=f"  {PROPOSED.upper()} ")
    assert decision.event.article == "40(27)" and decision.state == "acknowledged"
    exc = refused(consulted_on(), "accept_conditions", conditions="Any use at all.")
    assert exc.guard == "conditions_proposed" and "not those the requested State" in exc.message


def test_40_27_nothing_to_accept_without_proposed_conditions() -> None:
    for request in (
        view("acknowledged", direction="outgoing"),
        consulted_on(""),  # a consultation that proposed no conditions
        consulted_on(PROPOSED, replace(ev("accept_conditions"), params={"conditions": PROPOSED})),
    ):
        exc = refused(request, "accept_conditions", conditions=PROPOSED)
        assert exc.guard == "conditions_proposed" and exc.article == "40(27)"
        assert "No conditions proposed by the requested State await an answer" in exc.message


def test_40_27_the_requesting_state_proposes_conditions_in_answer_only() -> None:
    other = "Used in case 9 and its appeal."
    exc = refused(
        view("acknowledged", direction="outgoing"), "propose_conditions", conditions=other
    )
    assert exc.guard == "consultation_open" and exc.article == "40(27)"
    exc = refused(consulted_on(), "propose_conditions", conditions="  ")
    assert exc.guard == "conditions_given"
    assert run(consulted_on(), "propose_conditions", conditions=other).event.params == {
        "conditions": other
    }


def test_40_27_conditions_are_bounded() -> None:
    long = "x" * 2001
    exc = refused(consulted_on(), "propose_conditions", conditions=long)
    assert exc.guard == "conditions_bounded" and "2001 characters; at most 2000" in exc.message
    exc = refused(view("acknowledged"), "consult", conditions=long, **REASON)
    assert exc.guard == "conditions_bounded"
    assert run(view("acknowledged"), "consult", conditions="x" * 2000, **REASON).event


def test_40_27_accepting_the_proposed_conditions_is_offered_and_needs_no_retyping() -> None:
    from hanoinet.cases.lifecycle import allowed_actions

    assert "accept_conditions" in allowed_actions(consulted_on(), T0)
    assert run(consulted_on(), "accept_conditions").state == "acknowledged"


def test_40_27_a_counter_proposal_answers_the_consultation() -> None:
    """One rule for the guard, the desk and the page: the last consultation's conditions,
    until the requesting State accepts them or proposes others."""
    from hanoinet.cases.guards import proposed_conditions

    countered = consulted_on(PROPOSED, ev("propose_conditions"))
    assert proposed_conditions(countered.events) is None
    assert refused(countered, "accept_conditions").guard == "conditions_proposed"
    again = replace(
        countered,
        events=(*countered.events, replace(ev("consult"), params={"reason": "Agreed."})),
    )
    assert proposed_conditions(again.events) is None  # a consultation proposing none


def test_40_27_no_conditions_are_proposed_once_the_request_is_decided() -> None:
    for state in ("executed", "partially_executed", "closed"):
        exc = refused(view(state), "consult", conditions="Only in case 9.", **REASON)
        assert exc.guard == "conditions_bounded" and "before the request is decided" in exc.message
        assert run(view(state), "consult", **REASON).event.params == REASON


def test_40_27_an_acceptance_the_other_node_refused_is_no_agreement() -> None:
    from hanoinet.cases.guards import agreed_conditions, proposed_conditions

    accepted = replace(ev("accept_conditions"), params={"conditions": PROPOSED})
    refused_message = replace(
        ev("message_rejected"), params={"action": "accept_conditions", "reason": "not_applied: x"}
    )
    request = consulted_on(PROPOSED, accepted)
    assert agreed_conditions(request.events) == [PROPOSED]
    assert proposed_conditions(request.events) is None
    after = consulted_on(PROPOSED, accepted, refused_message)
    assert agreed_conditions(after.events) == []
    assert proposed_conditions(after.events) == PROPOSED  # still awaiting an answer
