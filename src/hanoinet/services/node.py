"""A node's identity on disk: its descriptor, its encrypted keys, its passphrase.

Layout of the data folder::

    node.json            public descriptor: id, State, roles, endpoint, public keys
    keys.jwe             the key set, encrypted under the passphrase (PBES2, owner-only); for
                         keys kept in a PKCS#11 token, only their public part and token id
    secrets/passphrase   the passphrase, owner-only, when not given by HANOINET_KEY_PASSPHRASE
    secrets/pkcs11-pin   the token's user PIN, owner-only, when not given by HANOINET_PKCS11_PIN
    directory/           verified directories, every version kept
    hanoinet.db          the SQLite database (unless HANOINET_DATABASE_URL says otherwise)
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from hanoinet.errors import InvalidInput
from hanoinet.exchange import crypto
from hanoinet.exchange.directory import NODE_ID, NODE_ID_MAX, ROLE_ARTICLES, NodeEntry, PublicKey
from hanoinet.exchange.keys import USES, KeySet
from hanoinet.exchange.token import Token, TokenSettings, open_token
from hanoinet.registry.participants import is_known_code
from hanoinet.settings import Settings

DESCRIPTOR = "node.json"
KEYS = "keys.jwe"
PASSPHRASE = Path("secrets") / "passphrase"
PIN = Path("secrets") / "pkcs11-pin"


def token_for(settings: Settings) -> Token | None:
    """The PKCS#11 token the settings name, or None when the keys are kept in the key file.
    Nothing is opened yet: the token is first used when a key in it signs."""
    if settings.pkcs11_module is None:
        return None
    if settings.pkcs11_pin is not None:
        pin = settings.pkcs11_pin.get_secret_value()
    else:
        path = settings.data_dir / PIN
        try:
            if path.stat().st_mode & 0o077:
                raise InvalidInput(f"{path} is readable by others: make it owner-only (chmod 600)")
            pin = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise InvalidInput(
                f"HANOINET_PKCS11_MODULE is set but the token's PIN is not: set "
                f"HANOINET_PKCS11_PIN or keep it in {path} (owner-only)"
            ) from None
        except OSError as exc:
            raise InvalidInput(f"cannot read the token's PIN from {path}: {exc.strerror}") from None
    if not pin:
        raise InvalidInput("the token's PIN is empty (HANOINET_PKCS11_PIN or secrets/pkcs11-pin)")
    try:
        return open_token(TokenSettings(settings.pkcs11_module, settings.pkcs11_token, pin))
    except crypto.CryptoFailure as exc:
        raise InvalidInput(str(exc)) from None


@dataclass(frozen=True)
class InitResult:
    descriptor: Path
    keys: Path
    passphrase_file: Path | None
    node: NodeEntry


def passphrase_for(data_dir: Path, given: str | None) -> str:
    if given:
        return given
    path = data_dir / PASSPHRASE
    if not path.exists():
        raise InvalidInput(
            f"no key passphrase: set HANOINET_KEY_PASSPHRASE or keep it in {path} (owner-only)"
        )
    return path.read_text(encoding="utf-8").strip()


def init_node(
    data_dir: Path,
    *,
    node_id: str,
    state: str,
    name: str,
    roles: list[str],
    endpoint: str,
    languages: list[str],
    channels: list[str],
    at: datetime,
    passphrase: str | None,
    token: Token | None = None,
) -> InitResult:
    """Create a node's keys and descriptor in ``data_dir``; refuses to overwrite a node. With
    a ``token``, the signing keys (``sig``, ``doc``) are made in it."""
    if (data_dir / KEYS).exists():
        raise InvalidInput(
            f"{data_dir} already holds a node ({data_dir / KEYS}); keys are never overwritten"
        )
    if not re.match(NODE_ID, node_id):
        raise InvalidInput(
            f"--id {node_id!r}: a node id is lowercase letters, digits and inner hyphens, at "
            f"most {NODE_ID_MAX} characters (e.g. xa-ca)"
        )
    if not is_known_code(state):
        raise InvalidInput(f"--state '{state}' is not an ISO 3166 code (demo States: XA, XB, XC)")
    unknown = [r for r in roles if r not in ROLE_ARTICLES]
    if unknown:
        raise InvalidInput(f"unknown role {unknown[0]!r}; roles: {', '.join(ROLE_ARTICLES)}")
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidInput(f"--endpoint '{endpoint}' must be an http(s) URL")
    data_dir.mkdir(parents=True, exist_ok=True)
    written: Path | None = None
    if passphrase is None:
        passphrase = secrets.token_urlsafe(32)
        written = data_dir / PASSPHRASE
        written.parent.mkdir(mode=0o700, exist_ok=True)
        written.write_text(passphrase + "\n", encoding="utf-8")
        written.chmod(0o600)
    try:
        keys = KeySet.generate(at, token)
    except crypto.CryptoFailure as exc:
        raise InvalidInput(f"cannot make the node's keys: {exc}") from None
    keys.save(data_dir / KEYS, passphrase)
    node = NodeEntry(
        id=node_id,
        state=state,
        name=name,
        roles=tuple(roles),
        endpoint=endpoint,
        keys=tuple(PublicKey(**k) for k in keys.public()),
        languages=tuple(languages),
        channels=tuple(channels),
        valid_from=at,
        illustrative=state in ("XA", "XB", "XC"),
    )
    (data_dir / DESCRIPTOR).write_text(
        json.dumps(node.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
    )
    return InitResult(data_dir / DESCRIPTOR, data_dir / KEYS, written, node)


def load_descriptor(path: Path) -> NodeEntry:
    if not path.exists():
        raise InvalidInput(
            f"no node in {path.parent}: run `hanoinet node init` there first "
            "(or set HANOINET_DATA_DIR to the node's folder)"
        )
    try:
        return NodeEntry.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a node descriptor ({exc})") from None


def load_keys(data_dir: Path, passphrase: str | None, token: Token | None = None) -> KeySet:
    try:
        return KeySet.load(data_dir / KEYS, passphrase_for(data_dir, passphrase), token)
    except crypto.CryptoFailure as exc:
        raise InvalidInput(f"cannot open {data_dir / KEYS}: {exc}") from None
    except FileNotFoundError:
        raise InvalidInput(f"no node in {data_dir}: run `hanoinet node init` first") from None


def authority_init(path: Path, passphrase: str) -> dict[str, Any]:
    """Create a directory authority key (the depositary's role): private part locked at
    ``path``, public JWK (with kid) returned and written beside it as ``.pub.json``."""
    if path.exists():
        raise InvalidInput(f"{path} exists; an authority key is never overwritten")
    key = crypto.generate_signing_key()
    public = crypto.public_jwk(key)
    kid = crypto.thumbprint(public)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        crypto.lock(json.dumps(crypto.private_jwk(key)).encode(), passphrase), encoding="ascii"
    )
    path.chmod(0o600)
    public_path = path.with_suffix(".pub.json")
    public_path.write_text(json.dumps({**public, "kid": kid}, indent=2) + "\n", encoding="utf-8")
    return {**public, "kid": kid}


def authority_key(path: Path, passphrase: str) -> tuple[OKPKey, str]:
    try:
        jwk = json.loads(crypto.unlock(path.read_text(encoding="ascii"), passphrase))
    except crypto.CryptoFailure as exc:
        raise InvalidInput(f"cannot open the authority key {path}: {exc}") from None
    key = crypto.import_key(jwk)
    return key, crypto.thumbprint(crypto.public_jwk(key))


def _write_descriptor(data_dir: Path, node: NodeEntry) -> Path:
    path = data_dir / DESCRIPTOR
    path.write_text(json.dumps(node.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return path


def _publish(data_dir: Path, keys: KeySet, secret: str) -> NodeEntry:
    """Save the key set and put its public keys in the descriptor."""
    keys.save(data_dir / KEYS, secret)
    node = load_descriptor(data_dir / DESCRIPTOR).model_copy(
        update={"keys": tuple(PublicKey(**k) for k in keys.public())}
    )
    _write_descriptor(data_dir, node)
    return node


def rotate_keys(
    data_dir: Path,
    *,
    use: str,
    overlap: timedelta,
    at: datetime,
    passphrase: str | None,
    token: Token | None = None,
) -> tuple[KeySet, NodeEntry]:
    """Add a new key of ``use`` (sig, enc or doc); the old one stays valid for ``overlap``.
    The descriptor is updated: give it to the directory authority for the next version.
    A node made before document-signing keys gets its first ``doc`` key this way, and a node
    given a token moves its signing keys into it this way (the new ``sig`` or ``doc`` key is
    made in the token)."""
    if use not in USES:
        raise InvalidInput(f"--use must be sig, enc or doc, not {use!r}")
    secret = passphrase_for(data_dir, passphrase)
    try:
        keys = load_keys(data_dir, secret, token).rotate(use, at, overlap, token)
    except crypto.CryptoFailure as exc:
        raise InvalidInput(f"cannot make the new {use} key: {exc}") from None
    return keys, _publish(data_dir, keys, secret)


def revoke_key(data_dir: Path, *, kid: str, at: datetime, passphrase: str | None) -> NodeEntry:
    """Revoke a key from ``at`` (compromise); peers refuse it once the directory says so. A
    key in a token is revoked the same way; it stays in the token (which never lets it out)
    until the token's officer deletes it."""
    secret = passphrase_for(data_dir, passphrase)
    try:
        keys = load_keys(data_dir, secret).revoke(kid, at)
    except crypto.CryptoFailure as exc:
        raise InvalidInput(str(exc)) from None
    return _publish(data_dir, keys, secret)
