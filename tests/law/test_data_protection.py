"""Personal data: onward transfer needs the sender's prior authorization (36(3))."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hanoinet.law import Finding
from hanoinet.law.data_protection import check_data_protection
from hanoinet.law.document import read_request

Check = Callable[..., list[Finding]]

CODES = {"onward_recipient_missing", "onward_source_missing", "onward_transfer_unauthorized"}
TRANSFER = {"recipient": "XC", "received_from": "XB", "authorization": "XB MoJ 2026/44, 2026-11-20"}


def transfer(onward: dict[str, Any] | None) -> list[tuple[str, str, str | None, str]]:
    doc, shape = read_request({"kind": "spontaneous_information", "onward_transfer": onward})
    assert shape == []
    return [(f.code, f.severity, f.article, f.field) for f in check_data_protection(doc)]


def test_no_onward_transfer_no_finding() -> None:
    assert transfer(None) == []


def test_authorized_onward_transfer() -> None:
    assert transfer(TRANSFER) == []


def test_unauthorized_onward_transfer_names_the_source() -> None:
    doc, _ = read_request(
        {"kind": "spontaneous_information", "onward_transfer": {**TRANSFER, "authorization": None}}
    )
    [f] = check_data_protection(doc)
    assert (f.code, f.severity, f.article, f.field) == (
        "onward_transfer_unauthorized",
        "error",
        "36(3)",
        "/onward_transfer/authorization",
    )
    assert "prior authorization of XB (36(3))" in f.message


@pytest.mark.parametrize("authorization", [None, ""])
def test_unauthorized_with_unknown_source(authorization: str | None) -> None:
    doc, _ = read_request(
        {
            "kind": "spontaneous_information",
            "onward_transfer": {"recipient": "XC", "authorization": authorization},
        }
    )
    found = list(check_data_protection(doc))
    assert [f.code for f in found] == ["onward_source_missing", "onward_transfer_unauthorized"]
    assert "the State that sent the data" in found[1].message


@pytest.mark.parametrize("value", [None, ""])
def test_recipient_missing(value: str | None) -> None:
    assert transfer({**TRANSFER, "recipient": value}) == [
        ("onward_recipient_missing", "error", "36(3)", "/onward_transfer/recipient")
    ]


@pytest.mark.parametrize("value", [None, ""])
def test_source_missing(value: str | None) -> None:
    assert transfer({**TRANSFER, "received_from": value}) == [
        ("onward_source_missing", "error", "36(3)", "/onward_transfer/received_from")
    ]


def test_empty_onward_transfer_reports_everything() -> None:
    assert [c for c, *_ in transfer({})] == [
        "onward_recipient_missing",
        "onward_source_missing",
        "onward_transfer_unauthorized",
    ]


def test_checked_on_every_request(findings: Check, example: dict[str, Any]) -> None:
    example["onward_transfer"] = {"recipient": "Europol", "received_from": "XB"}
    found = [f for f in findings(example) if f.code in CODES]
    assert [(f.code, f.severity) for f in found] == [("onward_transfer_unauthorized", "error")]
    example["onward_transfer"]["authorization"] = "XB letter of 2026-11-22"
    assert [f for f in findings(example) if f.code in CODES] == []


@pytest.mark.parametrize("field", ["authorization", "recipient", "received_from"])
def test_whitespace_is_not_an_authorization(field: str) -> None:
    assert transfer({**TRANSFER, field: "  "}) != []
