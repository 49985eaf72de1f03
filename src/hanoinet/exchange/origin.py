"""What a peer may say: the claims inside a verified envelope, checked against the directory.

A valid signature proves which node sent a message, not that its content may claim what it
claims. Before a message is applied, the receiving node checks (DESIGN, "A peer's message is
applied only after the directory says its sender may say what it says"):

- a new request: its requesting State is the sending node's State, its requested State is
  this node's, and the sending node holds the role that carries the request's channel
  (40(13) central authority, 41(1) 24/7 point of contact; 37 extradition authority for an
  extradition), on a channel the requesting State's designation names where it names any;
- a follow-up (notice, formal document, evidence offer): it comes from the request's
  recorded peer, and a request never changes peer (checked in ``services.federation``
  against the node's records, with the reason codes below).

Refusals raise :class:`OriginRefused`, an ``EnvelopeRejected`` whose ``reason`` goes in the
signed receipt; the explanation is built only from the directory and from values this
module has checked the form of, so nothing a peer chose is echoed back or logged as is.

Pure: the directory, the designations and the document come in as arguments.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Mapping
from typing import Any

from hanoinet.convention import convention
from hanoinet.convention.model import LANGUAGES
from hanoinet.errors import EnvelopeRejected
from hanoinet.exchange.directory import NodeEntry, Role
from hanoinet.registry.designations import Designations

REASONS = (
    "malformed_content",
    "foreign_state",
    "not_addressed_here",
    "role_not_designated",
    "not_the_peer",
    "duplicate_request",
)
"""Reason codes of a receipt that refuses what a verified message claims (docs/exchange.md)."""

CHANNEL_ROLE: dict[str, Role] = {
    "central_authority": "central_authority",
    "point_of_contact": "point_of_contact",
    "interpol": "point_of_contact",
    "diplomatic": "central_authority",
    "law_enforcement": "point_of_contact",
}
"""The directory role that carries each channel of cooperation.forms (40(13), 41(1))."""

DEFAULT_CHANNEL = "central_authority"
"""A request that names no channel goes to, and comes from, a central authority (40(13))."""

MESSAGE_TYPES = ("request", "notice", "document", "evidence")
"""The types of message a node takes (``hn_type``, docs/exchange.md)."""

_STATE = re.compile(r"[A-Z]{2}\Z")
REFERENCE = re.compile(r"[A-Za-z0-9._/-]{1,32}\Z")
"""What a node's own reference of a request looks like (``ref`` in a message: R-000001)."""


class OriginRefused(EnvelopeRejected):
    """A verified message claims what its sender may not say; ``reason`` is one of REASONS
    and ``explanation`` a sentence safe to show the supervisor and to audit."""

    code = "origin_refused"

    def __init__(self, reason: str, explanation: str) -> None:
        super().__init__(reason, explanation)
        self.explanation = explanation


def shown(value: object) -> str:
    """A claimed value as it may appear in an explanation: a State code, a UUID or a language
    code as it is; anything else only as "a malformed value" (never echoed)."""
    text = value if isinstance(value, str) else ""
    if _STATE.match(text) or text in LANGUAGES:
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return "a malformed value"


def shown_type(value: str) -> str:
    """A message type as it may be audited: one this node takes, or "other"."""
    return value if value in MESSAGE_TYPES else "other"


def request_uid(body: Mapping[str, Any]) -> str:
    """The request id a message names (the sender's ``uid``, a UUID); refused otherwise."""
    value = body.get("request")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(value))
    raise OriginRefused("malformed_content", "the message names no request id (a UUID)")


def reference(body: Mapping[str, Any]) -> str | None:
    """The sender's own reference of the request (``ref``: 1 to 32 letters, digits and
    ``._/-``), or None when the message carries none (a node older than the field); any
    other value refuses the message."""
    if "ref" not in body:
        return None
    value = body["ref"]
    if isinstance(value, str) and REFERENCE.match(value):
        return value
    raise OriginRefused(
        "malformed_content",
        "the message's reference (ref) is not 1 to 32 letters, digits, '.', '_', '/' or '-'",
    )


def sender_roles(channel: str, form_key: str) -> frozenset[Role]:
    """The directory roles that may send a request of ``form_key`` by ``channel``."""
    role = CHANNEL_ROLE.get(channel)
    if role is None:
        return frozenset()
    form = convention().forms.get(form_key)
    if form is not None and form.scope == "extradition" and role == "central_authority":
        return frozenset({role, "extradition_authority"})
    return frozenset({role})


def check_request(
    sender: NodeEntry,
    me: NodeEntry,
    *,
    requesting_state: object,
    requested_state: object,
    channel: object,
    kind: str,
    designations: Designations,
) -> None:
    """Refuse a new request that ``sender`` may not send to ``me``; return if it may."""
    if requesting_state != sender.state:
        raise OriginRefused(
            "foreign_state",
            f"node {sender.id} of {sender.state} sent a request in the name of "
            f"{shown(requesting_state)}",
        )
    if requested_state != me.state:
        raise OriginRefused(
            "not_addressed_here",
            f"the request is addressed to {shown(requested_state)}; this node is of {me.state}",
        )
    used = channel if isinstance(channel, str) and channel else DEFAULT_CHANNEL
    allowed = sender_roles(used, kind)
    if not allowed & set(sender.roles):
        need = " or ".join(sorted(allowed)) or "no role (unknown channel)"
        raise OriginRefused(
            "role_not_designated",
            f"node {sender.id} is listed as {', '.join(sender.roles) or 'no role'}; a {kind} "
            f"request by the {used} channel comes from a {need}",
        )
    designation = designations.get(sender.state)
    if designation is not None and designation.channels and used not in designation.channels:
        raise OriginRefused(
            "role_not_designated",
            f"{sender.state} has designated no {used} channel "
            f"(it names {', '.join(designation.channels)})",
        )


def check_peer(sender: str, peer: str | None, uid: str) -> None:
    """Refuse a follow-up of request ``uid`` unless it comes from the request's peer. An
    unknown request and another node's request get the same answer."""
    if peer is None or peer != sender:
        raise OriginRefused(
            "not_the_peer", f"no request {uid} is exchanged between this node and {sender}"
        )
