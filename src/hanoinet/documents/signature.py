"""PAdES signatures on formal request documents, made with the node's own key.

The node signs with its ECDSA P-256 document-signing key (``doc``), published in the signed
directory beside its Ed25519 key, so that the readers people open documents with (Adobe
Acrobat, Poppler's ``pdfsig``) can check the signature: neither knows Ed25519. A node made
before it had a ``doc`` key (or whose ``doc`` key the directory does not list yet) signs
with its Ed25519 key as before (ISO 32002, on PDF 2.0); ``hanoinet document verify`` accepts
both. Trust needs nothing new: the certificate in the signature is self-issued by the key
(it carries the node's id and State), and a verifier trusts it because the directory lists
the key for that node and the key was usable when the document was signed, exactly as for
a signed message. Whoever has no directory sees a valid signature by an unknown issuer.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped]
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hanoinet.documents.render import ATTACHMENT, DIRECTORY_ATTACHMENT, FORMAT, Issuer, render
from hanoinet.errors import DirectoryRejected
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as directory_module
from hanoinet.exchange.directory import NodeEntry, PublicKey
from hanoinet.exchange.keys import KeyEntry, KeySet
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.store.audit import canonical

T = TypeVar("T")
FIELD = "hanoinet-signature"
RESERVED = 8192
"""Bytes kept for the signature (a CMS with an Ed25519 signature and the node's certificate
is about 1.5 KB); given, so that pyHanko does not sign once more only to measure it."""
MAX_BYTES = 32 * 1024 * 1024
"""A formal request is a few pages; a bigger file is refused before it is parsed."""
PDFA_PART = re.compile(r'pdfaid:part(?:="|>)4(?:"|<)')
PDFA_CONFORMANCE = re.compile(r'pdfaid:conformance(?:="|>)F(?:"|<)')
"""PDF/A-4f as the XMP declares it (as an attribute or an element: both are RDF)."""
CHECKS = ("structure", "signature", "signer", "coverage", "request", "pdf/a")


def _b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _time(at: datetime) -> Any:
    """An X.509 time: UTCTime until 2049, GeneralizedTime after (RFC 5280, 4.1.2.5)."""
    at = at.astimezone(UTC)
    return asn1_x509.Time({"utc_time" if at.year < 2050 else "general_time": at})


def _certificate(key: KeyEntry, node_id: str, state: str) -> Any:
    """A certificate for the node's key, self-issued and signed by the key itself, wherever
    it is kept (the key file, or a PKCS#11 token that never lets it out). Built with
    asn1crypto: the certificate builders that sign only with a key in memory cannot."""
    public = crypto.import_document_key(key.private) if key.use == "doc" else None
    spki = (public or crypto.import_key(key.private)).public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    algorithm = asn1_algos.SignedDigestAlgorithm(
        {"algorithm": "sha256_ecdsa" if key.use == "doc" else "ed25519"}
    )
    name = asn1_x509.Name.build(
        {
            "common_name": f"hanoinet node {node_id}",
            "organizational_unit_name": node_id,
            "organization_name": f"State {state}",
        }
    )
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": int(hashlib.sha256(key.kid.encode()).hexdigest()[:30], 16),
            "signature": algorithm,
            "issuer": name,
            "validity": {
                "not_before": _time(key.created - timedelta(minutes=5)),
                "not_after": _time(key.created + timedelta(days=3650)),
            },
            "subject": name,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(spki),
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"digital_signature", "non_repudiation"},
                },
            ],
        }
    )
    return asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algorithm,
            "signature_value": key.sign_bytes(tbs.dump()),
        }
    )


def _outside_event_loop(work: Callable[[], T]) -> T:
    """Run ``work`` here, or in a thread when this thread runs an event loop: pyHanko's
    blocking calls start their own (``asyncio.run``), which a running loop refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


_CERTIFICATES: dict[tuple[str, str, str, datetime], Any] = {}
"""The certificate per key, node, State and key creation, made once per process (building and
signing it is most of a document signature's cost otherwise)."""


def _signer(key: KeyEntry, node: NodeEntry) -> Any:
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class NodeSigner(signers.Signer):
        """Signs through ``KeyEntry.sign_bytes``: one path for a key in the file or in a
        token (pyHanko's own PKCS#11 signer would open a second session of its own)."""

        async def async_sign_raw(
            self, data: bytes, digest_algorithm: str, dry_run: bool = False
        ) -> bytes:
            if dry_run:  # only its size is wanted: no signature made, none asked of a token
                return bytes(72 if key.use == "doc" else 64)
            if key.use == "doc" and digest_algorithm != "sha256":
                raise crypto.CryptoFailure(f"a P-256 key signs SHA-256, not {digest_algorithm}")
            return key.sign_bytes(data)

    made = (key.kid, node.id, node.state, key.created)
    cert = _CERTIFICATES.get(made)
    if cert is None:
        if len(_CERTIFICATES) >= 16:
            _CERTIFICATES.clear()
        cert = _CERTIFICATES[made] = _certificate(key, node.id, node.state)
    return NodeSigner(signing_cert=cert, cert_registry=SimpleCertificateStore())  # type: ignore[no-untyped-call]


def sign(pdf: bytes, *, key: KeyEntry, node: NodeEntry) -> bytes:
    """``pdf`` with a PAdES B-B signature by the node's key over the whole file."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signer(key, node)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Formal request under the United Nations Convention against Cybercrime",
        location=node.state,
    )
    out = _outside_event_loop(
        lambda: signers.sign_pdf(writer, meta, signer=signer, bytes_reserved=RESERVED)
    )
    return bytes(out.getvalue())


@dataclass
class Check:
    name: str
    ok: bool | None = None
    """True passed, False failed, None not reached."""
    detail: str = ""


@dataclass
class DocumentVerification:
    checks: list[Check] = field(default_factory=lambda: [Check(n) for n in CHECKS])
    signer: dict[str, Any] | None = None
    signed_at: datetime | None = None
    request: dict[str, Any] | None = None
    """The attached ``request.json`` (format, request_id, request_sha256, language, draft,
    issued_at, issuer, request)."""
    directory_token: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def passed(self, name: str, detail: str = "") -> None:
        found = self.check(name)
        found.ok, found.detail = True, detail

    def failed(self, name: str, detail: str) -> None:
        found = self.check(name)
        found.ok, found.detail = False, detail

    def to_json(self) -> dict[str, Any]:
        attached = self.request or {}
        return {
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "request_id": attached.get("request_id"),
            "request_sha256": attached.get("request_sha256"),
            "language": attached.get("language"),
            "draft": attached.get("draft"),
        }


def _embedded(reader: Any) -> dict[str, bytes]:
    names = reader.root.get("/Names")
    if names is None or "/EmbeddedFiles" not in names:
        return {}
    listed = names["/EmbeddedFiles"].get("/Names", [])
    found: dict[str, bytes] = {}
    for k in range(0, len(listed) - 1, 2):
        spec = listed[k + 1].get_object()
        found[str(listed[k])] = spec["/EF"]["/F"].get_object().data
    return found


ALGORITHM_NAMES = {"sig": "Ed25519", "doc": "ECDSA P-256"}


def _public_members(cert: Any) -> tuple[str, str, str | None] | None:
    """The certificate's key as (use, x, y) of the JWK a directory lists it under; None for
    a kind of key no node signs documents with."""
    loaded = serialization.load_der_public_key(cert.public_key.dump())
    if isinstance(loaded, Ed25519PublicKey):
        raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "sig", _b64(raw), None
    if isinstance(loaded, ec.EllipticCurvePublicKey) and isinstance(loaded.curve, ec.SECP256R1):
        numbers = loaded.public_numbers()
        return "doc", _b64(numbers.x.to_bytes(32, "big")), _b64(numbers.y.to_bytes(32, "big"))
    return None


PDF_TIME_STEP = timedelta(seconds=1) - timedelta(microseconds=1)
"""The last instant of the second a PDF date names."""


def _listed_signer(
    directory: directory_module.Directory, members: tuple[str, str, str | None], at: datetime
) -> tuple[NodeEntry, PublicKey] | str:
    use, x, y = members
    for node in directory.nodes:
        for key in node.keys:
            if key.use == use and key.x == x and key.y == y:
                # A PDF's signing time is to the second (its /M date); the key's validity is
                # to the microsecond: a document signed in the key's first second was signed
                # at some instant of that second (a fast node renders within it).
                if not (key.usable_at(at) or key.usable_at(at + PDF_TIME_STEP)):
                    return (
                        f"the key {key.kid} of node {node.id} was not valid at "
                        f"{at.isoformat()} (revoked or expired)"
                    )
                return node, key
    return "the signing key is not listed for any node in the directory"


def verify(
    pdf: bytes, trust: directory_module.Trust, *, expected_sha256: str | None = None
) -> DocumentVerification:
    """Every check on a formal request document; never raises on a bad file."""
    result = DocumentVerification()
    if len(pdf) > MAX_BYTES:
        result.failed(
            "structure", f"the file is {len(pdf)} bytes; a formal request is at most {MAX_BYTES}"
        )
        return result
    if not pdf.startswith(b"%PDF-"):
        result.failed("structure", "not a PDF file")
        return result
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        attachments = _embedded(reader)
    except (PdfError, KeyError, TypeError, ValueError, AttributeError) as exc:
        result.failed("structure", f"the PDF cannot be read: {exc}")
        return result
    result.passed("structure", f"PDF {reader.input_version[0]}.{reader.input_version[1]}")
    if not signatures:
        result.failed("signature", "the document is not signed (a draft, or made off a node)")
        _read_request(result, attachments, expected_sha256)
        return result
    embedded = signatures[-1]
    cert = embedded.signer_cert
    members = _public_members(cert)
    if members is None:
        result.failed(
            "signature",
            f"signed with {cert.public_key.algorithm}, not a node's Ed25519 or P-256 key",
        )
        return result
    signed_at = embedded.self_reported_timestamp
    result.signed_at = signed_at.astimezone(UTC) if signed_at else None
    carried = attachments.get(DIRECTORY_ATTACHMENT, b"").decode("ascii", errors="replace")
    if trust.directory is None and trust.directory_token is None and not carried:
        result.failed("signer", "no directory was given and the document carries none")
        return result
    try:
        directory = directory_module.historical(trust, carried)
    except DirectoryRejected as exc:
        result.failed("signer", f"the directory is refused: {exc.message}")
        return result
    at = result.signed_at or datetime.now(UTC)
    listed = _listed_signer(directory, members, at)
    if isinstance(listed, str):
        result.failed("signer", listed)
        return result
    node, key = listed
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    status = _outside_event_loop(
        lambda: validate_pdf_signature(embedded, ValidationContext(trust_roots=[cert]))
    )
    if not status.intact or not status.valid:
        result.failed(
            "signature", "the signature does not match the document: it was altered after signing"
        )
        return result
    result.passed("signature", f"{ALGORITHM_NAMES[key.use]} key {key.kid}, PAdES")
    result.signer = {"node": node.id, "state": node.state, "name": node.name, "kid": key.kid}
    subject = cert.subject.native.get("organizational_unit_name")
    if subject != node.id:
        result.failed(
            "signer", f"the certificate names node {subject!r}, but the key is {node.id}'s"
        )
        return result
    result.passed(
        "signer", f"node {node.id} ({node.state}), listed in directory version {directory.version}"
    )
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        result.failed("coverage", "something was added to the file after it was signed")
    else:
        result.passed("coverage", "the signature covers the whole file")
    _read_request(result, attachments, expected_sha256)
    metadata = reader.root.get("/Metadata")
    xmp = metadata.get_object().data.decode("utf-8", errors="replace") if metadata else ""
    if PDFA_PART.search(xmp) and PDFA_CONFORMANCE.search(xmp):
        result.passed("pdf/a", "PDF/A-4f declared")
    else:
        result.failed("pdf/a", "the file does not declare PDF/A-4f")
    return result


def _read_request(
    result: DocumentVerification, attachments: dict[str, bytes], expected: str | None
) -> None:
    raw = attachments.get(ATTACHMENT)
    if raw is None:
        result.failed("request", f"no {ATTACHMENT} attached: this is not a hanoinet formal request")
        return
    try:
        attached = json.loads(raw)
        assert isinstance(attached, dict) and attached.get("format") == FORMAT
        digest = hashlib.sha256(canonical(attached["request"])).hexdigest()
    except (ValueError, AssertionError, KeyError, TypeError):
        result.failed("request", f"{ATTACHMENT} is not a {FORMAT} record")
        return
    result.request = attached
    if digest != attached.get("request_sha256"):
        result.failed(
            "request",
            f"the attached request hashes to {digest}, not to the printed {attached.get('request_sha256')}",
        )
    elif expected is not None and expected != digest:
        result.failed(
            "request",
            f"this document was made from request {digest}, not from the one given ({expected})",
        )
    elif attached.get("draft"):
        result.failed("request", "a draft: the request had errors when it was rendered")
    else:
        matched = " and matches the one given" if expected else ""
        result.passed(
            "request",
            f"request {attached.get('request_id') or ''} SHA-256 {digest}{matched}".replace(
                "  ", " "
            ),
        )


@dataclass(frozen=True)
class Signer:
    """A node that issues documents: its directory entry, its signing key, the directory."""

    node: NodeEntry
    key: KeyEntry = field(repr=False)
    directory_token: str | None = field(default=None, repr=False)


def issuing_key(keys: KeySet, node: NodeEntry, at: datetime) -> KeyEntry:
    """The key that signs this node's documents at ``at``: its newest P-256 ``doc`` key the
    directory lists, else its Ed25519 signing key (a node made before ``doc`` keys, or one
    whose new key the directory does not list yet: a document signed with an unlisted key
    would verify nowhere)."""
    doc = keys.newest_valid("doc", at)
    if doc is not None and any(k.kid == doc.kid and k.usable_at(at) for k in node.keys):
        return doc
    return keys.active("sig", at)


@dataclass(frozen=True)
class Made:
    pdf: bytes
    lang: str
    draft: bool
    request_sha256: str
    pages: int
    signed: bool


def make(
    document: dict[str, Any],
    doc: RequestDocument,
    findings: list[Finding],
    *,
    lang: str | None,
    at: datetime,
    request_id: str | None = None,
    signer: Signer | None = None,
    peer_reference: tuple[str, str] | None = None,
) -> Made:
    """The formal request: signed by ``signer`` when it is final; a draft is never signed."""
    issuer = Issuer(signer.node.id, signer.node.name, signer.node.state) if signer else None
    rendered = render(
        document,
        doc,
        findings,
        lang=lang,
        issued_at=at,
        issuer=issuer,
        request_id=request_id,
        directory_token=signer.directory_token if signer else None,
        peer_reference=peer_reference,
    )
    pdf, signed = rendered.pdf, False
    if signer is not None and not rendered.draft:
        pdf = sign(pdf, key=signer.key, node=signer.node)
        signed = True
    return Made(pdf, rendered.lang, rendered.draft, rendered.request_sha256, rendered.pages, signed)
