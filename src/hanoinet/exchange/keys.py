"""A node's keys: Ed25519 to sign, X25519 to receive encrypted messages, and ECDSA P-256
to sign formal documents (``doc``) so that common PDF readers can verify them.

Keys rotate with an overlap: the new key is used from its creation, the old
one stays valid (for verifying and decrypting) until ``not_after``. A revoked
key is refused from the moment of revocation. The key set is stored as one
file, encrypted at rest under the node's passphrase (``crypto.lock``).

With a PKCS#11 token configured (exchange/token.py), new ``sig`` and ``doc`` keys are made in
the token: the file then keeps their public JWK and the token object's id (``token``), and
they sign through the token. ``enc`` keys always stay in the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from joserfc.jwk import ECKey, OKPKey

from hanoinet.exchange import crypto
from hanoinet.exchange.token import Token, TokenFailure, TokenKey

Use = Literal["sig", "enc", "doc"]
USES: tuple[Use, ...] = ("sig", "enc", "doc")
FORMAT = "hanoinet.keyset/1"
ALGORITHMS: dict[str, str] = {
    "sig": crypto.SIGNING_ALG,
    "enc": crypto.KEY_AGREEMENT_ALG,
    "doc": crypto.DOCUMENT_ALG,
}


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    use: Use
    created: datetime
    not_after: datetime | None
    revoked: datetime | None
    private: dict[str, Any] = field(repr=False)
    """The private JWK; for a key in a token, only its public JWK."""
    token: str | None = None
    """The id (hex ``CKA_ID``) of the private key in the node's token, when it is there."""
    hsm: Token | None = field(default=None, repr=False, compare=False)
    """The token this process opened for the node (set when the key set is loaded)."""

    def valid_at(self, at: datetime) -> bool:
        if at < self.created:
            return False
        if self.revoked is not None and at >= self.revoked:
            return False
        return self.not_after is None or at < self.not_after

    @property
    def key(self) -> OKPKey:
        """The private key itself: an ``enc`` key, or a ``sig`` key kept in the file."""
        if self.use == "doc":
            raise crypto.CryptoFailure(f"key {self.kid} signs documents only")
        if self.token is not None:
            raise crypto.CryptoFailure(f"key {self.kid} is in the token: it signs there only")
        return crypto.import_key(self.private)

    @property
    def signing_key(self) -> crypto.SigningKey:
        """What signs a message with this ``sig`` key, wherever it is kept."""
        if self.use != "sig":
            raise crypto.CryptoFailure(f"key {self.kid} is a {self.use} key: it signs no message")
        if self.token is None:
            return self.key
        return self._in_token()

    def _in_token(self) -> TokenKey:
        if self.token is None:
            raise crypto.CryptoFailure(f"key {self.kid} is not in a token")
        if self.hsm is None:
            raise TokenFailure(
                f"key {self.kid} is kept in a PKCS#11 token, and none is configured: "
                "set HANOINET_PKCS11_MODULE, HANOINET_PKCS11_TOKEN and its PIN"
            )
        return TokenKey(self.hsm, self.token, self.use)

    def sign_bytes(self, data: bytes) -> bytes:
        """``data`` signed with this ``sig`` or ``doc`` key, wherever it is kept: Ed25519 raw
        (64 bytes), or ECDSA P-256 over SHA-256 in DER, as X.509 and CMS carry it."""
        if self.token is not None:
            return self._in_token().sign(data)
        if self.use == "doc":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec

            private = crypto.import_document_key(self.private).private_key
            assert isinstance(private, ec.EllipticCurvePrivateKey)
            return private.sign(data, ec.ECDSA(hashes.SHA256()))
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        signer = self.key.private_key
        assert isinstance(signer, Ed25519PrivateKey)
        return signer.sign(data)

    @property
    def kept_in(self) -> str:
        """``token`` or ``file``: where the private key is."""
        return "token" if self.token is not None else "file"

    def public(self) -> dict[str, Any]:
        """The public JWK with hanoinet's validity members, as published in the directory."""
        key: OKPKey | ECKey = (
            crypto.import_document_key(self.private)
            if self.use == "doc"
            else crypto.import_key(self.private)
        )
        jwk = crypto.public_jwk(key)
        return {
            **jwk,
            "kid": self.kid,
            "use": self.use,
            "alg": ALGORITHMS[self.use],
            "valid_from": self.created.isoformat(),
            "valid_until": self.not_after.isoformat() if self.not_after else None,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


def _new(use: Use, at: datetime, token: Token | None = None) -> KeyEntry:
    if token is not None and use in ("sig", "doc"):
        ref, jwk = token.generate(use)
        return KeyEntry(crypto.thumbprint(jwk), use, at, None, None, jwk, ref, token)
    key: OKPKey | ECKey
    if use == "sig":
        key = crypto.generate_signing_key()
    elif use == "enc":
        key = crypto.generate_encryption_key()
    else:
        key = crypto.generate_document_key()
    jwk = crypto.private_jwk(key)
    return KeyEntry(crypto.thumbprint(jwk), use, at, None, None, jwk)


@dataclass(frozen=True)
class KeySet:
    entries: tuple[KeyEntry, ...]

    @classmethod
    def generate(cls, at: datetime, token: Token | None = None) -> KeySet:
        """A new node's keys; ``sig`` and ``doc`` made in ``token`` when one is given."""
        return cls(tuple(_new(use, at, token) for use in USES))

    def active(self, use: Use, at: datetime) -> KeyEntry:
        """The newest key of ``use`` valid at ``at``: the one to sign or be encrypted to."""
        found = self.newest_valid(use, at)
        if found is None:
            raise crypto.CryptoFailure(f"no valid {use} key at {at.isoformat()}; rotate keys")
        return found

    def newest_valid(self, use: Use, at: datetime) -> KeyEntry | None:
        """Like ``active``, but None when there is none (a node made before ``doc`` keys)."""
        valid = [e for e in self.entries if e.use == use and e.valid_at(at)]
        return max(valid, key=lambda e: e.created) if valid else None

    def get(self, kid: str) -> KeyEntry | None:
        return next((e for e in self.entries if e.kid == kid), None)

    def rotate(
        self, use: Use, at: datetime, overlap: timedelta, token: Token | None = None
    ) -> KeySet:
        """Add a new key of ``use`` (in ``token`` when one is given and ``use`` is ``sig`` or
        ``doc``); the current ones stay valid for ``overlap`` more."""
        ended = tuple(
            replace(e, not_after=min(e.not_after or at + overlap, at + overlap))
            if e.use == use and e.valid_at(at)
            else e
            for e in self.entries
        )
        return KeySet((*ended, _new(use, at, token)))

    def revoke(self, kid: str, at: datetime) -> KeySet:
        if self.get(kid) is None:
            raise crypto.CryptoFailure(f"no key {kid} in this key set")
        return KeySet(tuple(replace(e, revoked=at) if e.kid == kid else e for e in self.entries))

    def public(self) -> list[dict[str, Any]]:
        return [e.public() for e in self.entries]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "keys": [
                    {
                        "kid": e.kid,
                        "use": e.use,
                        "created": e.created.isoformat(),
                        "not_after": e.not_after.isoformat() if e.not_after else None,
                        "revoked": e.revoked.isoformat() if e.revoked else None,
                        "jwk": e.private,
                        **({"token": e.token} if e.token is not None else {}),
                    }
                    for e in self.entries
                ],
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes, token: Token | None = None) -> KeySet:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise crypto.CryptoFailure(f"not a hanoinet key set (format {raw.get('format')!r})")

        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value).astimezone(UTC) if value else None

        return cls(
            tuple(
                KeyEntry(
                    k["kid"],
                    k["use"],
                    datetime.fromisoformat(k["created"]).astimezone(UTC),
                    when(k["not_after"]),
                    when(k["revoked"]),
                    k["jwk"],
                    k.get("token"),
                    token if k.get("token") else None,
                )
                for k in raw["keys"]
            )
        )

    def save(self, path: Path, passphrase: str) -> None:
        """Write the key set encrypted under ``passphrase`` (atomically, owner-only)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        locked = crypto.lock(self.to_json(), passphrase).encode("ascii")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never readable by others
        try:
            os.write(fd, locked)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, passphrase: str, token: Token | None = None) -> KeySet:
        """The key set at ``path``; its keys kept in a token sign through ``token``."""
        return cls.from_json(crypto.unlock(path.read_text(encoding="ascii"), passphrase), token)
