"""Pack, verify and unpack an evidence package, streaming, in constant memory.

On disk a package is ``age(tar(bag))``: a BagIt bag in a tar stream,
encrypted with age (X25519 recipients: the receiving node and the sending
node itself, so the sender can verify what it sent). In the bag, beside the
payload under ``data/`` and the manifests:

- ``custody.jsonld``: provenance and chain of custody (CASE/UCO);
- ``conditions.json``: the use conditions (speciality, confidentiality, onward transfer);
- ``hanoinet-directory.jws``: the signed directory the sender used, so anyone holding
  the directory authority's public key can check the sender's key offline;
- ``hanoinet-signature.jws``: the sending node's Ed25519 signature (compact JWS) over a
  statement naming the package, request, sender, receiver, time and the digests of both
  tag manifests (which cover every other tag file, which cover the payload).

Reading goes ``decrypt -> tar framing -> hash``; the signature is checked
before any signed content (manifests, custody, conditions) is parsed.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import pyrage
from pydantic import ValidationError
from pyrage import x25519

from hanoinet.errors import DirectoryRejected
from hanoinet.evidence import custody as custody_module
from hanoinet.evidence import staging
from hanoinet.evidence import timestamp as timestamp_module
from hanoinet.evidence.bag import (
    ALGORITHMS,
    CHUNK,
    BagError,
    Digests,
    Progress,
    Read,
    Source,
    hash_stream,
    parse_manifest,
    read_bag,
    write_bag,
)
from hanoinet.evidence.conditions import UseConditions
from hanoinet.evidence.receipt import SKEW, Anchor, ReceiptRefused, signature_digest, verify_receipt
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as directory_module

FORMAT = "hanoinet.evidence/1"
SIGNATURE_TYP = "hanoinet-evidence+jws"
AGE_MAGIC = b"age-encryption.org/v1\n"
SIGNATURE = "hanoinet-signature.jws"
RECEIPT = "receipt"
"""Where a problem with a receipt given to ``verify`` is reported (it is not in the bag)."""
DIRECTORY = "hanoinet-directory.jws"
CUSTODY = "custody.jsonld"
CONDITIONS = "conditions.json"
BAG_INFO = "bag-info.txt"
TIMESTAMP = timestamp_module.NAME
TAG_NAMES = frozenset(
    {"bagit.txt", BAG_INFO, CUSTODY, CONDITIONS, DIRECTORY, SIGNATURE, TIMESTAMP}
    | {f"manifest-{a}.txt" for a in ALGORITHMS}
    | {f"tagmanifest-{a}.txt" for a in ALGORITHMS}
)
UNSIGNED = frozenset({SIGNATURE, TIMESTAMP} | {f"tagmanifest-{a}.txt" for a in ALGORITHMS})
"""The tag files the tag manifests cannot list: the signature signs the tag manifests, and
the time-stamp stamps the signature."""


@dataclass(frozen=True)
class Sender:
    node_id: str
    node_name: str
    state: str
    kid: str
    key: crypto.SigningKey = field(repr=False)
    directory_token: str = field(repr=False)


@dataclass(frozen=True)
class Packed:
    package_id: str
    path: Path
    files: dict[str, Digests]
    payload_bytes: int
    package_bytes: int


def _pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError):  # Linux: a larger pipe means fewer context switches
        fcntl.fcntl(write_fd, 1031, CHUNK)  # F_SETPIPE_SZ
    return read_fd, write_fd


def _through_pipe(
    produce: Callable[[IO[bytes]], Any], consume: Callable[[IO[bytes]], Any]
) -> tuple[Any, Any]:
    """Run ``produce(writer)`` in a thread and ``consume(reader)`` here, over an OS pipe:
    hashing (which releases the GIL) runs beside age (in Rust). An error on either side
    ends the other (closed pipe) and is raised here, the producer's first."""
    read_fd, write_fd = _pipe()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with open(write_fd, "wb", buffering=CHUNK) as writer:
                outcome["value"] = produce(writer)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="hanoinet-evidence", daemon=True)
    thread.start()
    consumed: Any = None
    failure: BaseException | None = None
    try:
        with open(read_fd, "rb", buffering=CHUNK) as reader:
            consumed = consume(reader)
            # drain what the consumer did not read, so the producer can finish
            while reader.read(CHUNK):
                pass
    except BaseException as exc:
        failure = exc
    thread.join()
    error = outcome.get("error")
    if error is not None and not (failure is not None and isinstance(error, BrokenPipeError)):
        raise error
    if failure is not None:
        raise failure
    return outcome.get("value"), consumed


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameters (malloc.h)."""
_steadied = False


def steady_buffers() -> None:
    """Keep the 1 MiB buffers a package streams through in the heap, once per process.

    Every chunk read (the pipe, tarfile, hashing) is a new 1 MiB bytes object. glibc serves
    an allocation that large with a fresh ``mmap`` of its own, and returns it with
    ``munmap`` when freed, unless its *dynamic* threshold has risen above that size, which
    depends on what the process allocated and freed before (the imports, an environment
    variable read early). When it has not, each MiB costs a mapping and 256 page faults:
    decrypt + verify of 1 GiB took 3.7 s instead of 1.9 s, nearly all of the difference
    kernel time, from one start of the same command to the next (docs/benchmarks.md). A
    fixed threshold of 16 MiB (and a trim threshold of 64 MiB, so the heap is not shrunk
    and grown again by each chunk) makes every run the fast one; the peak RSS moves by
    2 MiB. Nothing changes where the C library is not glibc (``mallopt`` is then absent or
    does nothing)."""
    global _steadied
    if _steadied:
        return
    _steadied = True
    if sys.platform != "linux":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, 16 << 20)
    mallopt(M_TRIM_THRESHOLD, 64 << 20)


def _statement(claims: dict[str, Any]) -> bytes:
    return json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()


def bag_info(
    package_id: str,
    sender: Sender,
    payload: dict[str, Digests],
    at: datetime,
    version: str,
    description: str,
    references: tuple[str, tuple[str, str] | None] | None = None,
) -> bytes:
    """The bag's metadata (RFC 8493, 2.2.2). ``references``: the sender's reference of the
    request and, once known, the requesting State (code) with its own reference of it: the
    first as ``Internal-Sender-Identifier``, the second as ``Requesting-State-Reference``
    (``XA R-000001``)."""
    size = sum(d.size for d in payload.values())
    lines = [
        ("Bag-Software-Agent", f"hanoinet {version}"),
        ("Bagging-Date", at.date().isoformat()),
        ("External-Identifier", package_id),
        ("External-Description", description),
        ("Payload-Oxum", f"{size}.{len(payload)}"),
        ("Source-Organization", sender.node_name),
    ]
    if references is not None:
        ours, theirs = references
        lines.append(("Internal-Sender-Identifier", ours))
        if theirs is not None:
            lines.append(("Requesting-State-Reference", f"{theirs[0]} {theirs[1]}"))
    return "".join(f"{k}: {v}\n" for k, v in lines).encode()


def pack(
    files: list[Source],
    out: Path,
    *,
    package_id: str,
    request_uid: str,
    reference: str,
    sender: Sender,
    recipient_node: str,
    recipients: list[str],
    conditions: UseConditions,
    collection: custody_module.Collection,
    actor: str,
    version: str,
    at: datetime,
    progress: Progress | None = None,
    peer_reference: tuple[str, str] | None = None,
    receipt: custody_module.Receipt | None = None,
    timestamper: Callable[[bytes], bytes] | None = None,
) -> Packed:
    """Write the encrypted package to ``out`` (atomically: a ``.part`` file renamed at the
    end; nothing is left behind on failure). Each payload file is read exactly once.
    ``peer_reference``: the requesting State (code) and its own reference of the request,
    when known: in the bag's metadata and the signed statement beside ``reference``.
    ``receipt``: evidence a State that runs no node sent by hand, packed on arrival by the
    node that received it (the sender and the recipient are then the same node).
    ``timestamper``: given the SHA-256 of the signature, an RFC 3161 token over it (a TSA's,
    evidence/timestamp.py), kept beside the signature; its failure leaves no package."""
    steady_buffers()
    age_recipients = [x25519.Recipient.from_str(r) for r in recipients]
    packer = custody_module.Packer(
        sender.node_id, sender.node_name, sender.state, actor, at, "hanoinet", version
    )
    theirs = f" (reference of {peer_reference[0]}: {peer_reference[1]})" if peer_reference else ""
    description = f"Electronic evidence answering request {reference}{theirs} under the UN Convention against Cybercrime"
    if receipt is not None:
        description = f"Electronic evidence received from {receipt.received_from} by {receipt.means}, answering request {reference}{theirs} under the UN Convention against Cybercrime"

    def tag_files(payload: dict[str, Digests]) -> dict[str, bytes]:
        items = [custody_module.Item(name, d.size, d.hashes) for name, d in sorted(payload.items())]
        graph = custody_module.custody_graph(package_id, items, collection, packer, receipt)
        return {
            BAG_INFO: bag_info(
                package_id,
                sender,
                payload,
                at,
                version,
                description,
                (reference, peer_reference),
            ),
            CUSTODY: custody_module.dumps(graph),
            CONDITIONS: (conditions.model_dump_json(indent=1) + "\n").encode(),
            DIRECTORY: sender.directory_token.encode() + b"\n",
        }

    def sign(tags: dict[str, bytes]) -> dict[str, bytes]:
        claims = {
            "format": FORMAT,
            "package": package_id,
            "request": request_uid,
            "reference": reference,
            "peer_reference": peer_reference[1] if peer_reference else None,
            "sender": sender.node_id,
            "recipient": recipient_node,
            "created": at.isoformat(),
            "tagmanifests": {
                f"tagmanifest-{a}.txt": hashlib.new(a, tags[f"tagmanifest-{a}.txt"]).hexdigest()
                for a in ALGORITHMS
            },
        }
        token = crypto.sign(
            {"typ": SIGNATURE_TYP, "kid": sender.kid}, _statement(claims), sender.key
        )
        signed = {SIGNATURE: token.encode() + b"\n"}
        if timestamper is not None:  # the TSA stamps the signature as soon as it exists
            signed[TIMESTAMP] = timestamper(bytes.fromhex(signature_digest(token)))
        return signed

    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    try:
        with open(part, "wb") as target:
            written, _ = _through_pipe(
                lambda writer: write_bag(
                    writer, package_id, files, tag_files, sign, at=at, progress=progress
                ),
                lambda reader: pyrage.encrypt_io(reader, target, age_recipients),  # type: ignore[arg-type]
            )
            target.flush()
            os.fsync(target.fileno())
        os.replace(part, out)
        staging.fsync_dir(out.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Packed(
        package_id,
        out,
        written.payload,
        sum(d.size for d in written.payload.values()),
        out.stat().st_size,
    )


Status = Literal["passed", "failed", "not_checked"]


@dataclass
class Check:
    name: str
    status: Status
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


@dataclass
class Verification:
    """What was verified and what failed; ``ok`` if nothing failed (a check the caller
    chose not to run, such as CASE validation, is reported as ``not_checked``)."""

    source: str
    checks: list[Check] = field(default_factory=list)
    problems: list[BagError] = field(default_factory=list)
    claims: dict[str, Any] | None = None
    conditions: UseConditions | None = None
    custody: dict[str, Any] | None = None
    files: dict[str, Digests] = field(default_factory=dict)
    tags: dict[str, bytes] = field(default_factory=dict, repr=False)
    anchor: Anchor | None = None
    """The earliest time the package is proven to exist that the signature was checked at
    (evidence/receipt.py); None when the signature was not read."""

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.status != "failed" for c in self.checks)

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, "passed", detail))

    def failed(self, name: str, *problems: BagError) -> None:
        self.problems.extend(problems)
        first = problems[0] if problems else None
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self.checks.append(Check(name, "failed", f"{first}{more}" if first else "failed"))

    def skipped(self, *names: str, because: str) -> None:
        self.checks.extend(Check(n, "not_checked", because) for n in names)

    def as_dict(self) -> dict[str, Any]:
        claims = self.claims or {}
        return {
            "source": self.source,
            "verified": self.ok,
            "package": claims.get("package"),
            "request": claims.get("request"),
            "reference": claims.get("reference"),
            "peer_reference": claims.get("peer_reference"),
            "sender": claims.get("sender"),
            "recipient": claims.get("recipient"),
            "created": claims.get("created"),
            "anchor": self.anchor.as_dict() if self.anchor else None,
            "checks": [c.as_dict() for c in self.checks],
            "problems": [
                {"code": p.code, "where": p.where, "message": p.message} for p in self.problems
            ],
            "files": [
                {"path": name, "bytes": d.size, **d.hashes}
                for name, d in sorted(self.files.items())
            ],
            "conditions": None
            if self.conditions is None
            else self.conditions.model_dump(mode="json"),
        }


LATER = ("tag manifests", "payload", "custody", "conditions", "CASE/UCO")
CHECKS = ("decrypt", "structure", "signature", *LATER)
"""The eight checks of ``verify``, in the order they run and are reported."""


Trust = directory_module.Trust


def is_encrypted(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(len(AGE_MAGIC)) == AGE_MAGIC


def verify(
    source: Path,
    *,
    trust: Trust,
    identities: list[x25519.Identity] | None = None,
    dest: Path | None = None,
    validate_case: bool = True,
    progress: Progress | None = None,
    receipts: Sequence[str] = (),
    arrival: Anchor | None = None,
    tsa_roots: Sequence[Any] = (),
) -> Verification:
    """Verify a package (encrypted file, plain tar, or an unpacked bag folder).

    With ``dest``, the payload is written under ``dest/<package id>/`` as it is read; the
    caller must discard that folder unless the result is ``ok``. ``receipts`` (receiving
    nodes' signed receipts) and ``arrival`` (this node receives it now) anchor the signing
    time: the signer's key must not have been revoked by the earliest of them, as does the
    package's RFC 3161 time-stamp when ``tsa_roots`` (trusted TSA root certificates) are given.
    """
    steady_buffers()
    result = Verification(str(source))
    if source.is_dir():
        read = _read_folder(source, progress)
        result.passed("decrypt", "not encrypted: an unpacked bag folder")
    elif is_encrypted(source):
        read_or_none = _read_encrypted(source, identities or [], dest, progress, result)
        if read_or_none is None:
            result.skipped(
                "structure", "signature", *LATER, because="the package could not be decrypted"
            )
            return result
        read = read_or_none
    elif source.is_file():
        with open(source, "rb") as f:
            read = read_bag(f, tag_names=TAG_NAMES, dest=dest, progress=progress)
        result.passed("decrypt", "not encrypted: a plain tar")
    else:
        result.failed("decrypt", BagError("missing", str(source), "no such file or folder"))
        return result
    result.files = read.payload
    result.tags = read.tags
    structural = [p for p in read.problems if p.code in ("malformed", "unsafe_path")]
    if structural:
        result.failed("structure", *structural)
        result.skipped("signature", *LATER, because="the package is damaged")
        return result
    result.passed("structure", f"a bag of {len(read.payload)} payload files in {read.root}/")
    if not _check_signature(read, trust, result, receipts, arrival, tsa_roots):
        result.skipped(*LATER, because="the signature did not verify: nothing signed was read")
        return result
    _check_tags(read, result)
    _check_payload(read, result)
    _check_custody(read, result)
    _check_conditions(read, result)
    if not validate_case:
        result.skipped("CASE/UCO", because="CASE validation was not asked for")
    elif result.problems:
        result.skipped("CASE/UCO", because="the package already failed a check above")
    else:
        validation = custody_module.validate(read.tags[CUSTODY])
        if validation.conforms:
            result.passed(
                "CASE/UCO", f"custody.jsonld conforms to CASE {validation.ontology} (case-utils)"
            )
        else:
            result.failed(
                "CASE/UCO",
                BagError(
                    "case_invalid",
                    CUSTODY,
                    f"does not conform to CASE {validation.ontology}: {validation.report[:500]}",
                ),
            )
    return result


def _read_encrypted(
    source: Path,
    identities: list[x25519.Identity],
    dest: Path | None,
    progress: Progress | None,
    result: Verification,
) -> Read | None:
    if not identities:
        result.failed(
            "decrypt",
            BagError("no_key", str(source), "is encrypted and no key was given to open it"),
        )
        return None

    def decrypt(writer: IO[bytes]) -> None:
        with open(source, "rb") as f:
            try:
                pyrage.decrypt_io(f, writer, identities)  # type: ignore[arg-type]
            except BrokenPipeError:
                raise
            except OSError as exc:  # rage reports a failed chunk in the stream as an I/O error
                raise pyrage.DecryptError(str(exc)) from None

    try:
        _, read = _through_pipe(
            decrypt,
            lambda reader: read_bag(reader, tag_names=TAG_NAMES, dest=dest, progress=progress),
        )
    except pyrage.DecryptError as exc:
        text = str(exc)
        if "no matching keys" in text.lower() or "no identity" in text.lower():
            problem = BagError(
                "wrong_key", str(source), "is not encrypted to any key this node holds"
            )
        else:
            problem = BagError(
                "damaged",
                str(source),
                f"is damaged or truncated: the encryption's integrity check failed ({text})",
            )
        result.failed("decrypt", problem)
        return None
    result.passed("decrypt", "age (X25519, ChaCha20-Poly1305): every chunk authenticated")
    return read  # type: ignore[no-any-return]


def _read_folder(folder: Path, progress: Progress | None) -> Read:
    read = Read(root=folder.name)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            read.problems.append(BagError("extra", rel, "is not a regular file"))
            continue
        if path.is_dir():
            continue
        if rel.startswith("data/"):
            with open(path, "rb") as f:
                read.payload[rel] = hash_stream(f, None, progress)
        elif rel in TAG_NAMES and path.stat().st_size <= (64 << 20):
            read.tags[rel] = path.read_bytes()
        else:
            read.problems.append(BagError("extra", rel, "is not a file a hanoinet package has"))
    return read


def _resolve_directory(read: Read, trust: Trust) -> directory_module.Directory:
    carried = read.tags.get(DIRECTORY)
    if trust.directory is None and trust.directory_token is None and carried is None:
        raise BagError("no_directory", DIRECTORY, "is missing and no directory was given")
    return directory_module.historical(trust, (carried or b"").decode("ascii", errors="replace"))


def _check_signature(
    read: Read,
    trust: Trust,
    result: Verification,
    receipts: Sequence[str] = (),
    arrival: Anchor | None = None,
    tsa_roots: Sequence[Any] = (),
) -> bool:
    raw = read.tags.get(SIGNATURE)
    if raw is None:
        result.failed(
            "signature", BagError("unsigned", SIGNATURE, "is missing: the package is not signed")
        )
        return False
    token = raw.decode("ascii", errors="replace").strip()
    try:
        directory = _resolve_directory(read, trust)
    except BagError as exc:
        result.failed("signature", exc)
        return False
    except DirectoryRejected as exc:
        result.failed("signature", BagError("directory_refused", DIRECTORY, exc.message))
        return False
    try:
        kid = str(crypto.unverified_header(token).get("kid"))
    except crypto.CryptoFailure as exc:
        result.failed("signature", BagError("forged", SIGNATURE, str(exc)))
        return False
    owner = directory.signing_key(kid)
    if owner is None:
        result.failed(
            "signature",
            BagError(
                "unknown_signer",
                SIGNATURE,
                f"is made with key {kid}, which no node in directory version {directory.version} holds",
            ),
        )
        return False
    node, key = owner
    try:
        verified = crypto.verify(
            token, crypto.import_key(key.model_dump(include={"kty", "crv", "x"}))
        )
        claims = json.loads(verified.payload)
    except (crypto.CryptoFailure, ValueError):
        result.failed(
            "signature",
            BagError("forged", SIGNATURE, "does not verify: the package was altered or forged"),
        )
        return False
    problems = []
    if (
        verified.header.get("typ") != SIGNATURE_TYP
        or not isinstance(claims, dict)
        or claims.get("format") != FORMAT
    ):
        problems.append(
            BagError("forged", SIGNATURE, "is a signature, but not of a hanoinet evidence package")
        )
    else:
        if claims.get("sender") != node.id:
            problems.append(
                BagError(
                    "forged",
                    SIGNATURE,
                    f"names sender {claims.get('sender')} but the key is {node.id}'s",
                )
            )
        try:
            created = datetime.fromisoformat(str(claims.get("created")))
        except ValueError:
            created = None
        if created is None or created.tzinfo is None or not key.usable_at(created):
            problems.append(
                BagError(
                    "key_not_valid",
                    SIGNATURE,
                    f"key {kid} of {node.id} was not valid at {claims.get('created')}",
                )
            )
        stamp = read.tags.get(TIMESTAMP)
        anchor = _anchor(receipts, arrival, directory, claims, token, problems)
        if stamp is not None and tsa_roots:
            stamped = _stamped(stamp, token, tsa_roots, problems)
            if stamped is not None and (anchor is None or stamped.at < anchor.at):
                anchor = stamped
        if anchor is None and created is not None and created.tzinfo is not None:
            anchor = Anchor("signer", created, node.id)
        if anchor is not None and anchor.kind != "signer":
            if key.revoked is not None and anchor.at >= key.revoked:
                problems.append(
                    BagError(
                        "key_revoked",
                        SIGNATURE,
                        f"key {kid} of {node.id} was revoked at {key.revoked.isoformat()}, "
                        f"before the package is proven to exist: {anchor.describe()}",
                    )
                )
            if created is not None and created.tzinfo is not None and created > anchor.at + SKEW:
                problems.append(
                    BagError(
                        "created_after_anchor",
                        SIGNATURE,
                        f"says it was made at {created.isoformat()}, after it is proven to "
                        f"exist: {anchor.describe()}",
                    )
                )
        result.anchor = anchor
        if not str(claims.get("package", "")).startswith(f"EV-{node.id}-"):
            problems.append(
                BagError(
                    "forged",
                    SIGNATURE,
                    f"package {claims.get('package')} is not numbered by {node.id}",
                )
            )
        if claims.get("package") != read.root:
            problems.append(
                BagError(
                    "forged",
                    SIGNATURE,
                    f"signs package {claims.get('package')}, but the bag is {read.root}",
                )
            )
    if problems:
        result.failed("signature", *problems)
        return False
    result.claims = claims
    when = f"; time: {result.anchor.describe()}" if result.anchor else ""
    if TIMESTAMP in read.tags and not tsa_roots:
        when += "; a time-stamp is in the package, not checked: no time-stamping authority given"
    result.passed(
        "signature",
        f"signed by {node.id} ({node.name}, State {node.state}) with key {kid}, directory version {directory.version}{when}",
    )
    return True


def _stamped(
    stamp: bytes, token: str, roots: Sequence[Any], problems: list[BagError]
) -> Anchor | None:
    """The anchor of the package's RFC 3161 time-stamp, or a problem when it does not
    validate against the trusted TSA roots."""
    try:
        found = timestamp_module.verify(stamp, bytes.fromhex(signature_digest(token)), list(roots))
    except timestamp_module.TimestampInvalid as exc:
        problems.append(BagError(exc.code, TIMESTAMP, exc.message))
        return None
    return Anchor("timestamp", found.at, found.tsa)


def _anchor(
    receipts: Sequence[str],
    arrival: Anchor | None,
    directory: directory_module.Directory,
    claims: dict[str, Any],
    token: str,
    problems: list[BagError],
) -> Anchor | None:
    """The earliest time the package is proven to exist: ``arrival``, or a receipt for this
    very signature (each verified against the directory; one that fails is a problem)."""
    found = [arrival] if arrival is not None else []
    digest = signature_digest(token)
    for given in receipts:
        try:
            anchor = verify_receipt(given, directory)
        except ReceiptRefused as exc:
            problems.append(BagError(f"receipt_{exc.code}", RECEIPT, exc.message))
            continue
        if anchor.package != claims.get("package") or anchor.signature_sha256 != digest:
            problems.append(
                BagError(
                    "receipt_mismatch",
                    RECEIPT,
                    f"is {anchor.by}'s receipt for {anchor.package}, not for this package's "
                    "signature",
                )
            )
            continue
        found.append(anchor)
    return min(found, key=lambda a: a.at) if found else None


def _parse_manifest(data: bytes, name: str, problems: list[BagError]) -> dict[str, str] | None:
    try:
        return parse_manifest(data, name)
    except BagError as exc:
        problems.append(exc)
    except UnicodeDecodeError as exc:
        problems.append(BagError("malformed", name, f"is not UTF-8: {exc}"))
    return None


def _check_tags(read: Read, result: Verification) -> None:
    claims = result.claims or {}
    problems: list[BagError] = []
    signed = claims.get("tagmanifests", {})
    listed: dict[str, dict[str, str]] = {}
    for algorithm in ALGORITHMS:
        name = f"tagmanifest-{algorithm}.txt"
        data = read.tags.get(name)
        if data is None:
            problems.append(BagError("missing", name, "is missing"))
            continue
        if hashlib.new(algorithm, data).hexdigest() != signed.get(name):
            problems.append(BagError("tampered", name, "was changed after the package was signed"))
            continue
        parsed = _parse_manifest(data, name, problems)
        if parsed is not None:
            listed[algorithm] = parsed
    for algorithm, entries in listed.items():
        for name, digest in entries.items():
            data = read.tags.get(name)
            if data is None:
                problems.append(
                    BagError("missing", name, "is listed in the tag manifest but missing")
                )
            elif hashlib.new(algorithm, data).hexdigest() != digest:
                problems.append(
                    BagError(
                        "tampered",
                        name,
                        f"does not match its {algorithm} in the signed tag manifest",
                    )
                )
    covered = set().union(*(set(e) for e in listed.values())) if listed else set()
    for name in sorted(set(read.tags) - covered - UNSIGNED):
        problems.append(BagError("extra", name, "is not covered by the signed tag manifests"))
    problems.extend(
        p
        for p in read.problems
        if p.code not in ("malformed", "unsafe_path") and not p.where.startswith("data/")
    )
    if problems:
        result.failed("tag manifests", *_unique(problems))
    else:
        result.passed("tag manifests", f"{len(covered)} tag files match the signed tag manifests")


def _unique(problems: list[BagError]) -> list[BagError]:
    seen: dict[tuple[str, str], BagError] = {}
    for p in problems:
        seen.setdefault((p.code, p.where), p)
    return list(seen.values())


def _signed_tag(read: Read, result: Verification, name: str) -> bytes | None:
    """A tag file's bytes, only if the tag manifests check passed for it."""
    if any(p.where == name for p in result.problems):
        return None
    return read.tags.get(name)


def _check_payload(read: Read, result: Verification) -> None:
    problems: list[BagError] = []
    manifests: dict[str, dict[str, str]] = {}
    for algorithm in ALGORITHMS:
        name = f"manifest-{algorithm}.txt"
        data = _signed_tag(read, result, name)
        if data is None:
            problems.append(BagError("missing", name, "is missing or did not verify"))
            continue
        parsed = _parse_manifest(data, name, problems)
        if parsed is not None:
            manifests[algorithm] = parsed
    names = set().union(*(set(m) for m in manifests.values())) if manifests else set()
    for name in sorted(names):
        found = read.payload.get(name)
        if found is None:
            problems.append(
                BagError("missing", name, "is listed in the manifest but not in the package")
            )
            continue
        for algorithm, entries in manifests.items():
            expected = entries.get(name)
            if expected is None:
                problems.append(BagError("unlisted", name, f"is not in manifest-{algorithm}.txt"))
            elif expected != found.hashes[algorithm]:
                problems.append(
                    BagError(
                        "hash_mismatch",
                        name,
                        f"{algorithm} does not match the manifest: the file was changed",
                    )
                )
    for name in sorted(set(read.payload) - names):
        problems.append(
            BagError("extra", name, "is in the package but not in the signed manifests")
        )
    problems.extend(p for p in read.problems if p.where.startswith("data/"))
    if problems:
        result.failed("payload", *_unique(problems))
        return
    total = sum(d.size for d in read.payload.values())
    info = _signed_tag(read, result, BAG_INFO) or b""
    oxum = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.decode("utf-8", "replace").splitlines()
            if line.startswith("Payload-Oxum:")
        ),
        None,
    )
    if oxum is not None and oxum != f"{total}.{len(read.payload)}":
        result.failed(
            "payload",
            BagError(
                "oxum",
                BAG_INFO,
                f"Payload-Oxum says {oxum}, the payload is {total}.{len(read.payload)}",
            ),
        )
        return
    result.passed(
        "payload", f"{len(read.payload)} files, {total:,} bytes: every SHA-256 and SHA-512 matches"
    )


def _check_custody(read: Read, result: Verification) -> None:
    data = _signed_tag(read, result, CUSTODY)
    if data is None:
        result.failed("custody", BagError("missing", CUSTODY, "is missing or did not verify"))
        return
    try:
        graph = json.loads(data)
        steps = custody_module.timeline(graph)
    except (ValueError, AttributeError, TypeError) as exc:
        result.failed("custody", BagError("malformed", CUSTODY, f"is not JSON-LD: {exc}"))
        return
    remote = _remote_contexts(graph)
    if remote:
        result.failed(
            "custody",
            BagError(
                "remote_context",
                CUSTODY,
                f"refers to a context outside the file ({remote[0]!r}): only inline contexts are read",
            ),
        )
        return
    described = _described_hashes(graph)
    try:
        listed = parse_manifest(
            _signed_tag(read, result, "manifest-sha256.txt") or b"", "manifest-sha256.txt"
        )
    except (BagError, UnicodeDecodeError):
        listed = {}  # reported by the payload check
    problems = []
    # against the signed manifest, not the bytes read: a changed file is the payload check's
    for name, digest in sorted(listed.items()):
        if described.get(name) != digest:
            problems.append(
                BagError(
                    "custody_mismatch",
                    name,
                    "the chain of custody does not describe this file with its hash",
                )
            )
    if problems:
        result.failed("custody", *problems)
        return
    result.custody = graph
    result.passed(
        "custody", f"{len(steps)} custody steps; every file is described with its manifest hash"
    )


def _remote_contexts(value: Any) -> list[str]:
    """Every ``@context`` that is not an inline object: a JSON-LD processor would fetch it
    (a URL, a file), so a package that names one is refused before any is read."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                contexts = item if isinstance(item, list) else [item]
                found.extend(repr(c) for c in contexts if not isinstance(c, dict))
                for c in contexts:
                    if isinstance(c, dict):
                        found.extend(_remote_contexts(c))
            else:
                found.extend(_remote_contexts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_remote_contexts(item))
    return found


def _described_hashes(graph: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in graph.get("@graph", []):
        if not isinstance(node, dict) or node.get("@type") != "uco-observable:File":
            continue
        path, sha256 = None, None
        for facet in node.get("uco-core:hasFacet", []):
            if not isinstance(facet, dict):
                continue
            if facet.get("@type") == "uco-observable:FileFacet":
                path = facet.get("uco-observable:filePath")
            for h in (
                facet.get("uco-observable:hash", [])
                if facet.get("@type") == "uco-observable:ContentDataFacet"
                else []
            ):
                if isinstance(h, dict) and h.get("uco-types:hashMethod") == "SHA256":
                    value = h.get("uco-types:hashValue")
                    sha256 = str(value.get("@value") if isinstance(value, dict) else value).lower()
        if isinstance(path, str) and sha256:
            out[path] = sha256
    return out


def _check_conditions(read: Read, result: Verification) -> None:
    data = _signed_tag(read, result, CONDITIONS)
    if data is None:
        result.failed("conditions", BagError("missing", CONDITIONS, "is missing or did not verify"))
        return
    try:
        result.conditions = UseConditions.model_validate_json(data)
    except ValidationError as exc:
        result.failed("conditions", BagError("malformed", CONDITIONS, exc.errors()[0]["msg"]))
        return
    kinds = ", ".join(f"{c.kind} {c.article}" for c in result.conditions.conditions)
    result.passed("conditions", kinds or "none")


def unpack(
    source: Path,
    to: Path,
    *,
    trust: Trust,
    identities: list[x25519.Identity] | None = None,
    progress: Progress | None = None,
    journal: Path | None = None,
) -> Verification:
    """Verify while writing the bag under ``to/<package id>/``; on any failure nothing is
    left there. The written folder is checked once more with the ``bagit`` library
    (structure and completeness; the hashes were checked in the stream). The clear text is
    written in a staging folder (evidence/staging.py) that a crash cannot leave behind for
    long: on a node, ``journal`` (its evidence store's ``.staging``) lists it."""
    import bagit  # type: ignore[import-untyped]

    created = not to.exists()
    to.mkdir(parents=True, exist_ok=True)
    staging.sweep_folder(to)  # what an earlier unpack here left when its process was killed
    result: Verification | None = None
    try:
        with staging.staging(to, journal) as held:
            result = verify(
                source,
                trust=trust,
                identities=identities,
                dest=held.path,
                validate_case=True,
                progress=progress,
            )
            if not result.ok:
                return result
            package_id = str((result.claims or {}).get("package"))
            bag_dir = held.path / package_id
            bag_dir.mkdir(parents=True, exist_ok=True)
            for name, data in result.tags.items():
                (bag_dir / name).write_bytes(data)
            try:
                bagit.Bag(str(bag_dir)).validate(completeness_only=True)
            except bagit.BagError as exc:
                result.failed("bagit", BagError("bagit", str(bag_dir), str(exc)))
                return result
            result.passed("bagit", "the unpacked folder is a complete bag (bagit library)")
            final = to / package_id
            if final.exists():
                result.failed(
                    "unpack",
                    BagError("exists", str(final), "already exists; choose another folder"),
                )
                return result
            os.replace(bag_dir, final)
            staging.fsync_dir(to)
            result.passed("unpack", str(final))
            return result
    finally:
        if created and (result is None or not result.ok):
            with contextlib.suppress(OSError):
                to.rmdir()  # made for this unpack, and nothing came of it
