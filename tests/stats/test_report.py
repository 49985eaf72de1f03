"""The report: no room for case content by construction; signed, verified, combined."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory
from hanoinet.stats import report as r
from hanoinet.stats.measures import Track, tabulate
from hanoinet.stats.suppress import suppress

AT = datetime(2026, 1, 10, tzinfo=UTC)
TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(minutes=60)}


def made(
    node: str = "xa-ca",
    state: str = "XA",
    direction: str = "outgoing",
    n: int = 12,
    period: tuple[date, date] = (date(2025, 1, 1), date(2025, 12, 31)),
) -> r.Report:
    a, b = (state, "XB") if direction == "outgoing" else ("XA", state)
    tracks = [
        Track(
            direction,
            a,
            b,
            "stored_data",
            "urgent",
            (600.0 * i, None, None, None),
            1e6,
            "executed",
            None,
            0,
        )
        for i in range(n)
    ]
    published = suppress(tabulate(tracks, ("domestic_bar",), TARGETS), 5)
    return r.build(
        published,
        node=node,
        state=state,
        period=period,
        as_of=AT,
        threshold=5,
        ack_targets_s={"emergency": 900, "urgent": 3600},
    )


def strings(
    schema: dict[str, Any], defs: dict[str, Any], path: str = "$"
) -> list[tuple[str, dict[str, Any]]]:
    """Every string-typed node of a JSON Schema, with where it is."""
    found = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return strings(defs[name], defs, f"{path}<{name}>")
    if schema.get("type") == "string":
        found.append((path, schema))
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            found += strings(sub, defs, f"{path}.{key}[{i}]")
    for name, sub in schema.get("properties", {}).items():
        found += strings(sub, defs, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += strings(schema[key], defs, f"{path}.{key}")
    return found


@pytest.mark.parametrize("model", [r.Report, r.Overview])
def test_no_string_of_the_schema_can_carry_free_text(
    model: type[r.Report] | type[r.Overview],
) -> None:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    nodes = strings(schema, defs)
    assert nodes
    for where, s in nodes:
        bounded = "enum" in s or "const" in s or s.get("format") in ("date", "date-time")
        pattern = s.get("pattern", "")
        assert bounded or (
            pattern.startswith("^") and pattern.endswith("$") and " " not in pattern
        ), where
    for name, sub in defs.items():
        assert sub.get("additionalProperties") is False, f"{name} must forbid extra members"
    assert schema.get("additionalProperties") is False


def test_a_content_field_is_refused() -> None:
    data = made().model_dump(mode="json")
    data["groups"][0]["title"] = "Fraud against J. Doe"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        r.Report.model_validate(data)
    data = made().model_dump(mode="json")
    data["groups"][0]["form"] = "J. Doe's laptop"
    with pytest.raises(ValidationError):
        r.Report.model_validate(data)
    data = made().model_dump(mode="json")
    data["groups"][0]["requesting_state"] = "Doe"
    with pytest.raises(ValidationError):
        r.Report.model_validate(data)


def test_the_csv_prints_withheld_counts_as_below_the_threshold() -> None:
    report = made(n=3)
    text = r.to_csv(report.groups, report.threshold)
    header, first = text.splitlines()[:2]
    row = dict(zip(header.split(","), first.split(","), strict=True))
    assert row["requests"] == "<5" and row["acknowledge_median_hours"] == ""
    report = made(n=12)
    row = dict(
        zip(*(line.split(",") for line in r.to_csv(report.groups, 5).splitlines()[:2]), strict=True)
    )
    assert row["requests"] == "12" and row["acknowledge_median_hours"] == "0.92"


@pytest.fixture
def signers() -> tuple[Directory, dict[str, tuple[str, Any]]]:
    keys = {name: crypto.generate_signing_key() for name in ("xa-ca", "xb-ca")}
    nodes = []
    for name, key in keys.items():
        public = json.loads(json.dumps(key.as_dict(private=False)))
        nodes.append(
            {
                "id": name,
                "state": name[:2].upper(),
                "name": f"{name} (illustrative)",
                "roles": ["central_authority"],
                "endpoint": f"https://{name}.example",
                "keys": [
                    {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": public["x"],
                        "kid": f"{name}-sig-1",
                        "use": "sig",
                        "alg": "EdDSA",
                        "valid_from": "2025-01-01T00:00:00Z",
                    }
                ],
                "valid_from": "2025-01-01T00:00:00Z",
            }
        )
    directory = Directory.model_validate(
        {
            "version": 1,
            "issued_at": "2025-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00Z",
            "nodes": nodes,
        }
    )
    return directory, {name: (f"{name}-sig-1", key) for name, key in keys.items()}


def test_signed_report_verifies_and_a_changed_one_does_not(signers: Any) -> None:
    directory, keys = signers
    kid, key = keys["xa-ca"]
    token = r.sign(made(), kid=kid, key=key)
    assert r.verify(token, directory) == made()
    head, body, sig = token.split(".")
    forged = ".".join((head, body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB"), sig))
    with pytest.raises(r.ReportRefused) as refused:
        r.verify(forged, directory)
    assert refused.value.code == "forged"


def test_a_report_signed_by_another_node_is_refused(signers: Any) -> None:
    directory, keys = signers
    kid, key = keys["xb-ca"]
    with pytest.raises(r.ReportRefused, match="the key is xb-ca's") as refused:
        r.verify(r.sign(made(node="xa-ca"), kid=kid, key=key), directory)
    assert refused.value.code == "forged"


def test_combine_sets_both_ends_of_a_flow_side_by_side(signers: Any) -> None:
    directory, keys = signers
    sent = r.sign(made("xa-ca", "XA", "outgoing", 12), kid=keys["xa-ca"][0], key=keys["xa-ca"][1])
    received = r.sign(
        made("xb-ca", "XB", "incoming", 3), kid=keys["xb-ca"][0], key=keys["xb-ca"][1]
    )
    overview = r.combine([(t, r.verify(t, directory)) for t in (sent, received)])
    assert [s.node for s in overview.sources] == ["xa-ca", "xb-ca"]
    flow = next(
        f for f in overview.flows if (f.requesting_state, f.requested_state) == ("XA", "XB")
    )
    assert (flow.sent, flow.received, flow.received_reported) == (12, None, True)  # 3 is withheld
    assert {g.reported_by for g in overview.groups} == {"xa-ca", "xb-ca"}


def test_combine_refuses_other_periods_and_doubles() -> None:
    one = made()
    other = made(node="xb-ca", state="XB", period=(date(2024, 1, 1), date(2024, 12, 31)))
    with pytest.raises(r.ReportRefused, match="combine one period"):
        r.combine([("a", one), ("b", other)])
    with pytest.raises(r.ReportRefused, match="two reports of xa-ca"):
        r.combine([("a", one), ("b", one)])


def test_the_channels_a_report_may_name_are_the_means_requests_travel_by() -> None:
    from typing import get_args

    from hanoinet.services.outside import MEANS
    from hanoinet.stats.measures import CHANNELS
    from hanoinet.stats.report import Channel

    assert get_args(Channel) == CHANNELS == ("network", *MEANS)
