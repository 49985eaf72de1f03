"""Documents that hold anything in their State fields, and ids that are not ids: the request is
kept with its findings, nothing reaches a database column it does not fit, on SQLite and
PostgreSQL (found by schemathesis through POST /api/v1/cases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from hanoinet.errors import UnknownCase
from hanoinet.services import cases as service
from hanoinet.store import Store
from hanoinet.store.schema import cases, requests

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [["XB"], {"code": "XB"}, "France", "X\u0000", 5, "", "xb"])
def test_a_state_field_of_any_shape_is_kept_in_the_document_only(store: Store, value: Any) -> None:
    doc = {"format": "hanoinet.request/1", "kind": "preservation", "requesting_state": "XA"}
    doc["requested_state"] = value
    created = service.new_case(store, json.dumps(doc), direction="outgoing", actor="rita", at=T0)
    with store.engine.connect() as conn:
        row = conn.execute(select(requests).where(requests.c.id == created.request_id)).one()
        case = conn.execute(select(cases).where(cases.c.id == created.case_id)).one()
    assert json.loads(row.document)["requested_state"] == value  # nothing lost
    assert row.requested_state is None
    assert row.requesting_state == "XA" and case.state == "XA"
    detail = service.show(store, created.request_id, actor="rita", at=T0)
    codes = {f.code for f in detail.requests[0].findings}
    assert codes & {"invalid_value", "state_unknown", "state_missing"}, codes


@pytest.mark.parametrize("ident", ["R-\u0000", "R-1", "x" * 5000, "'; drop table cases; --"])
def test_an_id_that_is_not_an_id_is_not_found(store: Store, ident: str) -> None:
    with pytest.raises(UnknownCase, match="ids look like"):
        service.show(store, ident, actor="rita", at=T0)
