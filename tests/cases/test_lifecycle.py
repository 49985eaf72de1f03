"""The lifecycle table through ``decide`` and ``allowed_actions`` (pure: no store, no clock)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hanoinet.cases.approval import Approval
from hanoinet.cases.lifecycle import (
    FINAL,
    OPEN,
    STATES,
    Event,
    FollowUp,
    RequestView,
    Transition,
    actions_for,
    allowed_actions,
    decide,
    lifecycle,
    transitions_for,
)
from hanoinet.convention import convention
from hanoinet.convention.catalog import mark_citations
from hanoinet.errors import TransitionRefused

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
GROUNDS_YAML = Path(__file__).resolve().parents[2] / "src/hanoinet/convention/data/grounds.yaml"
GROUND_IDS = sorted(g["id"] for g in yaml.safe_load(GROUNDS_YAML.read_text("utf-8"))["grounds"])
ALL_ACTIONS = sorted({t.action for t in lifecycle().transitions})
PRESERVATION_ONLY = sorted(
    {t.action for t in lifecycle().transitions if t.forms == ("preservation",)}
)


PROPOSED = "Used only in the Aurelia proceedings against the two suspects named."
"""Conditions the requested State proposes in its consultation (40(27))."""


def ev(action: str, at: datetime = T0, state: str = "received", by: str = "requested") -> Event:
    # a consent names its matter (40(19)); a consultation here proposes conditions (40(27))
    params = {"give_consent": M, "consult": {"conditions": PROPOSED}}.get(action, {})
    return Event(action, at, "alice", by, "40(25)", state, state, params)  # type: ignore[arg-type]


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
    first = ev("create" if direction == "outgoing" else "receive", T0 - timedelta(days=90))
    return RequestView(
        kind,
        direction,  # type: ignore[arg-type]
        state,
        document or {},
        (first, *events),
        error_findings,
        approval or Approval(),
        # A held preservation waits for its follow-up (42): here one already decided.
        follow_up=FollowUp("R-000009", "R-000003", "executed") if state == "held" else None,
    )


def resolves(article: str) -> bool:
    convention().key(article)  # raises UnknownArticle otherwise
    return True


# --- happy paths --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    action: str
    kind: str
    direction: str
    state: str
    to: str
    article: str
    by: str
    from_peer: bool = False
    system: bool = False
    params: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    approval: Approval = field(default_factory=Approval)


AWAITING = Approval("requester", "rita", True, "sam")
"""The node's default policy on a case an investigator opened; the supervisor sam asks."""
PRESERVED_AT = T0 - timedelta(days=61)
R = {"reason": "Written reasons."}
M = {"matter": "Case 9/2027 (illustrative)"}

HAPPY = [
    Case("check", "preservation", "outgoing", "draft", "checked", "40(15)", "requesting"),
    Case("check", "stored_data", "outgoing", "checked", "checked", "40(15)", "requesting"),
    Case("edit", "stored_data", "outgoing", "checked", "draft", "40(15)", "requesting"),
    Case("approve", "stored_data", "outgoing", "checked", "checked", "40(13)", "requesting", approval=AWAITING),
    Case("send", "preservation", "outgoing", "checked", "sent", "40(13)", "requesting"),
    Case("send", "stored_data", "outgoing", "checked", "sent", "40(13)", "requesting", events=("check", "approve"), approval=AWAITING),
    Case("acknowledge", "stored_data", "incoming", "received", "acknowledged", "40(25)", "requested"),
    Case("acknowledge", "preservation", "outgoing", "sent", "acknowledged", "40(25)", "requested", from_peer=True),
    Case("request_more_info", "stored_data", "incoming", "acknowledged", "more_info_requested", "40(16)", "requested", params=R),
    Case("provide_more_info", "stored_data", "outgoing", "more_info_requested", "acknowledged", "40(16)", "requesting", params=R),
    Case("start_execution", "stored_data", "incoming", "acknowledged", "in_execution", "40(25)", "requested"),
    Case("consult", "stored_data", "incoming", "in_execution", "in_execution", "40(27)", "requested", params=R),
    Case("postpone", "stored_data", "incoming", "in_execution", "postponed", "40(26)", "requested", params={**R, "ground": "ongoing_proceedings"}, events=("consult",)),
    Case("resume", "stored_data", "incoming", "postponed", "in_execution", "40(26)", "requested"),
    # A refusal's event cites its ground's article (issue 27 item 7), not 40(24)'s reasons.
    Case("refuse", "stored_data", "incoming", "acknowledged", "refused", "40(21)(b)", "requested", params={**R, "ground": "essential_interests"}, events=("consult",)),
    Case("refuse", "preservation", "incoming", "received", "refused", "42", "requested", params={**R, "ground": "preservation_essential_interests"}, events=("consult",)),
    Case("refuse", "stored_data", "outgoing", "sent", "refused", "40(21)(c)", "requested", from_peer=True, params={**R, "ground": "domestic_bar"}, events=("consult",)),
    Case("execute", "stored_data", "incoming", "in_execution", "executed", "40(25)", "requested"),
    Case("execute_partially", "stored_data", "incoming", "in_execution", "partially_executed", "40(21)(b)", "requested", params={**R, "ground": "essential_interests"}, events=("consult",)),
    Case("status_enquiry", "stored_data", "outgoing", "sent", "sent", "40(25)", "requesting"),
    Case("answer_status_enquiry", "stored_data", "incoming", "received", "received", "40(25)", "requested", params=R, events=("status_enquiry",)),
    Case("withdraw", "stored_data", "outgoing", "in_execution", "withdrawn", "40(25)", "requesting"),
    Case("withdraw", "stored_data", "incoming", "received", "withdrawn", "40(25)", "requesting", from_peer=True),
    Case("notify_cannot_keep_confidential", "stored_data", "incoming", "acknowledged", "acknowledged", "40(20)", "requested", params=R, document={"confidential": True}),
    Case("confirm_in_writing", "stored_data", "outgoing", "sent", "sent", "40(14)", "requesting", document={"oral": True}),
    Case("confirm_in_writing", "preservation", "incoming", "received", "received", "40(14)", "requesting", from_peer=True, document={"oral": True}),
    Case("give_consent", "stored_data", "incoming", "executed", "executed", "40(19)", "requested", params=R | M),
    Case("give_consent", "stored_data", "incoming", "in_execution", "in_execution", "40(19)", "requested", params=R | M),
    Case("decline_consent", "stored_data", "incoming", "in_execution", "in_execution", "40(19)", "requested", params=R | M),
    Case("request_consent", "stored_data", "outgoing", "sent", "sent", "40(19)", "requesting", params=R | M),
    Case("request_consent", "stored_data", "incoming", "in_execution", "in_execution", "40(19)", "requesting", params=R | M, from_peer=True),
    Case("notify_exculpatory_disclosure", "stored_data", "outgoing", "executed", "executed", "40(19)", "requesting", params=R),
    Case("consult", "stored_data", "incoming", "executed", "executed", "40(27)", "requested", params=R),
    Case("consult", "stored_data", "incoming", "acknowledged", "acknowledged", "40(27)", "requested", params=R | {"conditions": "Used only in case 9."}),
    Case("accept_conditions", "stored_data", "outgoing", "acknowledged", "acknowledged", "40(27)", "requesting", params={"conditions": PROPOSED}, events=("consult",)),
    Case("accept_conditions", "stored_data", "incoming", "in_execution", "in_execution", "40(27)", "requesting", params={"conditions": PROPOSED}, events=("consult",), from_peer=True),
    Case("propose_conditions", "stored_data", "outgoing", "in_execution", "in_execution", "40(27)", "requesting", params=R | {"conditions": "Used in case 9 and its appeal."}, events=("consult",)),
    Case("use_for_other_matter", "stored_data", "outgoing", "closed", "closed", "40(19)", "requesting", params=R | M, events=("give_consent",)),
    Case("close", "stored_data", "outgoing", "refused", "closed", "40(25)", "requesting"),
    Case("record_preserved", "preservation", "incoming", "acknowledged", "preserved", "42", "requested"),
    Case("record_preserved", "preservation", "outgoing", "sent", "preserved", "42", "requested", from_peer=True),
    Case("extend_preservation", "preservation", "incoming", "preserved", "preserved", "42", "requested", params=R, events=("record_preserved",)),
    Case("link_mla", "preservation", "outgoing", "preserved", "held", "42", "requesting", params={"related": "R-000009"}, events=("record_preserved",)),
    Case("notify_not_ensured", "preservation", "incoming", "acknowledged", "not_ensured", "42", "requested", params=R),
    Case("proceed_anyway", "preservation", "outgoing", "not_ensured", "in_execution", "42", "requesting"),
    Case("disclose_partial_traffic", "preservation", "incoming", "in_execution", "in_execution", "43", "requested", params={"third_state": "XC"}),
    Case("release", "preservation", "incoming", "held", "executed", "42", "requested", params=R),
    Case("link_refused", "preservation", "outgoing", "held", "preserved", "42", "system", system=True, params=R),
    Case("answer_consultation", "parallel_proceedings", "incoming", "acknowledged", "executed", "22(5)", "requested", params=R),
    Case("lapse", "preservation", "incoming", "preserved", "lapsed", "42", "system", system=True, events=("record_preserved",)),
    Case("lapse", "preservation", "outgoing", "preserved", "lapsed", "42", "system", system=True, events=("record_preserved",)),
]  # fmt: skip


def test_every_action_has_a_hand_written_happy_path() -> None:
    assert {c.action for c in HAPPY} == set(ALL_ACTIONS)


@pytest.mark.parametrize("case", HAPPY, ids=lambda c: f"{c.action}-{c.direction}-{c.state}")
def test_happy_path(case: Case) -> None:
    extra = tuple(ev(a, PRESERVED_AT if a == "record_preserved" else T0) for a in case.events)
    request = view(
        case.state,
        kind=case.kind,
        direction=case.direction,
        document=case.document,
        events=extra,
        approval=case.approval,
    )
    decision = decide(
        request,
        case.action,
        at=T0,
        actor="alice",
        params=case.params,
        from_peer=case.from_peer,
        system=case.system,
    )
    assert decision.state == case.to
    e = decision.event
    assert (e.action, e.at, e.actor, e.by) == (case.action, T0, "alice", case.by)
    assert (e.article, e.from_state, e.to_state) == (case.article, case.state, case.to)
    assert e.params == case.params


def _satisfying(t: Transition, state: str, *, as_peer: bool) -> tuple[RequestView, dict[str, str]]:
    """A request in ``state`` on which every guard of ``t`` holds, seen from the side that
    takes ``t`` (or, with ``as_peer``, from the other side, recording it with --from-peer)."""
    kind = t.forms[0] if t.forms else "stored_data"
    own = "outgoing" if t.by == "requesting" else "incoming"
    direction = own
    if as_peer:
        direction = "incoming" if own == "outgoing" else "outgoing"
    ground = "ongoing_proceedings" if t.action == "postpone" else "essential_interests"
    if kind == "preservation" and t.action == "refuse":
        ground = "preservation_essential_interests"
    params = {
        "reason": "Reasons.", "ground": ground, "related": "R-000009", "third_state": "XC", **M,
        "conditions": PROPOSED,
    }  # fmt: skip
    events = (
        ev("consult"),
        ev("give_consent"),
        ev("record_preserved", PRESERVED_AT),
        ev("status_enquiry"),
    )
    if t.action == "consult" and state in ("executed", "partially_executed", "closed"):
        del params["conditions"]  # conditions are proposed before a decision (40(27))
    document = {"oral": True, "confidential": True}
    # approve: a request the node's policy asks approval for, asked by someone else than its
    # opener; every other action under no approval step
    approval = AWAITING if t.action == "approve" else Approval()
    request = view(
        state, kind=kind, direction=direction, document=document, events=events, approval=approval
    )
    return request, params


@pytest.mark.parametrize("t", lifecycle().transitions, ids=lambda t: t.action)
def test_every_row_of_the_table_is_reachable_from_every_from_state(t: Transition) -> None:
    for state in t.from_:
        for as_peer in (False, True) if t.by != "system" else (False,):
            request, params = _satisfying(t, state, as_peer=as_peer)
            decision = decide(
                request,
                t.action,
                at=T0,
                actor="bob",
                params=params,
                from_peer=as_peer,
                system=t.by == "system",
            )
            assert decision.state == (state if t.to == "same" else t.to)
            assert decision.event.by == t.by
            grounded = {"refusal_ground", "postponement_ground"} & set(t.guards)
            ground = convention().grounds[params["ground"]] if grounded else None
            assert decision.event.article == (ground.article if ground else t.article)


def test_empty_params_are_not_recorded() -> None:
    decision = decide(
        view("received"),
        "acknowledge",
        at=T0,
        actor="alice",
        params={"reason": "", "ground": "", "related": "", "third_state": ""},
    )
    assert decision.event.params == {}


# --- refusals -------------------------------------------------------------------------------


def test_send_from_draft_is_refused_naming_the_article_and_allowed_state() -> None:
    request = view("draft", kind="preservation", direction="outgoing")
    with pytest.raises(TransitionRefused) as info:
        decide(request, "send", at=T0, actor="alice")
    assert info.value.article == "40(13)"
    assert (
        mark_citations("(this node's procedure; the step itself: art. 40(13))")
        in info.value.message
    )
    assert "is draft" in info.value.message
    assert info.value.message.endswith("allowed when the request is checked")


@pytest.mark.parametrize(
    "t",
    [t for t in lifecycle().transitions if t.by != "system"],
    ids=lambda t: t.action,
)
def test_refused_in_every_state_not_in_from(t: Transition) -> None:
    for state in STATES:
        if state in t.from_:
            continue
        request, params = _satisfying(t, state, as_peer=False)
        with pytest.raises(TransitionRefused) as info:
            decide(request, t.action, at=T0, actor="alice", params=params)
        message = info.value.message
        assert info.value.article == t.article
        itself = t.cited
        assert mark_citations(f"(this node's procedure; the step itself: {itself})") in message
        assert f"is {state.replace('_', ' ')} " in message
        allowed = message.split("it is allowed when the request is ", 1)[1]
        assert allowed == ", ".join(s.replace("_", " ") for s in t.from_)


def test_outgoing_request_cannot_acknowledge_itself() -> None:
    request = view("sent", direction="outgoing")
    with pytest.raises(TransitionRefused) as info:
        decide(request, "acknowledge", at=T0, actor="alice")
    message = info.value.message
    assert info.value.article == "40(25)"
    assert (
        mark_citations("taken by the requested State (this node's procedure, serving art. 40(25))")
        in message
    )
    assert "this node is the requesting State" in message
    assert "--from-peer" not in message and info.value.owner == "requested"
    decision = decide(request, "acknowledge", at=T0, actor="alice", from_peer=True)
    assert decision.state == "acknowledged"
    assert decision.event.by == "requested"


def test_incoming_request_cannot_send_nor_be_acknowledged_by_peer() -> None:
    with pytest.raises(TransitionRefused, match="taken by the requested State"):
        decide(view("received"), "acknowledge", at=T0, actor="alice", from_peer=True)
    with pytest.raises(TransitionRefused, match="taken by the requesting State"):
        decide(view("received"), "withdraw", at=T0, actor="alice")


@pytest.mark.parametrize(
    "t",
    [t for t in lifecycle().transitions if t.by != "system"],
    ids=lambda t: t.action,
)
def test_the_other_role_is_refused_in_every_state(t: Transition) -> None:
    for state in t.from_:
        request, params = _satisfying(t, state, as_peer=True)
        with pytest.raises(TransitionRefused, match=rf"taken by the {t.by} State") as info:
            decide(request, t.action, at=T0, actor="alice", params=params)
        assert info.value.article == t.article


def test_unknown_action_lists_the_actions_of_the_form() -> None:
    with pytest.raises(TransitionRefused) as info:
        decide(view("received"), "frobnicate", at=T0, actor="alice")
    message = info.value.message
    assert "'frobnicate' is not an action on a stored_data request" in message
    listed = message.split("the actions are: ", 1)[1].split(", ")
    assert listed == actions_for("stored_data")
    assert "refuse" in listed and "record_preserved" not in listed
    with pytest.raises(TransitionRefused) as info:
        decide(view("received", kind="preservation"), "frobnicate", at=T0, actor="alice")
    assert "record_preserved" in info.value.message.split("the actions are: ", 1)[1]


@pytest.mark.parametrize("action", [a for a in ALL_ACTIONS if a not in ("lapse", "link_refused")])
def test_system_may_take_no_action_but_lapse_and_a_refused_link(action: str) -> None:
    kind = "parallel_proceedings" if action == "answer_consultation" else "preservation"
    t = transitions_for(action, kind)[0]
    request, params = _satisfying(t, t.from_[0], as_peer=False)
    with pytest.raises(TransitionRefused) as info:
        decide(request, action, at=T0, actor="clock", params=params, system=True)
    assert f"taken by the {t.by} State" in info.value.message
    assert "--from-peer" not in info.value.message


@pytest.mark.parametrize("direction", ["outgoing", "incoming"])
@pytest.mark.parametrize("from_peer", [False, True])
def test_lapse_only_by_the_clock(direction: str, from_peer: bool) -> None:
    request = view(
        "preserved",
        kind="preservation",
        direction=direction,
        events=(ev("record_preserved", PRESERVED_AT),),
    )
    with pytest.raises(
        TransitionRefused, match="recorded by this node's clock when its time comes"
    ) as info:
        decide(request, "lapse", at=T0, actor="alice", from_peer=from_peer)
    assert info.value.article == "42"
    assert "--from-peer" not in info.value.message and "system State" not in info.value.message
    assert decide(request, "lapse", at=T0, actor="clock", system=True).state == "lapsed"


@pytest.mark.parametrize("action", PRESERVATION_ONLY)
def test_preservation_actions_are_not_actions_on_stored_data(action: str) -> None:
    assert action not in actions_for("stored_data")
    request = view("preserved", events=(ev("record_preserved", PRESERVED_AT),))
    for from_peer in (False, True):
        with pytest.raises(TransitionRefused, match="is not an action on a stored_data request"):
            decide(
                request,
                action,
                at=T0,
                actor="alice",
                params={"reason": "r", "related": "R-000009", "third_state": "XC"},
                from_peer=from_peer,
                system=action == "lapse",
            )


def test_preservation_only_actions_are_those_of_articles_42_and_43() -> None:
    expected = sorted(
        [
            "record_preserved",
            "extend_preservation",
            "link_mla",
            "notify_not_ensured",
            "proceed_anyway",
            "disclose_partial_traffic",
            "release",
            "lapse",
            "link_refused",
        ]
    )
    assert expected == PRESERVATION_ONLY


# --- allowed_actions ----------------------------------------------------------------------


def test_allowed_actions_hide_confirm_in_writing_unless_oral_and_unconfirmed() -> None:
    written = view("sent", direction="outgoing")
    assert allowed_actions(written, T0) == ["status_enquiry", "withdraw", "request_consent"]
    oral = view("sent", direction="outgoing", document={"oral": True})
    assert "confirm_in_writing" in allowed_actions(oral, T0)
    confirmed = replace(oral, events=(*oral.events, ev("confirm_in_writing")))
    assert "confirm_in_writing" not in allowed_actions(confirmed, T0)


def test_allowed_actions_for_the_requested_state() -> None:
    received = view("received")
    assert allowed_actions(received, T0) == [
        "acknowledge",
        "request_more_info",
        "consult",
        "give_consent",
        "decline_consent",
    ]
    # answering a status enquiry, once one is received (40(25))
    asked = replace(received, events=(*received.events, ev("status_enquiry")))
    assert "answer_status_enquiry" in allowed_actions(asked, T0)
    # refusing needs a consultation first (40(27)); notifying, a confidential request
    consulted = replace(received, events=(*received.events, ev("consult")))
    assert "refuse" in allowed_actions(consulted, T0)
    confidential = replace(received, document={"confidential": True})
    assert "notify_cannot_keep_confidential" in allowed_actions(confidential, T0)


def test_allowed_actions_never_offer_the_clock_or_the_other_side() -> None:
    preserved = view(
        "preserved",
        kind="preservation",
        events=(ev("record_preserved", PRESERVED_AT),),
    )
    actions = allowed_actions(preserved, T0)
    assert "lapse" not in actions
    assert "link_mla" not in actions and "withdraw" not in actions
    assert actions == [
        "give_consent",
        "decline_consent",
        "extend_preservation",
        "disclose_partial_traffic",
    ]


def test_allowed_actions_are_all_accepted_with_their_typed_params() -> None:
    # what allowed_actions offers, decide accepts once the user types reasons etc.
    for direction, state in (("outgoing", "draft"), ("incoming", "received")):
        request = view(state, kind="stored_data", direction=direction)
        for action in allowed_actions(request, T0):
            decide(
                request,
                action,
                at=T0,
                actor="alice",
                params={"reason": "r", "ground": "essential_interests", **M},
            )


def test_allowed_actions_follow_the_approval_step() -> None:
    awaiting = view("checked", direction="outgoing", events=(ev("check"),), approval=AWAITING)
    actions = allowed_actions(awaiting, T0)
    assert "approve" in actions and "send" not in actions
    approved = replace(awaiting, events=(*awaiting.events, ev("approve")))
    actions = allowed_actions(approved, T0)
    assert "send" in actions and "approve" not in actions
    # the case's opener reads the same request: no approval of their own
    opener = replace(awaiting, approval=replace(AWAITING, asked_by="rita"))
    assert "approve" not in allowed_actions(opener, T0)
    # no approval step: send as before, nothing to approve
    plain = view("checked", direction="outgoing", events=(ev("check"),))
    assert allowed_actions(plain, T0) == ["check", "edit", "send", "withdraw"]


def test_closed_allows_only_consent_use_and_notices_of_40_19() -> None:
    assert allowed_actions(view("closed"), T0) == ["consult", "give_consent", "decline_consent"]
    assert allowed_actions(view("closed", direction="outgoing"), T0) == [
        "request_consent",
        "notify_exculpatory_disclosure",
    ]
    consent = view("closed", direction="outgoing", events=(ev("give_consent"),))
    assert "use_for_other_matter" in allowed_actions(consent, T0)


# --- random walks ----------------------------------------------------------------------------


def test_ground_ids_are_the_conventions() -> None:
    assert set(GROUND_IDS) == set(convention().grounds)


def test_state_sets_are_consistent() -> None:
    assert set(FINAL) == {"closed"}
    assert set(OPEN) | {
        "executed",
        "partially_executed",
        "refused",
        "withdrawn",
        "lapsed",
        "closed",
    } == set(STATES)
    for t in lifecycle().transitions:
        assert resolves(t.article)
        assert t.to == "same" or t.to in STATES
        assert set(t.from_) <= set(STATES)


def _from_here(state: str) -> list[str]:
    return sorted({t.action for t in lifecycle().transitions if state in t.from_})


# The walk's strategies, made once: made anew at each draw, hypothesis validated and labelled
# them again every step (four fifths of the test's time).
_HOURS = st.integers(0, 24 * 40)
_BOOLS = st.booleans()
_GROUND = st.sampled_from([*GROUND_IDS, "", "whim"])
_REASON = st.sampled_from(["", "Reasons.", "  "]) | st.text(max_size=8)
_THIRD_STATE = st.sampled_from(["XC", "XC", "xc", "QQ", ""])
_FROM_PEER = {owns: st.sampled_from([owns, owns, owns, not owns]) for owns in (True, False)}


@cache
def _actions_from(state: str) -> st.SearchStrategy[str]:
    """Any action, often one the state allows, sometimes one that does not exist."""
    here = [a for a in _from_here(state) if a != "withdraw"] or ALL_ACTIONS
    return st.one_of(
        st.sampled_from(ALL_ACTIONS),
        st.sampled_from(here),
        st.sampled_from(here),
        st.just("frobnicate"),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    kind=st.sampled_from(["preservation", "stored_data", "traffic_disclosure"]),
    direction=st.sampled_from(["outgoing", "incoming"]),
    oral=st.booleans(),
    confidential=st.booleans(),
)
def test_random_walk(
    data: st.DataObject, kind: str, direction: str, oral: bool, confidential: bool
) -> None:
    state = "draft" if direction == "outgoing" else "received"
    request = RequestView(
        kind,
        direction,  # type: ignore[arg-type]
        state,
        {"oral": oral, "confidential": confidential},
        (ev("create" if direction == "outgoing" else "receive", T0, state),),
        data.draw(st.sampled_from([0, 0, 0, 1])),
    )
    at = T0
    steps = data.draw(st.integers(1, 40))
    for _ in range(steps):
        at += timedelta(hours=data.draw(_HOURS))
        action = data.draw(_actions_from(request.state))
        params: dict[str, str] = {}
        if data.draw(_BOOLS):
            params["ground"] = data.draw(_GROUND)
        params["reason"] = data.draw(_REASON)
        if data.draw(_BOOLS):
            params["related"] = "R-000009"
        if data.draw(_BOOLS):
            params["third_state"] = data.draw(_THIRD_STATE)
        # mostly the side that owns the action; sometimes the wrong one
        owners = {t.by for t in transitions_for(action, kind)}
        peer_owns = bool(owners) and request.our_role not in owners
        from_peer = data.draw(_FROM_PEER[peer_owns])
        system = data.draw(_BOOLS) if action == "lapse" else False
        before = request
        try:
            decision = decide(
                request,
                action,
                at=at,
                actor="walker",
                params=dict(params),
                from_peer=from_peer,
                system=system,
            )
        except TransitionRefused as exc:
            assert exc.message
            if exc.article is not None:
                assert resolves(exc.article)
            assert request == before
            continue
        e = decision.event
        assert decision.state in STATES
        assert e.from_state == request.state and e.to_state == decision.state
        assert resolves(e.article)
        assert e.at == at and e.action == action
        assert e.by == (
            "system"
            if system
            else ("requesting" if (direction == "outgoing") != from_peer else "requested")
        )
        if request.state in FINAL:
            assert decision.state == request.state
            # after the end, only what 40(19) and 40(27) allow: consent, use, notices
            assert action in (
                "give_consent",
                "decline_consent",
                "request_consent",
                "use_for_other_matter",
                "notify_exculpatory_disclosure",
                "consult",
            )
        if action == "lapse":
            assert system
        request = replace(request, state=decision.state, events=(*request.events, e))


def test_a_procedure_step_says_it_is_this_node_s_procedure() -> None:
    """Issue 27 item 7: acknowledging and closing are this node's order of work; their
    refusals say so instead of citing 40(25) as if the Convention asked for the step."""
    procedure = {t.action for t in lifecycle().transitions if t.basis == "procedure"}
    assert procedure == {"check", "edit", "approve", "acknowledge", "start_execution", "close"}
    with pytest.raises(TransitionRefused) as info:
        decide(view("sent", direction="outgoing"), "acknowledge", at=T0, actor="alice")
    assert "(this node's procedure, serving art. 40(25)" in info.value.message
    with pytest.raises(TransitionRefused) as info:
        decide(view("acknowledged", direction="outgoing"), "close", at=T0, actor="alice")
    assert (
        mark_citations(
            "(this node's procedure; the step itself: this node's procedure, serving art. 40(25))"
        )
        in info.value.message
    )
    with pytest.raises(TransitionRefused) as info:
        decide(view("acknowledged"), "execute", at=T0, actor="alice")
    assert "the step itself: art. 40(25)" in info.value.message


def test_40_21_a_refusal_event_cites_its_ground() -> None:
    request = view("acknowledged", events=(ev("consult"),))
    for ground in ("essential_interests", "domestic_bar", "no_dual_criminality"):
        decision = decide(request, "refuse", at=T0, actor="alice", params={**R, "ground": ground})
        assert decision.event.article == convention().grounds[ground].article


def test_parameters_are_bounded_text_and_only_those_the_action_reads() -> None:
    """A peer's message or a form cannot record arbitrary or oversized parameters."""
    request = view("received")
    kept = decide(
        request, "acknowledge", at=T0, actor="node:xa",
        params={"reason": "Seen.", "ground": "essential_interests", "extra": "x" * 10_000},
    )  # fmt: skip
    assert kept.event.params == {"reason": "Seen."}
    with pytest.raises(TransitionRefused, match="'reason' must be text"):
        decide(request, "acknowledge", at=T0, actor="a", params={"reason": 5})  # type: ignore[dict-item]
    with pytest.raises(TransitionRefused, match="'reason' has 4001 characters; at most 4000"):
        decide(request, "acknowledge", at=T0, actor="a", params={"reason": "x" * 4001})
