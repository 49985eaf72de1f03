"""The node's approval step: a supervisor approves an outgoing request before it is sent.

Node policy, not a duty of the Convention. Article 40(13) makes the central authority
responsible for transmitting requests; whether a supervisor approves a request before it
leaves is each node's own control, set by ``HANOINET_APPROVAL`` (docs/settings.md):

- ``none``: no approval step;
- ``requester`` (the default): requests whose case was opened by an investigator or
  prosecutor (a node user with the ``requester`` role);
- ``all``: every outgoing request.

Pure: the case service fills in an ``Approval`` from the setting and the case's opener; the
guards (``approved_if_required`` on ``send``, ``awaiting_approval`` and ``not_the_opener`` on
``approve``) read it and the request's events. An approval counts only for the text it
approved: an ``edit`` or a new ``check`` after it asks for a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from hanoinet.cases.lifecycle import Event

Policy = Literal["none", "requester", "all"]
POLICIES: tuple[Policy, ...] = ("none", "requester", "all")
DEFAULT_POLICY: Policy = "requester"
POLICY_TEXT: dict[Policy, str] = {
    "none": "no approval step",
    "requester": "requests whose case an investigator or prosecutor (role requester) opened",
    "all": "every outgoing request",
}
"""What each policy asks a supervisor to approve, for messages."""
INVALIDATING = ("edit", "check")
"""Events after which an earlier approval no longer counts."""


@dataclass(frozen=True)
class Approval:
    """What the node's approval policy asks of one request, as data (the core never reads
    settings): the policy, who opened the case, and who asks for the action now."""

    policy: Policy = "none"
    opened_by: str | None = None
    """Who opened the case (its ``created_by``)."""
    opened_by_requester: bool = False
    """The case was opened by a node user with the requester role (investigator, prosecutor)."""
    asked_by: str | None = None
    """Who asks for the action now: a node user's name, or the command line's user."""

    @property
    def required(self) -> bool:
        """Whether a supervisor must approve the request before it is sent."""
        return self.policy == "all" or (self.policy == "requester" and self.opened_by_requester)

    @property
    def describe(self) -> str:
        return f"this node's policy (HANOINET_APPROVAL={self.policy}: {POLICY_TEXT[self.policy]})"


def standing_approval(events: Sequence[Event]) -> Event | None:
    """The approval that counts for the text as it is now: an ``approve`` after the last
    ``edit`` or ``check`` (an approval of an older text never counts), or None."""
    for event in reversed(events):
        if event.action == "approve":
            return event
        if event.action in INVALIDATING:
            return None
    return None


def lapsed_approval(events: Sequence[Event]) -> tuple[Event, Event] | None:
    """The last approval that no longer counts and the first edit or check after it."""
    later: Event | None = None
    for event in reversed(events):
        if event.action in INVALIDATING:
            later = event
        elif event.action == "approve":
            return (event, later) if later is not None else None
    return None
