"""Who may do what on a node: roles, permissions, and which requests each role sees.

Pure: no database, no web. The web desk, the API and the CLI ask the same
questions here, and the case service turns a ``Scope`` into a query filter, so
a request a role may not see is never loaded, listed, counted or named in an
error (an unknown id and a forbidden id get the same answer).

Roles (issue 6; least privilege):

- ``duty_officer`` (24/7 desk, art. 41): the requests that travel through the
  24/7 network (forms whose channels include the point of contact) and every
  urgent or emergency request; acts on them.
- ``central_authority_officer`` (art. 40(13)): every request of the node; acts; reads the
  statistics and exports the signed report for the Conference of the States Parties
  (arts 55, 57; the supervisor too).
- ``requester`` (investigator or prosecutor): drafts requests and follows the
  cases they opened; acts only on those, and only as the requesting State.
- ``supervisor``: reads every request, the audit log and the statistics; approves outgoing requests
  before they are sent when the node's policy asks it (``HANOINET_APPROVAL``, node policy
  rather than a duty of the Convention: cases/approval.py), never a request whose case it
  opened; takes no other action.
- ``node_admin``: users, API tokens, keys and designations; no case content.

Statistics hold no case content, but they are the node's working figures, published only
when the State decides (``stats.export``): the duty officer and the requester, who have no
part in reporting, do not read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hanoinet.convention import convention

Role = Literal["node_admin", "supervisor", "central_authority_officer", "duty_officer", "requester"]
ROLES: tuple[Role, ...] = (
    "node_admin",
    "supervisor",
    "central_authority_officer",
    "duty_officer",
    "requester",
)
Permission = Literal[
    "desk",  # the 24/7 queue page
    "cases.read",
    "cases.create",
    "cases.act",
    "cases.approve",  # a supervisor's approval before an outgoing request is sent (node policy)
    "audit.read",
    "stats.read",  # the node's statistics: counts, times and codes, no case content
    "stats.export",  # the signed report that leaves the node (audited)
    "users.manage",
    "tokens.manage",
]
_GRANTS: dict[Role, frozenset[Permission]] = {
    "node_admin": frozenset({"users.manage", "tokens.manage"}),
    "supervisor": frozenset(
        {"desk", "cases.read", "cases.approve", "audit.read", "stats.read", "stats.export"}
    ),
    "central_authority_officer": frozenset(
        {"desk", "cases.read", "cases.create", "cases.act", "stats.read", "stats.export"}
    ),
    "duty_officer": frozenset({"desk", "cases.read", "cases.create", "cases.act"}),
    "requester": frozenset({"cases.read", "cases.create", "cases.act"}),
}
_READS: frozenset[Permission] = frozenset({"desk", "cases.read", "audit.read", "stats.read"})
"""What a ``read`` API token may do; every other permission changes something: ``act``."""
URGENT = ("emergency", "urgent")
OPENERS_NEEDING_APPROVAL: tuple[Role, ...] = ("requester",)
"""Whose cases the ``requester`` approval policy (HANOINET_APPROVAL) holds for approval:
investigators and prosecutors."""
Scopes = Literal["read", "act"]
"""What an API token may do beyond its user's role: ``read`` only, or ``act`` too."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person logged in, or a system with an API token (acting as a user)."""

    username: str
    role: Role
    token_scopes: frozenset[Scopes] | None = None
    """None for a person; for an API token, what the token allows."""

    @property
    def actor(self) -> str:
        """The name written in events and the audit log."""
        return self.username if self.token_scopes is None else f"{self.username} (API token)"


@dataclass(frozen=True)
class Scope:
    """Which requests of the node a principal sees. Exactly one shape applies."""

    everything: bool = False
    created_by: str | None = None
    """Only the cases this user opened."""
    desk_kinds: frozenset[str] | None = None
    """The 24/7 desk: these forms, and any urgent or emergency request."""

    @property
    def nothing(self) -> bool:
        return not self.everything and self.created_by is None and self.desk_kinds is None


def permissions(role: Role) -> frozenset[Permission]:
    return _GRANTS[role]


def can(principal: Principal, permission: Permission) -> bool:
    if permission not in _GRANTS[principal.role]:
        return False
    if principal.token_scopes is None:
        return True
    needed: Scopes = "read" if permission in _READS else "act"
    return needed in principal.token_scopes


def desk_kinds() -> frozenset[str]:
    """The forms that travel through the 24/7 network (from the Convention data)."""
    return frozenset(
        key for key, form in convention().forms.items() if "point_of_contact" in form.channels
    )


def scope(principal: Principal) -> Scope:
    if not can(principal, "cases.read"):
        return Scope()
    if principal.role in ("central_authority_officer", "supervisor"):
        return Scope(everything=True)
    if principal.role == "duty_officer":
        return Scope(desk_kinds=desk_kinds())
    return Scope(created_by=principal.username)


def sees(principal: Principal, *, kind: str, urgency: str, case_created_by: str) -> bool:
    """The same rule as ``scope``, for one request already in hand."""
    s = scope(principal)
    if s.everything:
        return True
    if s.created_by is not None:
        return case_created_by == s.created_by
    if s.desk_kinds is not None:
        return urgency in URGENT or kind in s.desk_kinds
    return False


def may_act(principal: Principal, *, direction: str) -> bool:
    """Whether the principal may take actions on a request it sees. A requester acts only as
    the requesting State (on outgoing requests); the other acting roles on any."""
    if not can(principal, "cases.act"):
        return False
    return principal.role != "requester" or direction == "outgoing"


def may_take(principal: Principal, action: str, *, direction: str) -> bool:
    """Whether the principal may take ``action`` on a request it sees: ``approve`` is the
    supervisor's (``cases.approve``), on outgoing requests only; every other action is
    ``may_act``'s."""
    if action == "approve":
        return direction == "outgoing" and can(principal, "cases.approve")
    return may_act(principal, direction=direction)


def refusal(principal: Principal, action: str, *, direction: str, request_id: str) -> str:
    """Why ``may_take`` says no, in words that say what to do instead."""
    approver = "cases.approve" in _GRANTS[principal.role]
    if principal.token_scopes is not None and "act" not in principal.token_scopes:
        return f"this API token only reads: '{action}' needs a token with the act scope"
    if action == "approve":
        if approver:
            return (
                f"request {request_id} is {direction}: only a request this node sends is "
                "approved before it leaves (node policy)"
            )
        return (
            f"your role ({principal.role}) does not approve requests: a supervisor approves an "
            f"outgoing request before it is sent (node policy, HANOINET_APPROVAL); ask one to "
            f"approve {request_id}"
        )
    if approver:
        return (
            f"your role ({principal.role}) does not take actions on {direction} request "
            f"{request_id}: it reads requests and approves outgoing ones before they are sent"
        )
    return f"your role ({principal.role}) does not take actions on {direction} request {request_id}"


def may_create(principal: Principal, *, direction: str) -> bool:
    """A requester drafts requests to send; recording a received one by hand is for the
    officers who receive them."""
    if not can(principal, "cases.create"):
        return False
    return principal.role != "requester" or direction == "outgoing"
