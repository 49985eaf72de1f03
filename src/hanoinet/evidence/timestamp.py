"""An RFC 3161 time-stamp on a package's signature, from a time-stamping authority (TSA).

A receipt (evidence/receipt.py) anchors a package's signing time when it arrives; a
time-stamp anchors it before it leaves. When ``HANOINET_TSA_URL`` is set, ``evidence pack``
asks that TSA for a token over the SHA-256 of the package's signature, right after signing,
and keeps the token in the bag as ``hanoinet-signature.tsr`` (next to the signature, outside
the tag manifests, which the signature signs). A verifier that trusts the TSA's root
certificate (``HANOINET_TSA_ROOTS`` on a node, ``evidence verify --tsa-root`` offline) checks
the token (the TSA's CMS signature, its certificate's chain to that root and its
time-stamping key purpose, the message imprint) and uses its ``genTime`` as an anchor.

The client and the validation are pyHanko's (``HTTPTimeStamper``,
``validate_tst_signed_data``), the library that signs our formal documents; nothing here
parses CMS by hand. Both are coroutines: run here with ``asyncio.run``, from the synchronous
code that packs and verifies (never from inside an event loop).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

NAME = "hanoinet-signature.tsr"
"""The token's file in the bag: DER, as the TSA answered."""
MAX_TOKEN = 64 << 10
"""A time-stamp token is a few KB (the TSA's certificates included): more is refused."""
TIMEOUT = 10.0


class TimestampFailed(Exception):
    """The TSA could not be reached, refused, or answered with something that is not a
    valid token for the digest asked (the package is not written: set up the TSA, or unset
    ``HANOINET_TSA_URL`` to pack without one)."""


class TimestampInvalid(Exception):
    """A token that does not validate; ``code`` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Stamped:
    at: datetime
    tsa: str
    """The TSA's name (its certificate's subject common name, or the whole subject)."""


def request(url: str, digest: bytes) -> bytes:
    """A token (DER) over ``digest`` (SHA-256) from the TSA at ``url``."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    try:
        token = asyncio.run(HTTPTimeStamper(url, timeout=TIMEOUT).async_timestamp(digest, "sha256"))
    except Exception as exc:  # aiohttp errors, TSA refusals (pyHanko raises several kinds)
        raise TimestampFailed(f"the time-stamping authority {url} did not stamp: {exc}") from None
    der: bytes = token.dump()
    return der


def load_roots(path: Path) -> list[Any]:
    """The trusted TSA root certificates in a PEM (one or more) or DER file."""
    from asn1crypto import pem, x509  # type: ignore[import-untyped]

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    try:
        if pem.detect(data):
            return [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
        return [x509.Certificate.load(data)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a certificate (PEM or DER): {exc}") from None


def verify(token: bytes, digest: bytes, roots: list[Any]) -> Stamped:
    """The time and the TSA of a token over ``digest``, once it validated against ``roots``
    at its own ``genTime`` (a TSA certificate expired since does not undo a stamp made while
    it was valid); TimestampInvalid otherwise."""
    from asn1crypto import cms, tsp
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    if len(token) > MAX_TOKEN:
        raise TimestampInvalid("timestamp_malformed", f"larger than {MAX_TOKEN} bytes")
    try:
        info = cms.ContentInfo.load(token)
        if info["content_type"].native != "signed_data":
            raise ValueError("not CMS SignedData")
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            raise ValueError("no TSTInfo inside")
        algorithm = tst["message_imprint"]["hash_algorithm"]["algorithm"].native
        gen_time: datetime = tst["gen_time"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampInvalid("timestamp_malformed", f"not an RFC 3161 token: {exc}") from None
    if algorithm != "sha256":
        raise TimestampInvalid("timestamp_malformed", f"stamps a {algorithm} digest, not SHA-256")
    if not roots:
        raise TimestampInvalid("timestamp_untrusted", "no time-stamping authority is trusted")
    context = ValidationContext(trust_roots=roots, moment=gen_time)
    try:
        found = asyncio.run(
            validate_tst_signed_data(signed, context, expected_tst_imprint=lambda _a: digest)
        )
    except Exception as exc:  # pyHanko's format errors
        raise TimestampInvalid("timestamp_malformed", f"cannot be validated: {exc}") from None
    status = TimestampSignatureStatus(**found)
    if not status.valid:
        raise TimestampInvalid("timestamp_forged", "the TSA's signature does not verify")
    if not status.intact:
        raise TimestampInvalid("timestamp_mismatch", "stamps another signature than this one")
    if not status.trusted:
        raise TimestampInvalid(
            "timestamp_untrusted",
            f"its TSA is not trusted here ({status.trust_problem_indic}): "
            "give the TSA's root certificate",
        )
    subject = status.signing_cert.subject
    name = subject.native.get("common_name") or subject.human_friendly
    return Stamped(gen_time, str(name))
