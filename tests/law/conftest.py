"""Fixtures for the legal checks: the example request, complete documents of other forms,
and a way to check a modified copy of any of them.

Every base document below checks with no error on ``AS_OF`` under ``default_context``, so a
test that removes one content and sees an error knows the error comes from that removal.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hanoinet.law import Context, Finding, check, default_context
from hanoinet.law.document import read_request

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
AS_OF = date(2026, 11, 24)

AUTHORITY = {"name": "Aurelia Ministry of Justice (demo)", "contact": "+000 100 0000"}

IP = {"kind": "ip", "value": "203.0.113.7", "port": 51234, "timestamp": "2026-11-20T02:14:00Z"}
"""The address used for the access, as a provider can resolve it."""

STORED_DATA: dict[str, Any] = {
    "format": "hanoinet.request/1",
    "kind": "stored_data",
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": AUTHORITY,
    "matter": {
        "nature": "investigation",
        "description": "Intrusion into a hospital mail server",
        "authority": "Aurelia Public Prosecutor (demo), directing the investigation",
    },
    "offences": [
        {"article": "7", "conduct": ["access"], "elements": ["infringing_security_measures"]}
    ],
    "facts_summary": "Unknown persons accessed the mail server of a hospital on 2026-11-20.",
    "assistance_sought": "Disclosure of the subscriber data of 203.0.113.7.",
    "data": [{"category": "subscriber", "identifiers": [IP]}],
    "persons": [{"name": "Unknown", "role": "suspect"}],
    "purpose": "To identify the persons who accessed the server.",
    "language": "en",
    "channel": "central_authority",
}

COLLECTION: dict[str, Any] = {
    **STORED_DATA,
    "kind": "realtime_traffic",
    "data": [{"category": "traffic", "identifiers": [IP]}],
    "period": {
        "start": "2026-12-01",
        "end": "2026-12-31",
        "justification": "The intruder connects weekly.",
    },
}

EMERGENCY: dict[str, Any] = {
    "format": "hanoinet.request/1",
    "kind": "emergency_disclosure",
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": AUTHORITY,
    "emergency": "A kidnapped child is held by the account holder; her life is at risk.",
    "facts_summary": "A ransom demand came from the account on 2026-11-23.",
    "data": [
        {
            "category": "subscriber",
            "identifiers": ["kidnapper@mail.example"],
            "custodian": "Borealis Mail (demo)",
        }
    ],
    "urgency": "emergency",
    "language": "en",
    "channel": "point_of_contact",
}

EXTRADITION: dict[str, Any] = {
    "format": "hanoinet.request/1",
    "kind": "extradition",
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": AUTHORITY,
    "persons": [
        {"name": "J. Doe", "role": "accused", "nationality": "XA", "location": "Borealis City"}
    ],
    "offences": [
        {
            "article": "7",
            "conduct": ["access"],
            "elements": ["infringing_security_measures"],
            "max_penalty_years": 3,
        }
    ],
    "facts_summary": "J. Doe broke into the hospital's mail server.",
    "judgment": "Arrest warrant 2026/17 of the Aurelia City Court (demo)",
    "language": "en",
    "channel": "central_authority",
}


def load_example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def run(doc: dict[str, Any], ctx: Context) -> list[Finding]:
    parsed, shape = read_request(doc)
    assert shape == [], shape
    return check(parsed, ctx)


@pytest.fixture(scope="session")
def ctx() -> Context:
    return default_context(AS_OF)


@pytest.fixture
def example() -> dict[str, Any]:
    return load_example()


@pytest.fixture
def stored_data() -> dict[str, Any]:
    return copy.deepcopy(STORED_DATA)


@pytest.fixture
def collection() -> dict[str, Any]:
    return copy.deepcopy(COLLECTION)


@pytest.fixture
def emergency() -> dict[str, Any]:
    return copy.deepcopy(EMERGENCY)


@pytest.fixture
def extradition() -> dict[str, Any]:
    return copy.deepcopy(EXTRADITION)


@pytest.fixture
def findings(ctx: Context) -> Callable[..., list[Finding]]:
    """``findings(doc)`` or ``findings(doc, other_ctx)``: check a document given as a dict."""

    def _findings(doc: dict[str, Any], context: Context | None = None) -> list[Finding]:
        return run(doc, context or ctx)

    return _findings
