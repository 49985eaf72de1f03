"""A complete request of every form (illustrative: the demo States XA and XB, invented
authorities and facts), and the readers of a PDF the tests use (poppler's pdftotext)."""

from __future__ import annotations

import copy
import json
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hanoinet.convention import convention
from hanoinet.documents.signature import Signer
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey, Trust
from hanoinet.exchange.keys import KeySet
from hanoinet.law import check_text, default_context, template
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
FORMS = list(convention().forms)
LANGS = ("en", "ar", "es", "fr", "ru", "zh")
AUTHORITY = "Aurelia Ministry of Justice, International Cooperation Unit (demo)"
FACTS = "On 2026-11-20 unknown persons bypassed the hospital's VPN from 203.0.113.7 (illustrative)."
FULL: dict[str, Any] = {
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": {
        "name": AUTHORITY,
        "contact": "+000 100 0000, mla@justice.aurelia.example",
    },
    "matter": {
        "nature": "investigation",
        "description": "Intrusion into the mail server of Aurelia General Hospital (illustrative)",
        "authority": "Public Prosecutor of Aurelia City, cybercrime section (demo)",
    },
    "offences": [
        {
            "article": "7",
            "name": "Unauthorized access (Aurelia Criminal Code, demo)",
            "max_penalty_years": 5,
            "conduct": ["access"],
            "elements": ["infringing_security_measures"],
        }
    ],
    "facts_summary": FACTS,
    "assistance_sought": "Produce the connection logs of 203.0.113.7 for 2026-11-19 to 2026-11-21.",
    "procedures_requested": "Certify the logs as true copies (illustrative).",
    "persons": [
        {
            "name": "John Doe (fictional)",
            "role": "suspect",
            "nationality": "XA",
            "location": "Borealis",
            "identifiers": ["passport X0000000 (fictional)"],
        }
    ],
    "purpose": "Evidence at trial of the persons responsible.",
    "data": [
        {
            "category": "traffic",
            "identifiers": ["203.0.113.7"],
            "custodian": "Borealis Hosting Ltd (demo)",
            "location": "Borealis",
            "relation_to_offence": "Address used for the access",
        }
    ],
    "necessity": "The logs are deleted after 30 days (illustrative).",
    "mla_to_follow": True,
    "confidential": True,
    "no_user_notice": True,
    "deadline": {"date": "2026-12-15", "reason": "Trial opens on 2027-01-10 (illustrative)."},
    "language": "en",
    "period": {
        "start": "2026-12-01",
        "end": "2026-12-31",
        "justification": "The intrusions recur monthly (illustrative).",
    },
    "emergency": "A patient's ventilator settings are being changed remotely (illustrative).",
    "judgment": "Warrant of arrest No. 12/2026 of the Aurelia City Court (illustrative).",
    "consent": "The sentenced person consented in writing on 2026-11-01 (illustrative).",
    "agreement": "Joint investigation agreement XA-XB 2026/1 (illustrative).",
    "property": "Bank account XA00 0000 0000 (fictional).",
    "order": "Confiscation order No. 7/2026 of the Aurelia City Court (illustrative).",
}
URGENT = {"emergency_disclosure": "emergency", "provisional_arrest": "urgent"}
CHANNEL = {"law_enforcement_cooperation": "point_of_contact"}


def complete(kind: str) -> dict[str, Any]:
    """A request of ``kind`` with every field its form requires, and no error finding."""
    document = template(kind)
    for key in list(document):
        if key in FULL:
            document[key] = copy.deepcopy(FULL[key])
    document["urgency"] = URGENT.get(kind, document.get("urgency", "routine"))
    document["channel"] = CHANNEL.get(kind, document.get("channel"))
    return document


def checked(document: dict[str, Any]) -> tuple[RequestDocument, list[Finding]]:
    return check_text(json.dumps(document), default_context(AT.date()))


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The text of a PDF as poppler reads it back, bidi controls dropped: in content order
    (``-raw``), or as laid out (``-layout``: right-to-left words in reading order, but it
    turns ``42(1)`` around)."""
    out = subprocess.run(
        ["pdftotext", "-layout" if layout else "-raw", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    controls = (0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x2066, 0x2067, 0x2068, 0x2069)
    return out.translate(dict.fromkeys(controls))


@dataclass(frozen=True)
class Issuers:
    """Two nodes (XA issues, XB does not), an outsider's keys, the directory and its
    authority: everything ``verify`` is checked against."""

    keys: KeySet
    other_keys: KeySet
    outsider_keys: KeySet
    directory: Directory
    token: str
    authorities: dict[str, dict[str, Any]]

    def signer(self, keys: KeySet | None = None, node: str = "xa-ca", use: str = "doc") -> Signer:
        """The node as issuer, signing with its P-256 ``doc`` key (as nodes do) or, with
        ``use="sig"``, its Ed25519 key (as a node made before ``doc`` keys does)."""
        entry = self.directory.node(node)
        assert entry is not None
        key = (keys or self.keys).active(use, AT)  # type: ignore[arg-type]
        return Signer(entry, key, self.token)

    @property
    def trust(self) -> Trust:
        return Trust(self.authorities)


def node_entry(node_id: str, state: str, keys: KeySet) -> NodeEntry:
    return NodeEntry(
        id=node_id,
        state=state,
        name=f"Central authority of {state} (demo)",
        roles=("central_authority",),
        endpoint=f"https://{node_id}.example.org/hanoinet",
        keys=tuple(PublicKey(**k) for k in keys.public()),
        valid_from=AT - timedelta(days=30),
        illustrative=True,
    )


@pytest.fixture(scope="session")
def issuers() -> Issuers:
    a, b, c = (KeySet.generate(AT - timedelta(days=10)) for _ in range(3))
    authority = crypto.generate_signing_key()
    kid = crypto.thumbprint(crypto.public_jwk(authority))
    directory = Directory(
        version=1,
        issued_at=AT - timedelta(days=1),
        valid_until=AT + timedelta(days=90),
        nodes=(node_entry("xa-ca", "XA", a), node_entry("xb-ca", "XB", b)),
    )
    token = dirmod.issue(directory, authority, kid).token
    return Issuers(a, b, c, directory, token, {kid: crypto.public_jwk(authority)})


def pdf_parts(pdf: bytes) -> tuple[str, dict[str, bytes]]:
    """The XMP metadata and the embedded files of a PDF, read with pyHanko."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    from hanoinet.documents.signature import _embedded

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    metadata = reader.root["/Metadata"].get_object().data.decode("utf-8")
    return metadata, _embedded(reader)


def shows(text: str, phrase: str, lang: str) -> bool:
    """Whether ``phrase`` is in the text read back: each word in Arabic (read with
    ``layout``), else as a run of words."""
    flat = " ".join(text.split())
    if lang == "ar":
        # poppler gives the lam-alef ligature's letters and the vowel marks in either order,
        # and brackets mirrored: compare without them
        def bare(value: str) -> str:
            kept = value.translate(dict.fromkeys(map(ord, "اأإآل()[]")))
            return "".join(c for c in kept if unicodedata.category(c) != "Mn")

        letters = "".join(bare(flat).split())  # it may also break a word with a space
        return all(bare(word) in letters for word in phrase.split() if bare(word))
    if lang == "zh":  # no spaces between words: a line may break anywhere
        return "".join(phrase.split()) in "".join(flat.split())
    return " ".join(phrase.split()) in flat
