"""Schemathesis against the node's OpenAPI document (/api/v1/openapi.json), in process: every
operation, with valid and invalid inputs, authenticated as a central-authority officer; no
server error, and every response as the document says (status, media type, schema)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store, open_store
from hanoinet.web.app import JOSE, create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OPENAPI = "/api/v1/openapi.json"
KEYS = {n: KeySet.generate(T0 - timedelta(days=1)) for n in ("xa-ca", "xb-ca")}
DIRECTORY = d.Directory(
    version=1,
    issued_at=T0,
    valid_until=T0 + timedelta(days=30),
    nodes=tuple(
        d.NodeEntry(
            id=node_id,
            state=node_id[:2].upper(),
            name=node_id,
            roles=("central_authority", "point_of_contact"),
            endpoint=f"http://{node_id}.test",
            keys=tuple(d.PublicKey(**k) for k in KEYS[node_id].public()),
            valid_from=T0 - timedelta(days=1),
        )
        for node_id in KEYS
    ),
)


def _app(store: Store, evidence_dir: Path | None = None) -> FastAPI:
    return create_app(
        NodeContext("xb-ca", KEYS["xb-ca"], DIRECTORY, store),
        clock=lambda: T0 + timedelta(minutes=1),
        evidence_dir=evidence_dir,
    )


@schemathesis.serializer(JOSE)
def _jose(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Envelopes (compact JWS) go as they are; schemathesis sends made-up ones."""
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode()


CONFIG = schemathesis.Config.from_dict(
    {
        # The same cases on every run (each operation's seed derives from this one).
        "seed": 20261124,
        "checks": {
            # A batch of more than MAX_BATCH envelopes is refused as too large (413), which is
            # a refusal as much as the statuses schemathesis expects by default.
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "413", "415", "422"]
            }
        },
        "operations": [
            {
                # An envelope is valid only when signed by a key in the directory, which no
                # JSON Schema can say: well-formed made-up envelopes are rightly refused (422,
                # with a signed receipt), so this check cannot apply here.
                "include-path": "/api/v1/inbox",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # Likewise an evidence offer counts only when signed by a node of the
                # directory, and a chunk only when it matches its hash in such an offer.
                "include-path-regex": "^/api/v1/evidence/",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                # A period whose last day comes before its first is refused (422): a relation
                # between two parameters, which no JSON Schema says.
                "include-path": "/api/v1/statistics",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
        ],
    }
)
# The document depends on the routes only, not on the database: it is read at collection
# time from an app whose store is never opened (schemathesis.pytest.from_fixture, which would
# load it from a fixture, does not work with pytest 9), and each test sends its cases to an
# app of its own over a fresh store (the `node` fixture).
schema = schemathesis.openapi.from_asgi(
    OPENAPI, _app(open_store("sqlite://", migrate=False)), config=CONFIG
)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A node of XB over a fresh SQLite store, with a central-authority officer's API token
    and cases in each direction, so that the read routes find something."""
    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        users.create_user(store, "lara", "central_authority_officer", actor="admin", at=T0)
        token = users.create_token(store, "lara", "schemathesis", "act", actor="admin", at=T0)
        for name, direction, actor in (
            ("preservation-xa-xb.json", "incoming", "node:xa-ca"),
            ("emergency-xa-xb.json", "incoming", "node:xa-ca"),
            ("mla-xa-xb.json", "outgoing", "lara"),
        ):
            text = (EXAMPLES / name).read_text("utf-8")
            case_service.new_case(store, text, direction=direction, actor=actor, at=T0)
        yield {
            "app": _app(store, tmp_path / "evidence"),
            "headers": {"Authorization": f"Bearer {token}"},
        }
    finally:
        store.dispose()


@schema.parametrize()
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case: schemathesis.Case, node: dict[str, Any]
) -> None:
    case.call_and_validate(app=node["app"], headers=node["headers"])


def test_the_openapi_document_is_valid_and_is_the_one_tested(node: dict[str, Any]) -> None:
    served = schemathesis.openapi.from_asgi(OPENAPI, node["app"])
    served.validate()  # against the OpenAPI 3.1 meta-schema; raises naming what is wrong
    assert served.raw_schema == schema.raw_schema
    operations = [
        (path, operation)
        for path, item in served.raw_schema["paths"].items()
        for operation in item.values()
    ]
    assert len(operations) == 17  # with /api/v1/ready (issue 25)
    for path, operation in operations:
        # Every refusal is documented as a problem (RFC 9457), never as FastAPI's own shape.
        for status, response in operation["responses"].items():
            if status.startswith("4") and path != "/api/v1/inbox":
                assert list(response["content"]) == ["application/problem+json"], (path, status)
        if path.startswith(
            (
                "/api/v1/requests",
                "/api/v1/cases",
                "/api/v1/check",
                "/api/v1/audit",
                "/api/v1/statistics",
            )
        ):
            assert operation["security"] == [{"bearer": []}, {"session": []}]
            assert "401" in operation["responses"]


def test_every_request_body_states_its_limit_and_its_413(node: dict[str, Any]) -> None:
    paths = schemathesis.openapi.from_asgi(OPENAPI, node["app"]).raw_schema["paths"]
    bodies = {
        (method.upper(), path): operation
        for path, item in paths.items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert ("POST", "/api/v1/inbox") in bodies and ("POST", "/api/v1/cases") in bodies
    for (method, path), operation in bodies.items():
        assert "413" in operation["responses"], (method, path)
        assert "refused with 413 before it is read" in operation["requestBody"]["description"]
    inbox = bodies[("POST", "/api/v1/inbox")]["requestBody"]["description"]
    assert inbox.startswith("At most 2,097,152 bytes (fixed by the format)")
    cases = bodies[("POST", "/api/v1/cases")]["requestBody"]["description"]
    assert cases.startswith("At most 1,048,576 bytes (the setting HANOINET_MAX_API_BODY_BYTES)")
