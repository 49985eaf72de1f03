"""The lifecycle of a request: one table, loaded from ``data/lifecycle.yaml``.

``decide(request, action, ...)`` is pure: given a request's current state, its
past events and the action asked for, it returns the new state and the event
to record, or raises TransitionRefused naming the article that forbids it.
Nothing is written here; the store writes the decision in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hanoinet.cases.approval import Approval
from hanoinet.convention import convention
from hanoinet.convention.catalog import mark_citations
from hanoinet.convention.loader import load_text
from hanoinet.convention.model import ArticleKey
from hanoinet.errors import TransitionRefused

Role = Literal["requesting", "requested", "system"]
Basis = Literal["convention", "procedure"]
Direction = Literal["outgoing", "incoming"]

STATES = (
    "draft",
    "checked",
    "sent",
    "received",
    "acknowledged",
    "in_execution",
    "more_info_requested",
    "postponed",
    "preserved",
    "held",
    "not_ensured",
    "executed",
    "partially_executed",
    "refused",
    "withdrawn",
    "lapsed",
    "closed",
)
FINAL = frozenset({"closed"})
OPEN = frozenset(STATES) - {
    "executed",
    "partially_executed",
    "refused",
    "withdrawn",
    "lapsed",
    "closed",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Transition(_Frozen):
    action: str
    from_: tuple[str, ...] = Field(alias="from")
    to: str
    by: Role
    guards: tuple[str, ...] = ()
    article: ArticleKey
    forms: tuple[str, ...] | None = None
    not_forms: tuple[str, ...] = ()
    basis: Basis = "convention"
    """``convention``: the step is a duty or a right under ``article``. ``procedure``: this
    node's own order of work, which serves the duty of ``article`` without the Convention
    asking for the step itself (acknowledging, starting execution, closing ...)."""

    @property
    def cited(self) -> str:
        """The step's basis as a message cites it."""
        if self.basis == "procedure":
            return f"this node's procedure, serving art. {self.article}"
        return f"art. {self.article}"

    def applies_to(self, kind: str) -> bool:
        """Whether the action exists for a request of ``kind`` (``forms``, ``not_forms``)."""
        return (self.forms is None or kind in self.forms) and kind not in self.not_forms


class Reminders(_Frozen):
    preservation_expiry_days_before: tuple[int, ...]
    written_confirmation_hours: int


class LifecycleFile(_Frozen):
    reminders: Reminders
    transitions: tuple[Transition, ...]


@cache
def lifecycle() -> LifecycleFile:
    text = resources.files("hanoinet.cases.data").joinpath("lifecycle.yaml").read_text("utf-8")
    data = load_text(LifecycleFile, text, "lifecycle.yaml")
    forms = set(convention().forms)
    for t in data.transitions:
        for state in (*t.from_, t.to):
            if state != "same" and state not in STATES:
                raise ValueError(f"lifecycle.yaml: action {t.action} names unknown state '{state}'")
        for form in (*(t.forms or ()), *t.not_forms):
            if form not in forms:
                raise ValueError(f"lifecycle.yaml: action {t.action} names unknown form '{form}'")
        convention().key(t.article)
    return data


@cache
def actions_guarded_by(*guards: str) -> frozenset[str]:
    """The actions the table guards with any of ``guards``: what a caller must prepare the
    request's view for (its error findings, its approval facts) before ``decide``."""
    return frozenset(
        t.action for t in lifecycle().transitions if any(g in t.guards for g in guards)
    )


def transitions_for(action: str, kind: str) -> list[Transition]:
    return [t for t in lifecycle().transitions if t.action == action and t.applies_to(kind)]


def actions_for(kind: str) -> list[str]:
    seen: list[str] = []
    for t in lifecycle().transitions:
        if t.applies_to(kind) and t.action not in seen:
            seen.append(t.action)
    return seen


@dataclass(frozen=True)
class Event:
    """One thing that happened to a request: the unit of its timeline and audit."""

    action: str
    at: datetime
    actor: str
    by: Role
    article: str
    from_state: str
    to_state: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUp:
    """The request a held preservation waits for (42): this node's id (None when it is not
    on this node), the other State's reference, and its state here."""

    id: str | None
    their_ref: str | None
    state: str | None

    @property
    def named(self) -> str:
        if self.id:
            return f"request {self.id}" + (
                f" (their reference {self.their_ref})" if self.their_ref else ""
            )
        return f"the other State's request {self.their_ref or '(no reference)'}"


@dataclass(frozen=True)
class RequestView:
    """What the lifecycle needs to know about a request."""

    kind: str
    direction: Direction
    state: str
    document: dict[str, Any]
    events: Sequence[Event] = ()
    error_findings: int = 0
    approval: Approval = field(default_factory=Approval)
    """The node's approval policy for this request (cases/approval.py); none by default."""
    follow_up: FollowUp | None = None
    """A preservation linked to its follow-up request (link_mla): that request as this node
    knows it. None when never linked."""

    @property
    def our_role(self) -> Role:
        return "requesting" if self.direction == "outgoing" else "requested"


@dataclass(frozen=True)
class Decision:
    state: str
    event: Event


def _refused(message: str, article: str) -> TransitionRefused:
    """A refusal whose every article cited carries its mark when its number is unverified."""
    return TransitionRefused(mark_citations(message), article=article)


def decide(
    request: RequestView,
    action: str,
    *,
    at: datetime,
    actor: str,
    params: dict[str, str] | None = None,
    from_peer: bool = False,
    system: bool = False,
) -> Decision:
    """Apply ``action`` to ``request`` at ``at``; raise TransitionRefused naming the article.

    ``from_peer`` records an action the other State took (received by message,
    or by telephone and typed in); ``system`` is the clock.
    """
    from hanoinet.cases.guards import check_guard

    candidates = transitions_for(action, request.kind)
    params = _bounded(params or {}, candidates)
    if not candidates:
        known = ", ".join(actions_for(request.kind))
        raise TransitionRefused(
            f"'{action}' is not an action on a {request.kind} request; the actions are: {known}"
        )
    if system:
        role: Role = "system"
    elif from_peer:
        role = "requested" if request.our_role == "requesting" else "requesting"
    else:
        role = request.our_role
    by_role = [t for t in candidates if t.by == role]
    if not by_role:
        owner = candidates[0].by
        if owner == "system":  # the node's own record: no State takes it, nobody types it
            when = (
                "when the other State's node refuses the link"
                if action == "link_refused"
                else "by this node's clock when its time comes"
            )
            raise _refused(
                f"'{action}' is recorded {when} ({candidates[0].cited}), not by a person or "
                "by the other State",
                candidates[0].article,
            )
        refused = _refused(
            f"'{action}' is taken by the {owner} State ({candidates[0].cited}); on this "
            f"{request.direction} request this node is the {request.our_role} State",
            candidates[0].article,
        )
        refused.owner = owner  # the command line says how to record the other State's step
        raise refused
    allowed = [t for t in by_role if request.state in t.from_]
    if not allowed:
        t = by_role[0]
        # The order of the steps is this node's procedure, not a rule of the Convention: the
        # article is the step's own (issue 27 item 7).
        raise _refused(
            f"'{action}' is not allowed on a request that is {request.state.replace('_', ' ')} "
            f"(this node's procedure; the step itself: {t.cited}); it is allowed when "
            "the request is " + ", ".join(s.replace("_", " ") for s in t.from_),
            t.article,
        )
    transition = allowed[0]
    for guard in transition.guards:
        check_guard(guard, request, transition, params, at)
    to_state = request.state if transition.to == "same" else transition.to
    article = _article_of(transition, params)
    event = Event(action, at, actor, role, article, request.state, to_state, params)
    return Decision(to_state, event)


def markdown_table() -> str:
    """The table as docs/lifecycle.md shows it, one row per transition with its basis (a test
    holds the document to it)."""
    rows = [
        "| action | from | to | by | guards | basis | forms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in lifecycle().transitions:
        forms = ", ".join(t.forms) if t.forms else "all"
        if not t.forms and t.not_forms:
            forms = "all but " + ", ".join(t.not_forms)
        if t.basis == "procedure":
            basis = f"node procedure (serves {t.article})"
        else:
            basis = f"art. {t.article}"
            if GROUNDED & set(t.guards):
                basis += "; the event cites its ground's article"
        guards = ", ".join(t.guards) or "\u2014"
        rows.append(
            f"| `{t.action}` | {', '.join(t.from_)} | {t.to} | {t.by} | {guards} | {basis} "
            f"| {forms} |"
        )
    return "\n".join(rows)


PARAMS_OF_GUARD = {
    "reason": ("reason",),
    "refusal_ground": ("ground",),
    "postponement_ground": ("ground",),
    "related_request": ("related", "related_uid", "related_ref"),
    "third_state": ("third_state",),
    "consent_matter": ("matter",),
    "conditions_given": ("conditions",),
    "conditions_bounded": ("conditions",),
    "conditions_proposed": ("conditions",),
}
"""The parameters an action records: those its guards read (and a reason, on any step)."""
NODE_PARAMS = frozenset({"means", "reference", "received_on"})
"""What this node adds to a step it records from a letter or sends by one (services/outside.py):
how it travelled, its dispatch reference, when it arrived. Never taken from a peer's message
(services/federation.py leaves them out)."""
PARAM_MAX = 4000
"""The longest parameter recorded (a reason; the guards hold some shorter): a peer's message
or a form cannot make an event of unbounded size."""


def _bounded(params: dict[str, Any], candidates: list[Transition]) -> dict[str, str]:
    """The parameters ``decide`` records: strings, non-empty, at most PARAM_MAX characters,
    and only those the action's guards read plus a reason; anything else is left out."""
    wanted = {"reason", *NODE_PARAMS}
    for t in candidates:
        for guard in t.guards:
            wanted.update(PARAMS_OF_GUARD.get(guard, ()))
    kept: dict[str, str] = {}
    for name, value in params.items():
        if name not in wanted or value is None or value == "":
            continue
        if not isinstance(value, str):
            raise TransitionRefused(f"the parameter '{name}' must be text")
        if len(value) > PARAM_MAX:
            raise TransitionRefused(
                f"the parameter '{name}' has {len(value)} characters; at most {PARAM_MAX}"
            )
        kept[name] = value
    return kept


GROUNDED = frozenset({"refusal_ground", "postponement_ground"})


def _article_of(transition: Transition, params: dict[str, str]) -> str:
    """The article an event cites: a refusal, postponement or partial execution the ground it
    rests on (40(21)(b), 42(4) ...), every other step the table's article."""
    ground = convention().grounds.get(params.get("ground", ""))
    if ground is not None and GROUNDED & set(transition.guards):
        return ground.article
    return transition.article


PARAM_GUARDS = frozenset(
    {
        "reason",
        "refusal_ground",
        "postponement_ground",
        "related_request",
        "third_state",
        "consent_matter",
        "conditions_given",
        "conditions_bounded",
    }
)
"""Guards on what the user types with the action; the others depend on the request alone."""


def allowed_actions(request: RequestView, at: datetime) -> list[str]:
    """Actions this node may take now on ``request``: state and state guards hold (what the
    user must still type, a ground or reasons, is asked when the action is taken)."""
    from hanoinet.cases.guards import check_guard

    role = request.our_role
    allowed: list[str] = []
    for t in lifecycle().transitions:
        if t.by != role or request.state not in t.from_ or t.action in allowed:
            continue
        if not t.applies_to(request.kind):
            continue
        try:
            for guard in t.guards:
                if guard not in PARAM_GUARDS:
                    check_guard(guard, request, t, {}, at)
        except TransitionRefused:
            continue
        allowed.append(t.action)
    return allowed
