"""What this node still owes on a request, and by when: the order of the 24/7 desk.

Pure: the request's columns, the few events that say what was done (``OWED_EVENTS``) and the
node's acknowledgement target come in; the time of the reading comes in to ``desk_order``.

Each duty is named by the lifecycle action that discharges it, and takes that action's
article and states from ``lifecycle.yaml`` (never a number written here):

==========================  ===================================================  ==========
duty (action)               owed by this node when                               due
==========================  ===================================================  ==========
acknowledge                 incoming, received                                   the ack target
record_preserved            incoming preservation, acknowledged or in execution  the same clock:
                            (acknowledged is not preserved: the clock runs on)   receipt + target
start_execution, execute    incoming, acknowledged (start), in execution         the deadline
answer_consultation         incoming consultation (22(5)), acknowledged          the deadline
resume                      incoming, postponed                                  the deadline
answer_status_enquiry       incoming, an enquiry newer than the last answer      (none)
give_consent                incoming, a request for consent (40(19)) for a       (none)
                            matter not yet given or declined
release                     incoming preservation held for a request that is     (none)
                            decided (42: kept until then)
accept_conditions           outgoing, the requested State's last consultation    (none)
                            proposes conditions not yet answered (40(27))
check, send                 outgoing, draft (check it), checked (send it)        (none)
provide_more_info           outgoing, more information asked for                 (none)
link_mla                    outgoing preservation, preserved                     the expiry
proceed_anyway              outgoing preservation the other State cannot ensure  (none)
confirm_in_writing          outgoing oral request, sent and not yet confirmed    opened + the
                                                                                 reminder period
==========================  ===================================================  ==========

The deadline is the requesting State's (40(25)), from the request document. A request that
waits on the other State, or whose data is preserved and held, owes nothing: it is done for
now and goes below everything owed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING

from hanoinet.cases.clocks import preservation_expiry
from hanoinet.cases.guards import proposed_conditions, same_matter
from hanoinet.cases.lifecycle import lifecycle, transitions_for

if TYPE_CHECKING:
    from hanoinet.cases.lifecycle import Event

OWED_EVENTS = (
    "record_preserved",
    "extend_preservation",
    "link_mla",
    "link_refused",
    "lapse",
    "withdraw",
    "release",
    "status_enquiry",
    "answer_status_enquiry",
    "confirm_in_writing",
    "request_consent",
    "give_consent",
    "decline_consent",
    "consult",
    "accept_conditions",
    "propose_conditions",
    "message_rejected",
)
"""The only events ``owed`` reads: preservation's expiry, enquiries and their answers, the
written confirmation. A caller loads these and no others (no case content)."""

URGENCY_RANK = {"emergency": 0, "urgent": 1, "routine": 2}
_FAR = datetime.max.replace(tzinfo=UTC)
"""Later than any due time: what has none sorts after what has one."""


@dataclass(frozen=True)
class Duty:
    """Something this node owes: the action that discharges it, its article, when it is due."""

    action: str
    article: str
    due: datetime | None


@dataclass(frozen=True)
class Facts:
    """What the desk knows of one request, from its row and its ``OWED_EVENTS``."""

    direction: str
    kind: str
    state: str
    urgency: str
    received_at: datetime
    """When this node received it (incoming) or opened it (outgoing)."""
    events: Sequence[Event] = ()
    """Its ``OWED_EVENTS``, oldest first (others are ignored)."""
    deadline: date | None = None
    """The requesting State's reasoned deadline (40(25)), when the document gives one."""
    oral: bool = False
    """Made orally in an urgency, to be confirmed in writing (40(14))."""
    follow_up_decided: bool = False
    """A held preservation whose follow-up request is decided on this node (42)."""


@cache
def _articles(action: str, kind: str, side: str) -> dict[str, str]:
    """The states from which ``side`` may take ``action`` on a request of ``kind``, each with
    the article of that transition (the desk asks this 200 times a page: read once)."""
    found: dict[str, str] = {}
    for t in transitions_for(action, kind):
        if t.by == side:
            for state in t.from_:
                found.setdefault(state, t.article)
    return found


def _duty(action: str, facts: Facts, due: datetime | None) -> Duty | None:
    """The duty of ``action`` if the lifecycle lets this node take it in the request's state,
    with the lifecycle's article; None otherwise."""
    side = "requested" if facts.direction == "incoming" else "requesting"
    article = _articles(action, facts.kind, side).get(facts.state)
    return None if article is None else Duty(action, article, due)


def _earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def owed(facts: Facts, ack_target: timedelta | None) -> list[Duty]:
    """Everything this node owes on the request, the most pressing first (by due time; those
    without one after, in the order of the table above). ``ack_target``: the node's
    acknowledgement target for the request's urgency (None: no target, as for routine)."""
    ack_due = facts.received_at + ack_target if ack_target is not None else None
    deadline = (
        datetime.combine(facts.deadline, time.min, tzinfo=UTC)
        if facts.deadline is not None
        else None
    )
    wanted: list[tuple[str, datetime | None]] = []
    if facts.direction == "incoming":
        if facts.state == "received":
            wanted.append(("acknowledge", ack_due))
        if facts.kind == "preservation" and facts.state in ("acknowledged", "in_execution"):
            wanted.append(("record_preserved", _earliest(ack_due, deadline)))
        elif facts.state == "acknowledged":
            wanted.append(("start_execution", deadline))
            wanted.append(("answer_consultation", deadline))  # 22(5): no execution
        elif facts.state == "in_execution":
            wanted.append(("execute", deadline))
        if facts.state == "postponed":
            wanted.append(("resume", deadline))
        if _enquiry_unanswered(facts.events):
            wanted.append(("answer_status_enquiry", None))
        if _consent_unanswered(facts.events):
            wanted.append(("give_consent", None))
        if facts.kind == "preservation" and facts.state == "held" and facts.follow_up_decided:
            wanted.append(("release", None))
    else:
        wanted.append(("check" if facts.state == "draft" else "send", None))
        wanted.append(("provide_more_info", None))
        if facts.state == "preserved":
            wanted.append(("link_mla", preservation_expiry(facts.events)))
        wanted.append(("proceed_anyway", None))
        if proposed_conditions(facts.events) is not None:
            wanted.append(("accept_conditions", None))
        if facts.oral and not any(e.action == "confirm_in_writing" for e in facts.events):
            every = timedelta(hours=lifecycle().reminders.written_confirmation_hours)
            wanted.append(("confirm_in_writing", facts.received_at + every))
    duties = [d for action, due in wanted if (d := _duty(action, facts, due)) is not None]
    return sorted(duties, key=lambda d: d.due or _FAR) if len(duties) > 1 else duties


def _enquiry_unanswered(events: Sequence[Event]) -> bool:
    """The requesting State's last status enquiry came after this node's last answer."""
    return _unanswered(events, "status_enquiry", "answer_status_enquiry")


def _consent_unanswered(events: Sequence[Event]) -> bool:
    """A matter the requesting State asked consent for (40(19)) that this node has neither
    given nor declined consent for since."""
    waiting: list[str] = []
    for event in events:
        matter = event.params.get("matter", "")
        if event.action == "request_consent":
            waiting.append(matter)
        elif event.action in ("give_consent", "decline_consent"):
            waiting = [m for m in waiting if not same_matter(m, matter)]
    return bool(waiting)


def _unanswered(events: Sequence[Event], asked: str, answered: str) -> bool:
    """The other State's last ``asked`` came after this node's last ``answered``."""
    waiting = False
    for event in events:
        if event.action == asked:
            waiting = True
        elif event.action == answered:
            waiting = False
    return waiting


def overdue(duty: Duty | None, at: datetime) -> bool:
    return duty is not None and duty.due is not None and at > duty.due


def desk_order(duty: Duty | None, urgency: str, at: datetime) -> tuple[int, datetime, int]:
    """The desk's sort key for a request whose most pressing duty is ``duty`` (None: nothing
    owed): overdue first, then by due time, then what is owed with no due time, then done;
    within each, emergency before urgent before routine."""
    rank = URGENCY_RANK.get(urgency, len(URGENCY_RANK))
    if duty is None:
        return (3, _FAR, rank)
    if duty.due is None:
        return (2, _FAR, rank)
    return (0 if overdue(duty, at) else 1, duty.due, rank)
