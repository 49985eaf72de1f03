"""Keys kept in a PKCS#11 token: a hardware security module, a smart card, or SoftHSM2.

A node configured with a token (``HANOINET_PKCS11_MODULE``, ``HANOINET_PKCS11_TOKEN``,
``HANOINET_PKCS11_PIN``) makes its Ed25519 message-signing key (``sig``) and its P-256
document-signing key (``doc``) inside the token, as sensitive, non-extractable objects: the
private key never leaves it, hanoinet only asks it to sign. The key set file keeps, for such a
key, its public JWK and the token object's id (``CKA_ID``), nothing secret. The X25519 key
(``enc``) stays in the encrypted key file: PKCS#11 tokens commonly cannot do X25519 key
agreement (SoftHSM2 2.6 cannot), and ECDH-ES needs it for every message received.

The library is python-pkcs11 (a thin, typed binding of the PKCS#11 C interface). One session
per process is opened at the first signature and kept; operations on it are serialised by a
lock (a PKCS#11 session is not for two threads at once), and a forked child opens its own.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hanoinet.exchange import crypto

ED25519_OID = "1.3.101.112"
P256 = "secp256r1"


class TokenFailure(crypto.CryptoFailure):
    """The token cannot be reached, opened, or does not hold the key asked for."""


@dataclass(frozen=True)
class TokenSettings:
    """Where the token is: the module (a ``.so``), the token's label, and its user PIN."""

    module: Path
    label: str
    pin: str = field(repr=False)


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Token:
    """A token, opened lazily once per process; every call to it is serialised."""

    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid: int | None = None
        self._handles: dict[str, Any] = {}

    def _open(self) -> Any:
        if self._session is not None and self._pid == os.getpid():
            return self._session
        import pkcs11
        from pkcs11 import exceptions

        module, label = self.settings.module, self.settings.label
        if not module.is_file():
            raise TokenFailure(f"PKCS#11 module {module}: no such file (HANOINET_PKCS11_MODULE)")
        try:
            lib = pkcs11.lib(str(module))
            if self._pid is not None and self._pid != os.getpid():
                lib.reinitialize()  # a forked child: the parent's sessions are not its own
            try:
                token = lib.get_token(token_label=label)
            except exceptions.NoSuchToken:
                found = sorted(t.label for t in lib.get_tokens())
                raise TokenFailure(
                    f"no token labelled {label!r} in {module} (HANOINET_PKCS11_TOKEN); "
                    f"tokens there: {', '.join(found) or 'none'}"
                ) from None
            try:
                session = token.open(user_pin=self.settings.pin, rw=True)
            except exceptions.UserAlreadyLoggedIn:  # a login is the process's, not a session's
                session = token.open(rw=True)
        except exceptions.PinIncorrect:
            raise TokenFailure(
                f"the PIN of token {label!r} is wrong (HANOINET_PKCS11_PIN)"
            ) from None
        except exceptions.PinLocked:
            raise TokenFailure(
                f"the PIN of token {label!r} is locked: its security officer unlocks it"
            ) from None
        except exceptions.PKCS11Error as exc:
            raise TokenFailure(f"token {label!r}: {type(exc).__name__} {exc}".strip()) from None
        except OSError as exc:
            raise TokenFailure(f"PKCS#11 module {module}: {exc}") from None
        self._session, self._pid, self._handles = session, os.getpid(), {}
        return session

    def _private(self, ref: str) -> Any:
        from pkcs11 import ObjectClass, exceptions

        handle = self._handles.get(ref)
        if handle is None:
            try:
                handle = self._open().get_key(
                    object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(ref)
                )
            except exceptions.NoSuchKey:
                raise TokenFailure(
                    f"token {self.settings.label!r} holds no private key with id {ref}: "
                    "is this the node's token?"
                ) from None
            self._handles[ref] = handle
        return handle

    def generate(self, use: str) -> tuple[str, dict[str, Any]]:
        """Make a key pair of ``use`` (``sig``: Ed25519, ``doc``: P-256) in the token,
        sensitive and not extractable; its id (hex ``CKA_ID``) and public JWK."""
        from asn1crypto import core, keys  # type: ignore[import-untyped]
        from pkcs11 import Attribute, KeyType, exceptions
        from pkcs11.util.ec import encode_named_curve_parameters

        if use == "sig":
            kind, params, crv = (
                KeyType.EC_EDWARDS,
                keys.ECDomainParameters(name="named", value=ED25519_OID).dump(),
                "Ed25519",
            )
        elif use == "doc":
            kind, params, crv = (
                KeyType.EC,
                encode_named_curve_parameters(P256),
                crypto.DOCUMENT_CURVE,
            )
        else:
            raise TokenFailure(f"a {use} key is not kept in a token (only sig and doc)")
        ref = secrets.token_hex(16)
        label = f"hanoinet {use} {ref[:8]}"
        private = {
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.DECRYPT: False,
            Attribute.DERIVE: False,
        }
        with self._lock:
            try:
                public, handle = self._open().generate_keypair(
                    kind,
                    store=True,
                    id=bytes.fromhex(ref),
                    label=label,
                    public_template={Attribute.EC_PARAMS: params},
                    private_template=private,
                )
                point = core.OctetString.load(public[Attribute.EC_POINT]).native
            except exceptions.PKCS11Error as exc:
                raise TokenFailure(
                    f"token {self.settings.label!r} cannot make a {crv} key: "
                    f"{type(exc).__name__} {exc}".strip()
                ) from None
            self._handles[ref] = handle
        if use == "sig":
            return ref, {"kty": "OKP", "crv": "Ed25519", "x": _b64(point)}
        x, y = point[1:33], point[33:65]  # uncompressed: 04 || X || Y
        return ref, {"kty": "EC", "crv": crypto.DOCUMENT_CURVE, "x": _b64(x), "y": _b64(y)}

    def sign(self, ref: str, use: str, data: bytes) -> bytes:
        """``data`` signed by key ``ref``: Ed25519 (raw, 64 bytes) for ``sig``; for ``doc``
        ECDSA P-256 over SHA-256, DER-encoded as X.509 and CMS carry it."""
        from pkcs11 import Mechanism, exceptions
        from pkcs11.util.ec import encode_ecdsa_signature

        with self._lock:
            try:
                handle = self._private(ref)
                if use == "doc":
                    raw = handle.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                    return bytes(encode_ecdsa_signature(raw))
                return bytes(handle.sign(data, mechanism=Mechanism.EDDSA))
            except exceptions.PKCS11Error as exc:
                self._session = None  # a token removed or restarted: open it again next time
                raise TokenFailure(
                    f"token {self.settings.label!r} refused to sign with key {ref}: "
                    f"{type(exc).__name__} {exc}".strip()
                ) from None

    def holds(self, ref: str) -> bool:
        """Whether the token answers now and holds key ``ref`` (for readiness checks): the key
        is read from the token, so a token removed or restarted since is noticed."""
        from pkcs11 import Attribute, exceptions

        with self._lock:
            for _ in range(2):  # a second time on a new session, once the old one failed
                try:
                    return bytes(self._private(ref)[Attribute.ID]) == bytes.fromhex(ref)
                except TokenFailure:
                    return False
                except exceptions.PKCS11Error:
                    self._session = None
            return False


@lru_cache(maxsize=8)
def open_token(settings: TokenSettings) -> Token:
    """The one ``Token`` of this process for these settings (sessions are not opened yet)."""
    return Token(settings)


@dataclass(frozen=True)
class TokenKey:
    """A private key in a token, as ``crypto.sign`` and the document signer use it."""

    token: Token = field(repr=False)
    ref: str
    use: str

    def sign(self, data: bytes) -> bytes:
        return self.token.sign(self.ref, self.use, data)
