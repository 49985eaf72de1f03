"""Keys kept in a PKCS#11 token: a hardware security module, a smart card, or SoftHSM2.

A node configured with a token (``HANOINET_PKCS11_MODULE``, ``HANOINET_PKCS11_TOKEN``,
``HANOINET_PKCS11_PIN``) makes its Ed25519 message-signing key (``sig``) and its P-256
document-signing key (``doc``) inside the token, as sensitive, non-extractable objects: the
private key never leaves it, hanoinet only asks it to sign. The key set file keeps, for such a
key, its public JWK and the token object's id (``CKA_ID``), nothing secret. The X25519 key
(``enc``) stays in the encrypted key file: PKCS#11 tokens commonly cannot do X25519 key
agreement (SoftHSM2 2.6 cannot), and ECDH-ES needs it for every message received.

The library is python-pkcs11 (a thin, typed binding of the PKCS#11 C interface). One session
per process is opened at the first use (a signature, a readiness probe) and kept; operations
on it are serialised by a lock (a PKCS#11 session is not for two threads at once). A forked
child starts with none of its parent's state and initialises the module again; hanoinet's
servers are started (spawned), not forked, after the token is open.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hanoinet.exchange import crypto

T = TypeVar("T")
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


_SESSION_LOST = (
    "SessionHandleInvalid",
    "SessionClosed",
    "DeviceRemoved",
    "DeviceError",
    "TokenNotPresent",
    "TokenNotRecognised",
    "CryptokiNotInitialized",
)
"""Errors after which a new session (the token restarted, re-inserted) may succeed."""


class Token:
    """A token, opened lazily once per process; every call to it is serialised.

    A session that fails is dropped and the next call opens a new one (a token restarted or
    re-inserted is used again without restarting hanoinet). A PIN the token refused is never
    tried again by this process: tokens lock the PIN after a few wrong tries, and a server
    retrying at each signature and readiness probe would lock it within seconds."""

    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid: int | None = None
        self._handles: dict[str, Any] = {}
        self._refused: str | None = None
        _OPENED.add(self)

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock, and none of the parent's session or handles."""
        self._lock = threading.Lock()
        self._session, self._handles = None, {}

    def _drop(self) -> None:
        """Forget the session and its handles (not closed: closing a logged-in session logs
        the whole process out, and a failed one is of no use)."""
        self._session, self._handles = None, {}

    def _open(self) -> Any:
        if self._session is not None and self._pid == os.getpid():
            return self._session
        if self._refused is not None:
            raise TokenFailure(self._refused)
        import pkcs11
        from pkcs11 import exceptions

        module, label = self.settings.module, self.settings.label
        if not module.is_file():
            raise TokenFailure(f"PKCS#11 module {module}: no such file (HANOINET_PKCS11_MODULE)")
        try:
            lib = pkcs11.lib(str(module))
            if self._pid is not None and self._pid != os.getpid():
                lib.reinitialize()  # a forked child must initialise the module itself
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
        except (exceptions.PinIncorrect, exceptions.PinInvalid, exceptions.PinLenRange):
            self._refused = (
                f"the PIN of token {label!r} is wrong (HANOINET_PKCS11_PIN); it is not tried "
                "again until hanoinet restarts, so that the token does not lock it"
            )
            raise TokenFailure(self._refused) from None
        except exceptions.PinLocked:
            self._refused = f"the PIN of token {label!r} is locked: its security officer unlocks it"
            raise TokenFailure(self._refused) from None
        except exceptions.PKCS11Error as exc:
            raise TokenFailure(f"token {label!r}: {type(exc).__name__} {exc}".strip()) from None
        except OSError as exc:
            raise TokenFailure(f"PKCS#11 module {module}: {exc}") from None
        self._session, self._pid, self._handles = session, os.getpid(), {}
        return session

    def _private(self, ref: str) -> Any:
        from pkcs11 import ObjectClass, exceptions

        session = self._open()  # first: a new session (or process) has no handles yet
        handle = self._handles.get(ref)
        if handle is None:
            try:
                handle = session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(ref)
                )
            except exceptions.NoSuchKey:
                raise TokenFailure(
                    f"token {self.settings.label!r} holds no private key with id {ref}: "
                    "is this the node's token?"
                ) from None
            self._handles[ref] = handle
        return handle

    def _retrying(self, work: Callable[[], T], what: str) -> T:
        """``work`` under the lock; once more on a new session when the session was lost."""
        from pkcs11 import exceptions

        with self._lock:
            for attempt in (1, 2):
                try:
                    return work()
                except exceptions.PKCS11Error as exc:
                    self._drop()
                    if attempt == 1 and type(exc).__name__ in _SESSION_LOST:
                        continue
                    raise TokenFailure(
                        f"token {self.settings.label!r} {what}: {type(exc).__name__} {exc}".strip()
                    ) from None
        raise AssertionError("unreachable")

    def generate(self, use: str) -> tuple[str, dict[str, Any]]:
        """Make a key pair of ``use`` (``sig``: Ed25519, ``doc``: P-256) in the token, private,
        sensitive, not extractable, not modifiable, not copyable; its id (hex ``CKA_ID``)
        and public JWK."""
        from asn1crypto import keys  # type: ignore[import-untyped]
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        if use == "sig":
            kind, crv = KeyType.EC_EDWARDS, "Ed25519"
            params = keys.ECDomainParameters(name="named", value=ED25519_OID).dump()
        elif use == "doc":
            kind, crv = KeyType.EC, crypto.DOCUMENT_CURVE
            params = encode_named_curve_parameters(P256)
        else:
            raise TokenFailure(f"a {use} key is not kept in a token (only sig and doc)")
        ref = secrets.token_hex(16)
        private = {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.MODIFIABLE: False,
            Attribute.COPYABLE: False,
            Attribute.SIGN: True,
            Attribute.DECRYPT: False,
            Attribute.DERIVE: False,
        }

        def make() -> tuple[Any, Any]:
            return self._open().generate_keypair(  # type: ignore[no-any-return]
                kind,
                store=True,
                id=bytes.fromhex(ref),
                label=f"hanoinet {use} {ref[:8]}",
                public_template={Attribute.EC_PARAMS: params},
                private_template=private,
            )

        public, handle = self._retrying(make, f"cannot make a {crv} key")
        try:
            point = _point(bytes(public[Attribute.EC_POINT]), 32 if use == "sig" else 65)
        except ValueError as exc:
            with contextlib.suppress(Exception):  # of no use: not left in the token
                handle.destroy()
                public.destroy()
            raise TokenFailure(f"token {self.settings.label!r} made a {crv} key: {exc}") from None
        with self._lock:
            self._handles[ref] = handle
        if use == "sig":
            return ref, {"kty": "OKP", "crv": "Ed25519", "x": _b64(point)}
        x, y = point[1:33], point[33:65]  # uncompressed: 04 || X || Y
        return ref, {"kty": "EC", "crv": crypto.DOCUMENT_CURVE, "x": _b64(x), "y": _b64(y)}

    def sign(self, ref: str, use: str, data: bytes) -> bytes:
        """``data`` signed by key ``ref``: Ed25519 (raw, 64 bytes) for ``sig``; for ``doc``
        ECDSA P-256 over SHA-256, DER-encoded as X.509 and CMS carry it."""
        from pkcs11 import Mechanism
        from pkcs11.util.ec import encode_ecdsa_signature

        def work() -> bytes:
            handle = self._private(ref)
            if use == "doc":
                raw = handle.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                return bytes(encode_ecdsa_signature(raw))
            return bytes(handle.sign(data, mechanism=Mechanism.EDDSA))

        return self._retrying(work, f"refused to sign with key {ref}")

    def holds(self, ref: str) -> bool:
        """Whether the token answers now and holds key ``ref`` (for readiness checks): the key
        is read from the token, so a token removed or restarted since is noticed."""
        from pkcs11 import Attribute

        try:
            found = self._retrying(lambda: bytes(self._private(ref)[Attribute.ID]), "")
        except TokenFailure:
            return False
        return found == bytes.fromhex(ref)


def _point(raw: bytes, size: int) -> bytes:
    """A public point as the token gives it: DER-wrapped in an OCTET STRING (PKCS#11 2.40),
    or the bare bytes (PKCS#11 3.0 for Ed25519, and some tokens for P-256)."""
    if len(raw) == size + 2 and raw[0] == 0x04 and raw[1] == size:
        raw = raw[2:]
    if len(raw) != size or (size == 65 and raw[0] != 0x04):
        raise ValueError(f"its public point has {len(raw)} bytes, not the {size} expected")
    return raw


_OPENED: weakref.WeakSet[Token] = weakref.WeakSet()


def _forked() -> None:
    for token in list(_OPENED):
        token._after_fork()


os.register_at_fork(after_in_child=_forked)
_TOKENS: dict[tuple[Path, str], Token] = {}


def open_token(settings: TokenSettings) -> Token:
    """The one ``Token`` of this process for that module and label (no session is opened yet).
    A PKCS#11 login is the whole process's: a second PIN for the same token is refused, not
    silently accepted on the strength of the first."""
    key = (settings.module, settings.label)
    found = _TOKENS.get(key)
    if found is None:
        found = _TOKENS[key] = Token(settings)
    elif found.settings.pin != settings.pin:
        raise TokenFailure(
            f"token {settings.label!r} is already open in this process with another PIN"
        )
    return found


@dataclass(frozen=True)
class TokenKey:
    """A private key in a token, as ``crypto.sign`` and the document signer use it."""

    token: Token = field(repr=False)
    ref: str
    use: str

    def sign(self, data: bytes) -> bytes:
        return self.token.sign(self.ref, self.use, data)
