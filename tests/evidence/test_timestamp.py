"""RFC 3161 time-stamps on a package's signature (issue 26 item 4), against a real TSA on
loopback (certomancer, the ``tsa`` fixture of tests/conftest.py).

The backdating scene of test_receipt.py again: XA's signing key is revoked after T0; a thief
packs after that, dating the package T0. The TSA stamps when it is asked, which is now: the
stamp shows the package was made after the revocation.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hanoinet.evidence import package as pkg
from hanoinet.evidence import timestamp
from hanoinet.exchange.directory import Directory

from .conftest import T0, World, _entry

Make = Callable[..., pkg.Packed]
DIGEST = hashlib.sha256(b"a package's signature").digest()


def _roots(path: Path) -> list[Any]:
    return timestamp.load_roots(path)


def test_a_token_from_the_tsa_validates_and_says_when_and_who(tsa: Any) -> None:
    before = datetime.now(UTC)
    token = timestamp.request(tsa.url, DIGEST)
    stamped = timestamp.verify(token, DIGEST, _roots(tsa.root_pem))
    assert stamped.tsa == "Test TSA (hanoinet tests)"
    assert before - timedelta(seconds=5) <= stamped.at <= datetime.now(UTC) + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("another digest", "timestamp_mismatch"),
        ("another root", "timestamp_untrusted"),
        ("no root", "timestamp_untrusted"),
        ("no time-stamping purpose", "timestamp_untrusted"),
        ("a flipped byte", "timestamp_forged"),
        ("not a token", "timestamp_malformed"),
        ("too large", "timestamp_malformed"),
    ],
)
def test_a_token_that_does_not_hold_is_named(tsa: Any, case: str, code: str) -> None:
    url = tsa.url_without_purpose if case == "no time-stamping purpose" else tsa.url
    token = timestamp.request(url, DIGEST)
    digest, roots = DIGEST, _roots(tsa.root_pem)
    if case == "another digest":
        digest = hashlib.sha256(b"another signature").digest()
    elif case == "another root":
        roots = _roots(tsa.other_root_pem)
    elif case == "no root":
        roots = []
    elif case == "a flipped byte":
        token = token[:-5] + bytes([token[-5] ^ 1]) + token[-4:]
    elif case == "not a token":
        token = b"0\x03\x02\x01\x00"
    elif case == "too large":
        token = token + b"\0" * timestamp.MAX_TOKEN
    with pytest.raises(timestamp.TimestampInvalid) as refused:
        timestamp.verify(token, digest, roots)
    assert refused.value.code == code, refused.value.message


def test_a_tsa_out_of_reach_is_said() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there once closed
    with pytest.raises(timestamp.TimestampFailed, match=f"127.0.0.1:{port}"):
        timestamp.request(f"http://127.0.0.1:{port}/tsa", DIGEST)


def test_load_roots_names_a_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    bad = tmp_path / "root.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"root\.pem: not a certificate"):
        timestamp.load_roots(bad)
    with pytest.raises(ValueError, match=r"missing\.pem"):
        timestamp.load_roots(tmp_path / "missing.pem")


def _revoked_at(world: World, revoked: datetime) -> Directory:
    xa = _entry("xa-central", world.sender_keys)
    kid = world.sender_keys.active("sig", T0).kid
    keys = tuple(k.model_copy(update={"revoked": revoked}) if k.kid == kid else k for k in xa.keys)
    return Directory(
        version=2,
        issued_at=T0 + timedelta(days=2),
        valid_until=T0 + timedelta(days=3650),
        nodes=(xa.model_copy(update={"keys": keys}), _entry("xb-central", world.receiver_keys)),
    )


def _verify(world: World, packed: pkg.Packed, directory: Directory, **kw: Any) -> pkg.Verification:
    return pkg.verify(
        packed.path,
        trust=pkg.Trust({}, directory=directory),
        identities=world.identities(world.receiver_keys),
        validate_case=False,
        **kw,
    )


def test_a_stamped_package_is_anchored_by_its_stamp_and_a_backdated_one_refused(
    world: World, make_package: Make, evidence_files: Path, tsa: Any, tmp_path: Path
) -> None:
    packed = make_package(  # says T0, stamped now
        [evidence_files],
        out=tmp_path / "stamped.age",
        timestamper=lambda digest: timestamp.request(tsa.url, digest),
    )
    roots = _roots(tsa.root_pem)
    # Sound: the key is valid at the stamp's time; the stamp is the anchor reported.
    sound = _verify(world, packed, _revoked_at(world, datetime.now(UTC) + timedelta(days=1)),
                    tsa_roots=roots)  # fmt: skip
    assert sound.ok, sound.problems
    assert sound.anchor is not None and sound.anchor.kind == "timestamp"
    assert sound.anchor.by == "Test TSA (hanoinet tests)"
    assert sound.as_dict()["anchor"]["kind"] == "timestamp"
    # Backdated: revoked a day after T0, the package's claim; the TSA stamped it since.
    revoked = _revoked_at(world, T0 + timedelta(days=1))
    alone = _verify(world, packed, revoked)
    assert alone.ok and alone.anchor is not None and alone.anchor.kind == "signer"
    signature = next(c for c in alone.checks if c.name == "signature")
    assert "a time-stamp is in the package, not checked" in signature.detail
    anchored = _verify(world, packed, revoked, tsa_roots=roots)
    assert {p.code for p in anchored.problems} == {"key_revoked"}
    assert "time-stamped by Test TSA (hanoinet tests)" in anchored.problems[0].message
    # A stamp by a TSA the verifier does not trust is a problem, not an anchor.
    untrusted = _verify(world, packed, revoked, tsa_roots=_roots(tsa.other_root_pem))
    assert {(p.code, p.where) for p in untrusted.problems} == {
        ("timestamp_untrusted", timestamp.NAME)
    }


def test_a_tsa_that_does_not_answer_leaves_no_package(
    make_package: Make, evidence_files: Path, tmp_path: Path
) -> None:
    def failing(digest: bytes) -> bytes:
        raise timestamp.TimestampFailed("the time-stamping authority http://tsa.test did not stamp")

    with pytest.raises(timestamp.TimestampFailed):
        make_package([evidence_files], out=tmp_path / "never.age", timestamper=failing)
    assert not list(tmp_path.glob("never.age*"))
