"""A node's X25519 JWK as an age recipient and identity: the standard age tool agrees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyrage
import pytest

from hanoinet.evidence import agekeys
from hanoinet.exchange import crypto


def test_recipient_and_identity_round_trip() -> None:
    jwk = crypto.private_jwk(crypto.generate_encryption_key())
    assert agekeys.recipient_string(jwk).startswith("age1")
    assert agekeys.identity_string(jwk).startswith("AGE-SECRET-KEY-1")
    sealed = pyrage.encrypt(b"evidence", [agekeys.recipient(jwk)])
    assert pyrage.decrypt(sealed, [agekeys.identity(jwk)]) == b"evidence"


def test_the_age_tool_derives_the_same_recipient_from_the_identity(tmp_path: Path) -> None:
    jwk = crypto.private_jwk(crypto.generate_encryption_key())
    identity = tmp_path / "key.txt"
    identity.write_text(agekeys.identity_string(jwk) + "\n")
    derived = subprocess.run(
        ["age-keygen", "-y", str(identity)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert derived == agekeys.recipient_string(jwk)


def test_a_signing_key_is_not_an_age_key() -> None:
    with pytest.raises(ValueError, match="X25519"):
        agekeys.recipient_string(crypto.private_jwk(crypto.generate_signing_key()))


def test_a_public_key_has_no_identity() -> None:
    public = crypto.public_jwk(crypto.generate_encryption_key())
    with pytest.raises(ValueError, match="'d'"):
        agekeys.identity_string(public)
