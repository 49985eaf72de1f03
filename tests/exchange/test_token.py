"""Keys in a PKCS#11 token (SoftHSM2, a real module): made inside, never out, signing through
it for messages, certificates and documents; clear errors when the token cannot serve."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hanoinet.exchange import crypto
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.token import Token, TokenFailure, TokenKey, TokenSettings, open_token

from ..conftest import SPARE_TOKEN

PASSPHRASE = "a node passphrase, long enough"


@pytest.fixture
def token(softhsm: TokenSettings) -> Token:
    return open_token(softhsm)


def _session(settings: TokenSettings) -> object:
    import pkcs11

    lib = pkcs11.lib(str(settings.module))
    return lib.get_token(token_label=settings.label).open()  # the process is logged in


def test_a_signing_key_is_made_in_the_token_and_never_leaves_it(
    token: Token, softhsm: TokenSettings
) -> None:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import AttributeSensitive

    ref, jwk = token.generate("sig")
    assert set(jwk) == {"kty", "crv", "x"}  # the public key only
    session = _session(softhsm)
    with session:  # type: ignore[attr-defined]
        private = session.get_key(  # type: ignore[attr-defined]
            object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(ref)
        )
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(AttributeSensitive):
            private[Attribute.VALUE]
    message = crypto.sign({"kid": "k"}, b"payload", TokenKey(token, ref, "sig"))
    assert crypto.verify(message, crypto.import_key(jwk)).payload == b"payload"
    other = crypto.import_key(token.generate("sig")[1])
    with pytest.raises(crypto.CryptoFailure):
        crypto.verify(message, other)


def test_a_document_key_signs_ecdsa_p256_over_sha256(token: Token) -> None:
    ref, jwk = token.generate("doc")
    public = crypto.import_document_key(jwk).public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = token.sign(ref, "doc", b"a certificate to be")
    public.verify(signature, b"a certificate to be", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"another one", ec.ECDSA(hashes.SHA256()))


def test_an_encryption_key_is_never_made_in_the_token(token: Token) -> None:
    with pytest.raises(TokenFailure, match="only sig and doc"):
        token.generate("enc")


def test_a_key_set_keeps_only_the_public_part_and_the_token_id(
    token: Token, t0: datetime, tmp_path: Path
) -> None:
    keys = KeySet.generate(t0, token)
    sig, enc, doc = (keys.active(u, t0) for u in ("sig", "enc", "doc"))  # type: ignore[arg-type]
    assert (sig.kept_in, doc.kept_in, enc.kept_in) == ("token", "token", "file")
    stored = json.loads(keys.to_json())["keys"]
    for item in stored:
        assert ("d" in item["jwk"]) is (item["use"] == "enc"), item["use"]
        assert ("token" in item) is (item["use"] != "enc")
    keys.save(tmp_path / "keys.jwe", PASSPHRASE)
    loaded = KeySet.load(tmp_path / "keys.jwe", PASSPHRASE, token)
    assert loaded.public() == keys.public()
    signed = crypto.sign({"kid": sig.kid}, b"x", loaded.active("sig", t0).signing_key)
    assert crypto.verify(signed, crypto.import_key(sig.private)).payload == b"x"
    with pytest.raises(crypto.CryptoFailure, match="in the token"):
        loaded.active("sig", t0).key  # noqa: B018  (the private key is not here to take)


def test_a_key_set_loaded_without_its_token_says_what_to_configure(
    token: Token, t0: datetime, tmp_path: Path
) -> None:
    keys = KeySet.generate(t0, token)
    keys.save(tmp_path / "keys.jwe", PASSPHRASE)
    alone = KeySet.load(tmp_path / "keys.jwe", PASSPHRASE)
    with pytest.raises(TokenFailure, match="HANOINET_PKCS11_MODULE"):
        crypto.sign({"kid": "k"}, b"x", alone.active("sig", t0).signing_key)
    enc = alone.active("enc", t0)  # decryption needs no token
    assert crypto.decrypt(crypto.encrypt({}, b"secret", enc.key), enc.key).payload == b"secret"


def test_rotation_moves_a_file_key_into_the_token_and_revocation_works_as_before(
    token: Token, t0: datetime
) -> None:
    keys = KeySet.generate(t0)
    assert keys.active("sig", t0).kept_in == "file"
    later = t0 + timedelta(days=1)
    rotated = keys.rotate("sig", later, timedelta(days=14), token)
    new, old = rotated.active("sig", later), keys.active("sig", t0)
    assert new.kept_in == "token" and new.kid != old.kid
    assert rotated.get(old.kid).valid_at(later + timedelta(days=13))  # type: ignore[union-attr]
    revoked = rotated.revoke(new.kid, later + timedelta(hours=1))
    assert revoked.active("sig", later + timedelta(hours=2)).kid == old.kid
    again = revoked.rotate("enc", later, timedelta(days=1), token)
    assert again.newest_valid("enc", later).kept_in == "file"  # type: ignore[union-attr]


def test_the_token_answers_whether_it_holds_a_key(token: Token) -> None:
    ref, _ = token.generate("sig")
    assert token.holds(ref) is True
    assert token.holds("00" * 16) is False
    with pytest.raises(TokenFailure, match="holds no private key with id"):
        token.sign("00" * 16, "sig", b"x")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"label": SPARE_TOKEN, "pin": "wrong-pin"}, "the PIN of token 'hanoinet-spare' is wrong"),
        ({"label": "no-such-token"}, "no token labelled 'no-such-token'.*hanoinet-test"),
        ({"module": Path("/nonexistent/libpkcs11.so")}, "no such file"),
    ],
)
def test_a_token_that_cannot_serve_says_why(
    softhsm: TokenSettings, change: dict[str, object], expected: str
) -> None:
    settings = TokenSettings(
        **{"module": softhsm.module, "label": softhsm.label, "pin": softhsm.pin, **change}  # type: ignore[arg-type]
    )
    with pytest.raises(TokenFailure, match=expected) as refused:
        Token(settings).sign("00" * 16, "sig", b"x")
    assert settings.pin not in str(refused.value)


def test_a_lost_session_is_replaced_at_the_next_use(token: Token) -> None:
    """A token restarted or re-inserted: the session hanoinet held is gone; the next signature
    and the next readiness probe open a new one instead of failing until a restart."""
    ref, jwk = token.generate("sig")
    token.sign(ref, "sig", b"before")
    token._session.close()  # the session ends under hanoinet's feet
    signature = token.sign(ref, "sig", b"after")
    public = crypto.import_key(jwk).public_key
    public.verify(signature, b"after")  # type: ignore[union-attr]
    token._session.close()
    assert token.holds(ref) is True


def test_a_wrong_pin_is_not_tried_again(
    softhsm: TokenSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens lock a PIN after a few wrong tries: one refusal, then no more logins."""
    import pkcs11

    wrong = Token(TokenSettings(softhsm.module, SPARE_TOKEN, "wrong-pin"))
    with pytest.raises(TokenFailure, match="is wrong"):
        wrong.sign("00" * 16, "sig", b"x")

    def no_more(*_: object) -> None:
        raise AssertionError("the module was asked again")

    monkeypatch.setattr(pkcs11, "lib", no_more)
    with pytest.raises(TokenFailure, match="not tried again until hanoinet restarts"):
        wrong.sign("00" * 16, "sig", b"x")
    assert wrong.holds("00" * 16) is False


def test_one_token_per_process_and_no_second_pin_for_it(softhsm: TokenSettings) -> None:
    assert open_token(softhsm) is open_token(
        TokenSettings(softhsm.module, softhsm.label, softhsm.pin)
    )
    with pytest.raises(TokenFailure, match="already open in this process with another PIN"):
        open_token(TokenSettings(softhsm.module, softhsm.label, "another"))


@pytest.mark.parametrize(
    ("raw", "size", "expected"),
    [
        (b"\x04\x20" + bytes(range(32)), 32, bytes(range(32))),  # DER, PKCS#11 2.40
        (bytes(range(32)), 32, bytes(range(32))),  # bare, PKCS#11 3.0
        (b"\x04\x41\x04" + bytes(64), 65, b"\x04" + bytes(64)),
        (b"\x04" + bytes(64), 65, b"\x04" + bytes(64)),
    ],
)
def test_a_public_point_is_read_wrapped_or_bare(raw: bytes, size: int, expected: bytes) -> None:
    from hanoinet.exchange.token import _point

    assert _point(raw, size) == expected


def test_a_public_point_of_the_wrong_size_is_refused() -> None:
    from hanoinet.exchange.token import _point

    with pytest.raises(ValueError, match="has 31 bytes, not the 32 expected"):
        _point(bytes(31), 32)
    with pytest.raises(ValueError):
        _point(b"\x03" + bytes(64), 65)  # compressed or garbage: not 04 || X || Y
