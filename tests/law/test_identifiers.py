"""Identifiers by kind (issue 23): each checked by its kind, an IP address without its time is
a warning, free text as before, and every finding says it rests on the format or practice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.law.conftest import STORED_DATA

from hanoinet.law.document import Identifier, read_request
from hanoinet.law.findings import Finding
from hanoinet.law.identifiers import written

CheckDoc = Callable[..., list[Finding]]


def _with(*identifiers: Any, period: dict[str, str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"category": "subscriber", "identifiers": list(identifiers)}
    if period is not None:
        item["period"] = period
    return {**STORED_DATA, "data": [item]}


def _about_identifiers(found: list[Any]) -> list[tuple[str, str, str, str | None]]:
    return [
        (f.code, f.severity, f.field, f.basis)
        for f in found
        if "/identifiers" in f.field or "/data/0/period" in f.field
    ]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("ip", "203.0.113.7"),
        ("ip", "2001:db8::7"),
        ("email", "k.demo@mail.borealis.example"),
        ("telephone", "+84 24 1234 5678"),
        ("telephone", "(024) 1234-5678"),
        ("telephone", "(+84) 24 1234 5678"),
        ("telephone", "+84 24 1234 5678 ext. 12"),
        ("telephone", "024/1234-5678"),
        ("telephone", "+٩٦٦ ١٢ ٣٤٥ ٦٧٨٩"),
        ("domain", "borealis.example"),
        ("domain", "xn--80ak6aa92e.com"),
        ("domain", "пример.рф"),
        ("wallet", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"),
        ("other", "IMEI 490154203237518"),
    ],
)
def test_a_well_written_identifier_of_each_kind_gives_no_error(
    findings: CheckDoc, kind: str, value: str
) -> None:
    typed: dict[str, Any] = {"kind": kind, "value": value, "service": "Example (demo)"}
    if kind == "ip":
        typed |= {"port": 443, "timestamp": "2026-11-20T02:14:00Z"}
    assert _about_identifiers(findings(_with(typed))) == []


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("ip", "203.0.113.300"),
        ("ip", "203.0.113.7:443"),
        ("email", "k.demo@"),
        ("email", "two words@example.org"),
        ("telephone", "call me"),
        ("telephone", "+1 2"),
        ("domain", "http://borealis.example/path"),
        ("domain", "localhost"),
        ("domain", "-bad-.example"),
        ("wallet", "not a wallet"),
    ],
)
def test_a_value_not_of_its_kind_is_one_error_at_the_value(
    findings: CheckDoc, kind: str, value: str
) -> None:
    found = _about_identifiers(
        findings(_with({"kind": kind, "value": value, "service": "Example (demo)"}))
    )
    assert found == [("identifier_invalid", "error", "/data/0/identifiers/0/value", "format")]


def test_an_ip_address_without_its_time_is_a_warning_typed_or_as_text(findings: CheckDoc) -> None:
    found = findings(
        _with(
            "203.0.113.7",
            {"kind": "ip", "value": "203.0.113.8"},
            {"kind": "ip", "value": "203.0.113.9", "timestamp": "2026-11-20T02:14"},
            {
                "kind": "ip",
                "value": "203.0.113.10",
                "timestamp": "2026-11-20T02:14",
                "time_zone": "UTC",
            },
            {"kind": "ip", "value": "203.0.113.11", "timestamp": "2026-11-20T09:14+07:00"},
            "Subscriber of 203.0.113.12 on 2026-11-20 at 02:14 UTC",
        )
    )
    assert _about_identifiers(found) == [
        ("ip_without_time", "warning", "/data/0/identifiers/0", "good practice"),
        ("ip_without_time", "warning", "/data/0/identifiers/1/timestamp", "good practice"),
        ("ip_time_zone_missing", "warning", "/data/0/identifiers/2/time_zone", "good practice"),
    ]
    assert (
        "cannot say who used it" in found[[f.code for f in found].index("ip_without_time")].message
    )


def test_an_unknown_time_zone_is_an_error_and_hides_the_warning_it_would_cause(
    findings: CheckDoc,
) -> None:
    found = findings(
        _with(
            {
                "kind": "ip",
                "value": "203.0.113.7",
                "timestamp": "2026-11-20T02:14",
                "time_zone": "Hanoi",
            }
        )
    )
    assert _about_identifiers(found) == [
        ("time_zone_unknown", "error", "/data/0/identifiers/0/time_zone", "format")
    ]


def test_an_account_or_wallet_without_its_service_is_good_practice_advice(
    findings: CheckDoc,
) -> None:
    found = findings(
        _with(
            {"kind": "account", "value": "k.demo"},
            {"kind": "wallet", "value": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"},
            {"kind": "account", "value": "k.demo", "service": "Borealis Mail (demo)"},
        )
    )
    assert _about_identifiers(found) == [
        ("identifier_service_missing", "warning", "/data/0/identifiers/0/service", "good practice"),
        ("identifier_service_missing", "warning", "/data/0/identifiers/1/service", "good practice"),
    ]


def test_a_typed_identifier_needs_its_value(findings: CheckDoc) -> None:
    found = findings(_with({"kind": "email"}, {"kind": "telephone", "value": "  "}))
    assert _about_identifiers(found) == [
        ("identifier_value_missing", "error", "/data/0/identifiers/0/value", "format"),
        ("identifier_value_missing", "error", "/data/0/identifiers/1/value", "format"),
    ]


def test_a_reversed_data_period_is_an_error(findings: CheckDoc) -> None:
    ok = _with("user@example.org", period={"start": "2026-11-01", "end": "2026-11-30"})
    assert _about_identifiers(findings(ok)) == []
    bad = _with("user@example.org", period={"start": "2026-11-30", "end": "2026-11-01"})
    assert _about_identifiers(findings(bad)) == [
        ("data_period_reversed", "error", "/data/0/period/end", "format")
    ]


def test_identifiers_of_persons_are_checked_too(findings: CheckDoc) -> None:
    doc = {
        **STORED_DATA,
        "persons": [
            {
                "name": "Unknown",
                "role": "suspect",
                "identifiers": [{"kind": "email", "value": "x@"}],
            }
        ],
    }
    assert [(f.code, f.field) for f in findings(doc) if "identifiers" in f.field] == [
        ("identifier_invalid", "/persons/0/identifiers/0/value")
    ]


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"kind": "ip", "value": "203.0.113.7", "port": 70000}, "port", "at most 65535, not 70000"),
        ({"kind": "ip", "value": "203.0.113.7", "port": "https"}, "port", "whole number"),
        (
            {"kind": "ip", "value": "203.0.113.7", "timestamp": 1763600000},
            "timestamp",
            "date and time",
        ),
        (
            {"kind": "ip", "value": "203.0.113.7", "timestamp": "yesterday"},
            "timestamp",
            "date and time",
        ),
        ({"kind": "phone", "value": "+84 24 1234 5678"}, "kind", "should be one of"),
    ],
)
def test_a_field_of_the_wrong_shape_is_named_in_plain_words(
    bad: dict[str, Any], field: str, words: str
) -> None:
    doc, shape = read_request(_with(bad))
    assert [(f.code, f.field, f.basis) for f in shape] == [
        ("invalid_value", f"/data/0/identifiers/0/{field}", "format")
    ]
    assert words in shape[0].message
    assert doc.data[0].identifiers  # the rest of the identifier is kept


def test_an_item_neither_text_nor_object_sets_the_list_aside() -> None:
    doc, shape = read_request(_with("user@example.org", 42))
    assert [(f.code, f.field) for f in shape] == [("invalid_value", "/data/0/identifiers/1")]
    assert doc.data[0].identifiers == []


def test_free_text_identifiers_are_read_as_before() -> None:
    doc, shape = read_request(_with("203.0.113.7", "user@example.org"))
    assert shape == []
    assert doc.data[0].identifiers == ["203.0.113.7", "user@example.org"]


@pytest.mark.parametrize(
    ("typed", "line"),
    [
        ({"kind": "ip", "value": "203.0.113.7", "port": 443}, "203.0.113.7:443"),
        ({"kind": "ip", "value": "2001:db8::7", "port": 443}, "[2001:db8::7]:443"),
        (
            {
                "kind": "ip",
                "value": "203.0.113.7",
                "timestamp": "2026-11-20T02:14",
                "time_zone": "UTC",
            },
            "203.0.113.7 · 2026-11-20T02:14:00 UTC",
        ),
        ({"kind": "account", "value": "k.demo", "service": "Mail (demo)"}, "k.demo (Mail (demo))"),
    ],
)
def test_an_identifier_is_written_on_one_line_the_same_in_every_language(
    typed: dict[str, Any], line: str
) -> None:
    assert written(Identifier.model_validate(typed)) == line


def test_a_field_named_like_a_union_branch_is_an_unknown_field_not_a_crash() -> None:
    _doc, shape = read_request({**STORED_DATA, "_text": 1, "_typed": {}})
    assert sorted((f.code, f.field) for f in shape) == [
        ("unknown_field", "/_text"),
        ("unknown_field", "/_typed"),
    ]
