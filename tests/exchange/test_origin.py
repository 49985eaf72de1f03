"""Origin binding, pure: what a node of the directory may claim in a message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hanoinet.exchange.directory import NodeEntry
from hanoinet.exchange.origin import (
    OriginRefused,
    check_peer,
    check_request,
    reference,
    request_uid,
    sender_roles,
    shown,
)
from hanoinet.registry.designations import Designation, Designations

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
NONE = Designations({}, illustrative=False)


def _node(node_id: str, state: str, *roles: str) -> NodeEntry:
    return NodeEntry(
        id=node_id,
        state=state,
        name=node_id,
        roles=roles,  # type: ignore[arg-type]
        endpoint="http://127.0.0.1:1",
        keys=(),
        valid_from=SINCE,
    )


ME = _node("xb-ca", "XB", "central_authority")


def _check(sender: NodeEntry, designations: Designations = NONE, **claims: object) -> None:
    claims = {
        "requesting_state": sender.state,
        "requested_state": "XB",
        "channel": "central_authority",
        "kind": "stored_data",
        **claims,
    }
    check_request(sender, ME, designations=designations, **claims)  # type: ignore[arg-type]


def _reason(sender: NodeEntry, designations: Designations = NONE, **claims: object) -> str:
    with pytest.raises(OriginRefused) as refused:
        _check(sender, designations, **claims)
    return refused.value.reason


def test_a_central_authority_sends_a_request_of_its_own_state_to_this_one() -> None:
    _check(_node("xa-ca", "XA", "central_authority"))
    _check(_node("xa-ca", "XA", "central_authority"), channel=None)  # no channel: 40(13)
    _check(
        _node("xa-247", "XA", "point_of_contact"), channel="point_of_contact", kind="preservation"
    )
    _check(_node("xa-247", "XA", "point_of_contact"), channel="interpol")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"requesting_state": "XC"}, "foreign_state"),
        ({"requesting_state": None}, "foreign_state"),
        ({"requested_state": "XC"}, "not_addressed_here"),
        ({"channel": "point_of_contact"}, "role_not_designated"),
        ({"channel": "law_enforcement"}, "role_not_designated"),
        ({"channel": "carrier pigeon"}, "role_not_designated"),
    ],
)
def test_what_a_central_authority_may_not_claim(claims: dict[str, object], reason: str) -> None:
    assert _reason(_node("xa-ca", "XA", "central_authority"), **claims) == reason


def test_an_extradition_authority_sends_extraditions_only() -> None:
    authority = _node("xa-ext", "XA", "extradition_authority")
    _check(authority, kind="extradition")
    assert _reason(authority, kind="stored_data") == "role_not_designated"
    assert sender_roles("central_authority", "extradition") == {
        "central_authority",
        "extradition_authority",
    }
    assert sender_roles("diplomatic", "stored_data") == {"central_authority"}


def test_a_channel_the_requesting_state_has_not_designated_is_refused() -> None:
    designations = Designations(
        {"XA": Designation(state="XA", channels=("central_authority",))}, illustrative=True
    )
    both = _node("xa-ca", "XA", "central_authority", "point_of_contact")
    _check(both, designations)
    assert (
        _reason(both, designations, channel="point_of_contact", kind="preservation")
        == "role_not_designated"
    )


def test_a_follow_up_comes_from_the_requests_peer() -> None:
    check_peer("xa-ca", "xa-ca", "u")
    for peer in ("xc-ca", None):
        with pytest.raises(OriginRefused) as refused:
            check_peer("xa-ca", peer, "u")
        assert refused.value.reason == "not_the_peer"


def test_explanations_never_echo_what_a_peer_chose() -> None:
    assert shown("XA") == "XA" and shown("fr") == "fr"
    assert shown("<b>x</b>") == shown(None) == shown("X" * 10_000) == "a malformed value"
    assert shown("0000000A-0000-4000-8000-000000000000") == "0000000a-0000-4000-8000-000000000000"
    sender = _node("xa-ca", "XA", "central_authority")
    with pytest.raises(OriginRefused) as refused:
        _check(sender, requesting_state="<script>")
    assert "script" not in refused.value.explanation


def test_a_request_id_is_a_uuid() -> None:
    assert request_uid({"request": "0000000A-0000-4000-8000-000000000000"}) == (
        "0000000a-0000-4000-8000-000000000000"
    )
    for body in ({}, {"request": 7}, {"request": "../x"}):
        with pytest.raises(OriginRefused) as refused:
            request_uid(body)
        assert refused.value.reason == "malformed_content"


def test_a_reference_is_a_short_plain_id_or_absent() -> None:
    assert reference({"request": "u"}) is None  # a node older than the field
    for ref in ("R-000001", "AU/2026-17", "x.y_z", "R" * 32):
        assert reference({"ref": ref}) == ref
    for bad in (None, 7, "", "R" * 33, "R 1", "R-1\n", "<b>", "R-1\u0000", ["R-1"]):
        with pytest.raises(OriginRefused) as refused:
            reference({"ref": bad})
        assert refused.value.reason == "malformed_content"
        assert "<b>" not in refused.value.explanation
