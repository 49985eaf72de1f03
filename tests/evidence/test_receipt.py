"""Time a signer cannot backdate (issue 26 item 4): the receiving node's signed receipt, and
the backdating it defeats.

The scene: XA's signing key is revoked at R (it was stolen). The thief packs evidence after
R and dates it before R. By the signer's clock alone the package verifies (that is the limit
docs/evidence.md states); anchored to a receipt or to its arrival, it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from hanoinet.evidence import package as pkg
from hanoinet.evidence.receipt import (
    MAX_TOKEN,
    SKEW,
    Anchor,
    ReceiptRefused,
    make_receipt,
    signature_digest,
    verify_receipt,
)
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory

from .conftest import T0, World, _entry

Make = Callable[..., pkg.Packed]
REVOKED = T0 + timedelta(days=1)


def _directory(world: World, *, revoked: bool) -> Directory:
    """The newest directory: with XA's signing key revoked at REVOKED, or before that."""
    xa = _entry("xa-central", world.sender_keys)
    if revoked:
        kid = world.sender_keys.active("sig", T0).kid
        xa = xa.model_copy(
            update={
                "keys": tuple(
                    k.model_copy(update={"revoked": REVOKED}) if k.kid == kid else k
                    for k in xa.keys
                )
            }
        )
    return Directory(
        version=2,
        issued_at=T0 + timedelta(days=2),
        valid_until=T0 + timedelta(days=90),
        nodes=(xa, _entry("xb-central", world.receiver_keys)),
    )


def _token(world: World, directory: Directory) -> str:
    return dirmod.issue(directory, world.authority_key, world.authority_kid).token


def _receipt(world: World, packed: pkg.Packed, received_at: object, **change: str) -> str:
    sig = world.receiver_keys.active("sig", T0)
    claims = {
        "package": packed.package_id,
        "request": "0d1f6a7e-0000-4000-8000-000000000001",
        "sender": "xa-central",
        "receiver": "xb-central",
        "sha256": "0" * 64,
        "signature_sha256": change.pop("signature_sha256", ""),
    } | change
    return make_receipt(
        **claims,  # type: ignore[arg-type]
        received_at=received_at,  # type: ignore[arg-type]
        kid=sig.kid,
        key=sig.key,
        at=received_at,  # type: ignore[arg-type]
    )


def _signature(world: World, packed: pkg.Packed) -> str:
    """The SHA-256 of the package's own signature, as a receiving node reads it."""
    first = pkg.verify(
        packed.path,
        trust=world.trust,
        identities=world.identities(world.receiver_keys),
        validate_case=False,
    )
    return signature_digest(first.tags[pkg.SIGNATURE].decode("ascii"))


def _verify(
    world: World, packed: pkg.Packed, directory: Directory, **kw: object
) -> pkg.Verification:
    return pkg.verify(
        packed.path,
        trust=pkg.Trust({}, directory=directory),
        identities=world.identities(world.receiver_keys),
        validate_case=False,
        **kw,  # type: ignore[arg-type]
    )


def _codes(result: pkg.Verification) -> set[str]:
    return {p.code for p in result.problems}


def test_a_backdated_package_is_refused_once_a_receipt_shows_when_it_existed(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    # Made (by the signer's clock) at T0, before the revocation: the thief's claim.
    packed = make_package([evidence_files])
    newest = _directory(world, revoked=True)
    alone = _verify(world, packed, newest)
    assert alone.ok  # the signer's clock says T0 < REVOKED: the limit of a signer's own time
    assert alone.anchor == Anchor("signer", T0, "xa-central")
    # The receiving node first held it after the revocation: its receipt says so.
    after = REVOKED + timedelta(hours=3)
    receipt = _receipt(world, packed, after, signature_sha256=_signature(world, packed))
    anchored = _verify(world, packed, newest, receipts=[receipt])
    assert not anchored.ok
    assert _codes(anchored) == {"key_revoked"}
    [problem] = anchored.problems
    assert "revoked at" in problem.message and "received by xb-central" in problem.message
    assert anchored.anchor is not None and anchored.anchor.kind == "receipt"
    assert anchored.as_dict()["anchor"] == {
        "kind": "receipt", "at": after.isoformat(), "by": "xb-central"
    }  # fmt: skip
    # The receiving node verifying on arrival refuses it the same way, with no receipt yet.
    arriving = _verify(world, packed, newest, arrival=Anchor("arrival", after, "xb-central"))
    assert _codes(arriving) == {"key_revoked"}


def test_a_package_received_before_the_revocation_stays_valid_and_says_why(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    before = T0 + timedelta(hours=2)
    receipt = _receipt(world, packed, before, signature_sha256=_signature(world, packed))
    result = _verify(world, packed, _directory(world, revoked=True), receipts=[receipt])
    assert result.ok, result.problems
    assert result.anchor is not None and (result.anchor.kind, result.anchor.at) == (
        "receipt",
        before,
    )
    signature = next(c for c in result.checks if c.name == "signature")
    assert "received by xb-central at" in signature.detail


def test_a_package_dated_after_its_receipt_is_refused(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])  # says T0
    early = T0 - timedelta(hours=1)  # but the receiver held it an hour before
    receipt = _receipt(world, packed, early, signature_sha256=_signature(world, packed))
    result = _verify(world, packed, _directory(world, revoked=False), receipts=[receipt])
    assert _codes(result) == {"created_after_anchor"}
    within = T0 - SKEW + timedelta(minutes=1)  # clocks differ a little: that passes
    receipt = _receipt(world, packed, within, signature_sha256=_signature(world, packed))
    assert _verify(world, packed, _directory(world, revoked=False), receipts=[receipt]).ok


def test_a_receipt_for_another_package_or_signature_or_forged_is_named(
    world: World, make_package: Make, evidence_files: Path
) -> None:
    packed = make_package([evidence_files])
    directory = _directory(world, revoked=False)
    signature = _signature(world, packed)
    later = T0 + timedelta(hours=1)
    other = _receipt(world, packed, later, signature_sha256="f" * 64)
    result = _verify(world, packed, directory, receipts=[other])
    assert _codes(result) == {"receipt_mismatch"}
    assert result.problems[0].where == "receipt"
    good = _receipt(world, packed, later, signature_sha256=signature)
    head, body, _sig = good.split(".")
    forged = (
        f"{head}.{body}.{_receipt(world, packed, T0, signature_sha256=signature).split('.')[2]}"
    )
    assert _codes(_verify(world, packed, directory, receipts=[forged])) == {"receipt_forged"}
    with pytest.raises(ReceiptRefused) as refused:
        verify_receipt("x" * (MAX_TOKEN + 1), directory)
    assert refused.value.code == "malformed"
    # A receipt signed with the sender's key, naming the receiver: not the receiver's.
    sig = world.sender_keys.active("sig", T0)
    impostor = make_receipt(
        package=packed.package_id, request="r", sender="xa-central", receiver="xb-central",
        sha256="0" * 64, signature_sha256=signature, received_at=later, kid=sig.kid,
        key=sig.key, at=later,
    )  # fmt: skip
    with pytest.raises(ReceiptRefused) as refused:
        verify_receipt(impostor, directory)
    assert refused.value.code == "forged" and "xa-central's" in refused.value.message
    assert _verify(world, packed, directory, receipts=[good]).ok
