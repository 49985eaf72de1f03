"""The JSON API: API tokens and their scopes, roles, pagination, problem details, CSRF with the
session cookie, and the same shapes as the command line."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import shapes, users
from hanoinet.services.cases import ACK_TARGETS
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"


@pytest.fixture
def api(store: Store) -> Iterator[dict[str, Any]]:
    keys = KeySet.generate(T0 - timedelta(days=1))
    entry = d.NodeEntry(
        id="xb-ca",
        state="XB",
        name="xb-ca",
        roles=("central_authority", "point_of_contact"),
        endpoint="http://xb-ca.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=T0, valid_until=T0 + timedelta(days=30), nodes=(entry,)
    )
    tokens = {}
    for name, role in (("lara", "central_authority_officer"), ("rita", "requester")):
        users.create_user(store, name, role, actor="admin", at=T0)
        for scopes in ("read", "act"):
            tokens[f"{name}-{scopes}"] = users.create_token(
                store, name, f"{name} {scopes}", scopes, actor="admin", at=T0
            )
    users.create_user(store, "ada", "node_admin", actor="admin", at=T0)
    tokens["ada-act"] = users.create_token(store, "ada", "ada", "act", actor="admin", at=T0)
    clock = {"now": T0 + timedelta(minutes=1)}
    client = TestClient(
        create_app(NodeContext("xb-ca", keys, directory, store), clock=lambda: clock["now"])
    )
    yield {"client": client, "tokens": tokens, "store": store, "clock": clock}


def _auth(api: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['tokens'][who]}"}


def _incoming(store: Store, urgency: str = "routine") -> str:
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["urgency"] = urgency
    return case_service.new_case(
        store, json.dumps(document), direction="incoming", actor="node:xa-ca", at=T0
    ).request_id


def _is_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code and body["detail"]
    return body


def test_no_credentials_and_a_revoked_or_made_up_token_are_401(api: dict[str, Any]) -> None:
    client = api["client"]
    _is_problem(client.get("/api/v1/requests"), 401, "not_authenticated")
    made_up = {"Authorization": "Bearer hn_not-a-token"}
    _is_problem(client.get("/api/v1/requests", headers=made_up), 401, "not_authenticated")
    token = api["tokens"]["lara-read"]
    assert client.get("/api/v1/requests", headers=_auth(api, "lara-read")).status_code == 200
    users.revoke_token(api["store"], token[:10], actor="admin", at=T0)
    _is_problem(
        client.get("/api/v1/requests", headers=_auth(api, "lara-read")), 401, "not_authenticated"
    )


def test_list_pages_through_every_request_most_urgent_first(api: dict[str, Any]) -> None:
    made = [
        _incoming(api["store"], u) for u in ("routine", "emergency", "urgent", "routine", "routine")
    ]
    client, headers = api["client"], _auth(api, "lara-read")
    seen: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(f"/api/v1/requests?limit=2&offset={offset}", headers=headers).json()
        assert page["limit"] == 2 and len(page["requests"]) <= 2
        seen.extend(page["requests"])
        offset = page["next_offset"]
    assert sorted(r["id"] for r in seen) == sorted(made)
    assert [r["urgency"] for r in seen[:2]] == ["emergency", "urgent"]
    expected = case_service.list_requests(api["store"], actor="t", at=T0)
    assert seen == [shapes.summary_json(r) for r in expected]  # the CLI's shape
    urgent = client.get("/api/v1/requests?urgent=true", headers=headers).json()["requests"]
    assert {r["urgency"] for r in urgent} == {"emergency", "urgent"}


def test_bad_query_values_are_problems_naming_the_parameter(api: dict[str, Any]) -> None:
    client, headers = api["client"], _auth(api, "lara-read")
    for query in ("limit=0", "limit=201", "offset=-1", "limit=ten"):
        body = _is_problem(
            client.get(f"/api/v1/requests?{query}", headers=headers), 422, "invalid_input"
        )
        assert body["errors"][0]["location"].startswith("query/")
        assert query.split("=")[0] in body["detail"]


def test_read_scope_reads_but_cannot_act_and_nothing_changes(api: dict[str, Any]) -> None:
    request_id = _incoming(api["store"])
    client = api["client"]
    shown = client.get(f"/api/v1/requests/{request_id}", headers=_auth(api, "lara-read"))
    assert shown.status_code == 200 and shown.json()["requests"][0]["state"] == "received"
    refused = client.post(
        f"/api/v1/requests/{request_id}/actions/acknowledge", headers=_auth(api, "lara-read")
    )
    _is_problem(refused, 403, "forbidden")
    assert case_service.list_requests(api["store"], actor="t", at=T0)[0].state == "received"
    acted = client.post(
        f"/api/v1/requests/{request_id}/actions/acknowledge", headers=_auth(api, "lara-act")
    )
    assert acted.status_code == 200
    assert acted.json()["event"]["to"] == "acknowledged"
    assert acted.json()["event"]["actor"] == "lara (API token)"


def test_a_refused_action_is_409_with_its_article_and_changes_nothing(api: dict[str, Any]) -> None:
    request_id = _incoming(api["store"])
    body = _is_problem(
        api["client"].post(
            f"/api/v1/requests/{request_id}/actions/refuse",
            headers=_auth(api, "lara-act"),
            json={"params": {"reason": "no"}},
        ),
        409,
        "transition_refused",
    )
    assert body["article"] and body["title"] == "Action refused"
    assert case_service.list_requests(api["store"], actor="t", at=T0)[0].state == "received"
    with api["store"].transaction() as conn:
        assert audit_log.verify(conn).ok


def test_a_requester_sees_only_own_cases_and_unknown_looks_the_same(api: dict[str, Any]) -> None:
    others = _incoming(api["store"])
    client = api["client"]
    document = json.loads(EXAMPLE.read_text("utf-8"))
    created = client.post("/api/v1/cases", headers=_auth(api, "rita-act"), json=document)
    assert created.status_code == 201
    own = created.json()["request"]
    listed = client.get("/api/v1/requests", headers=_auth(api, "rita-read")).json()["requests"]
    assert [r["id"] for r in listed] == [own]
    hidden = client.get(f"/api/v1/requests/{others}", headers=_auth(api, "rita-read"))
    missing = client.get("/api/v1/requests/R-999999", headers=_auth(api, "rita-read"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(others, "X") == missing.json()["detail"].replace(
        "R-999999", "X"
    )
    # A requester does not record received requests by hand.
    _is_problem(
        client.post("/api/v1/cases?incoming=true", headers=_auth(api, "rita-act"), json=document),
        403,
        "forbidden",
    )


def test_a_node_administrator_reads_no_case_content(api: dict[str, Any]) -> None:
    request_id = _incoming(api["store"])
    client = api["client"]
    for response in (
        client.get("/api/v1/requests", headers=_auth(api, "ada-act")),
        client.get(f"/api/v1/requests/{request_id}", headers=_auth(api, "ada-act")),
    ):
        body = _is_problem(response, 403, "forbidden")
        assert request_id not in json.dumps(body)


def test_not_a_request_document_is_422_and_nothing_is_stored(api: dict[str, Any]) -> None:
    client = api["client"]
    for body in ([1, 2], {"kind": "no-such-form"}):
        response = client.post("/api/v1/cases", headers=_auth(api, "lara-act"), json=body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
    assert case_service.list_requests(api["store"], actor="t", at=T0) == []


def test_a_request_document_too_large_is_422_naming_the_field_and_nothing_is_stored(
    api: dict[str, Any],
) -> None:
    client = api["client"]
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["facts_summary"] = "x" * 50_001
    for path in ("/api/v1/cases", "/api/v1/check"):
        response = client.post(path, headers=_auth(api, "lara-act"), json=document)
        assert response.status_code == 422
        problem = response.json()
        assert (problem["code"], problem["title"]) == (
            "request_too_large",
            "Request document too large",
        )
        assert "/facts_summary has 50,001 characters; at most 50,000" in problem["detail"]
    assert case_service.list_requests(api["store"], actor="t", at=T0) == []


def test_with_the_session_cookie_a_post_needs_the_csrf_header(api: dict[str, Any]) -> None:
    import pyotp

    store, clock = api["store"], api["clock"]
    request_id = _incoming(store)
    password = users.create_user(store, "cole", "central_authority_officer", actor="admin", at=T0)
    at = clock["now"]
    half = users.log_in(store, "cole", password, at=at)
    assert half.pending_totp is not None
    code = pyotp.TOTP(half.pending_totp).at(at)
    full = users.set_up(
        store, half.token, "a long new password", "a long new password", code, at=at
    )
    client = api["client"]
    client.cookies.set("hanoinet_session", full.token)
    path = f"/api/v1/requests/{request_id}/actions/acknowledge"
    _is_problem(client.post(path), 403, "csrf")
    _is_problem(client.post(path, headers={"X-CSRF-Token": "wrong"}), 403, "csrf")
    assert case_service.list_requests(store, actor="t", at=T0)[0].state == "received"
    ok = client.post(path, headers={"X-CSRF-Token": full.csrf})
    assert ok.status_code == 200 and ok.json()["event"]["actor"] == "cole"
    assert client.get("/api/v1/requests").status_code == 200  # reads need no header


def test_unknown_api_paths_are_problems_and_openapi_lists_the_case_routes(
    api: dict[str, Any],
) -> None:
    client = api["client"]
    _is_problem(client.get("/api/v1/no-such-thing"), 404, "http_error")
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/requests",
        "/api/v1/requests/{ident}",
        "/api/v1/cases",
        "/api/v1/requests/{ident}/actions/{action}",
    ):
        assert path in paths


# Found by schemathesis (tests/web/test_openapi.py) or while probing what it exercises: all
# but the 405 answered HTTP 500 before.


def test_an_offset_past_any_database_integer_is_a_problem_naming_it(api: dict[str, Any]) -> None:
    client, headers = api["client"], _auth(api, "lara-read")
    body = _is_problem(
        client.get("/api/v1/requests?offset=9223372036854775808", headers=headers),
        422,
        "invalid_input",
    )
    assert body["errors"][0]["location"] == "query/offset"
    last = client.get(f"/api/v1/requests?offset={2**31 - 1}", headers=headers)
    assert last.status_code == 200 and last.json()["requests"] == []


def test_what_cannot_be_a_request_id_is_a_problem_naming_it(api: dict[str, Any]) -> None:
    """A NUL in the id reached PostgreSQL, which refuses it (500)."""
    client, headers = api["client"], _auth(api, "lara-act")
    request_id = _incoming(api["store"])
    for response in (
        client.get("/api/v1/requests/R-%00", headers=headers),
        client.get("/api/v1/requests/drop table", headers=headers),
        client.post(f"/api/v1/requests/{request_id}%00/actions/acknowledge", headers=headers),
    ):
        body = _is_problem(response, 422, "invalid_input")
        assert body["errors"][0]["location"] == "path/ident"
    body = _is_problem(
        client.post(f"/api/v1/requests/{request_id}/actions/ack%00", headers=headers),
        422,
        "invalid_input",
    )
    assert body["errors"][0]["location"] == "path/action"
    assert case_service.list_requests(api["store"], actor="t", at=T0)[0].state == "received"


def test_a_wrong_method_is_a_problem_that_names_the_allowed_ones(api: dict[str, Any]) -> None:
    """RFC 9110: a 405 carries Allow (the problem handler dropped the exception's headers)."""
    client = api["client"]
    response = client.delete("/api/v1/requests")
    _is_problem(response, 405, "http_error")
    assert response.headers["allow"] == "GET"
    assert client.request("TRACE", "/api/v1/inbox").headers["allow"] == "POST"


def _unsigned(header: dict[str, Any]) -> str:
    """A compact JWS-looking string with ``header`` and no valid signature."""
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.e30.c2ln"


def test_an_envelope_claiming_an_id_no_database_can_compare_is_refused(
    api: dict[str, Any],
) -> None:
    """The inbox looks up the (unverified) message ids before any cryptography; a NUL
    (PostgreSQL) or a lone surrogate (both databases) in ``hn_id`` made that query fail."""
    client = api["client"]
    envelopes = [
        _unsigned({"hn_id": "a\u0000b", "hn_from": "xb-ca"}),
        _unsigned({"hn_id": "\ud800"}),
    ]
    for envelope in envelopes:
        response = client.post(
            "/api/v1/inbox", content=envelope, headers={"content-type": "application/jose"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["status"] == "rejected"
    batch = client.post("/api/v1/inbox/batch", json={"envelopes": envelopes})
    assert batch.status_code == 200 and batch.json()["receipt"]


def test_a_batch_nested_too_deeply_is_a_problem(api: dict[str, Any]) -> None:
    client = api["client"]
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"envelopes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ):
        response = client.post(
            "/api/v1/inbox/batch", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "not_a_batch"
        assert "levels deep; at most 32 are accepted" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/cases"),
        ("POST", "/api/v1/check"),
        ("PUT", "/api/v1/requests/R-000001/document"),
        ("POST", "/api/v1/requests/R-000001/actions/acknowledge"),
    ],
)
def test_json_too_deep_or_too_large_is_refused_before_it_is_parsed(
    api: dict[str, Any], method: str, path: str
) -> None:
    """FastAPI's parser would recurse into 100,000 brackets (a RecursionError, a 500): the
    body is measured first and refused with the limit named; nothing is stored."""
    client = api["client"]
    headers = _auth(api, "lara-act") | {"content-type": "application/json"}
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.request(method, path, headers=headers, content=deep)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_deep"
    assert "at most 32 are accepted (HANOINET_MAX_JSON_DEPTH)" in response.json()["detail"]
    large = b'{"kind": "' + b"x" * (1 << 20) + b'"}'
    response = client.request(method, path, headers=headers, content=large)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "HANOINET_MAX_API_BODY_BYTES" in response.json()["detail"]
    assert case_service.list_requests(api["store"], actor="t", at=T0) == []


def test_api_answers_are_never_kept_and_https_gets_hsts(api: dict[str, Any]) -> None:
    client = api["client"]
    for path, who in (("/api/v1/requests", "lara-read"), ("/api/v1/health", None)):
        response = client.get(path, headers=_auth(api, who) if who else {})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers
    refused = client.get("/api/v1/requests")
    assert (refused.status_code, refused.headers["cache-control"]) == (401, "no-store")
    secure = client.get("https://testserver/api/v1/health")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    static = client.get("/static/hanoinet.css")
    assert static.status_code == 200
    assert "cache-control" not in static.headers


# --- the CLI's other operations: edit, check, forms, templates, the audit log -------------------


def test_edit_a_draft_through_the_api_then_it_must_be_checked_again(api: dict[str, Any]) -> None:
    client = api["client"]
    document = json.loads(EXAMPLE.read_text("utf-8"))
    created = client.post("/api/v1/cases", json=document, headers=_auth(api, "rita-act"))
    assert created.status_code == 201, created.text
    rid = created.json()["request"]
    assert (
        client.post(
            f"/api/v1/requests/{rid}/actions/check", headers=_auth(api, "rita-act")
        ).status_code
        == 200
    )
    changed = {**document, "facts_summary": "Edited through the API."}
    edited = client.put(
        f"/api/v1/requests/{rid}/document", json=changed, headers=_auth(api, "rita-act")
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["event"]["action"] == "edit"
    shown = client.get(f"/api/v1/requests/{rid}", headers=_auth(api, "rita-read")).json()
    assert shown["requests"][0]["state"] == "draft"
    assert shown["requests"][0]["document"]["facts_summary"] == "Edited through the API."
    # another kind, a read-only token, someone else's draft, a sent request: refused
    other = {**document, "kind": "stored_data"}
    _is_problem(
        client.put(f"/api/v1/requests/{rid}/document", json=other, headers=_auth(api, "rita-act")),
        422,
        "invalid_input",
    )
    assert (
        client.put(
            f"/api/v1/requests/{rid}/document", json=changed, headers=_auth(api, "rita-read")
        ).status_code
        == 403
    )
    incoming = _incoming(api["store"])
    refused = client.put(
        f"/api/v1/requests/{incoming}/document", json=changed, headers=_auth(api, "lara-act")
    )
    assert refused.status_code == 409, refused.text


def test_check_a_document_without_storing_it(api: dict[str, Any]) -> None:
    client = api["client"]
    document = json.loads(EXAMPLE.read_text("utf-8"))
    del document["facts_summary"]
    before = client.get("/api/v1/requests", headers=_auth(api, "lara-read")).json()["requests"]
    checked = client.post("/api/v1/check", json=document, headers=_auth(api, "lara-read"))
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] is False and body["kind"] == "preservation" and body["as_of"] == "2026-11-24"
    assert any(
        f["code"] == "missing_content" and f["field"] == "/facts_summary" for f in body["findings"]
    )
    assert (
        client.get("/api/v1/requests", headers=_auth(api, "lara-read")).json()["requests"] == before
    )
    _is_problem(
        client.post("/api/v1/check", json={"kind": "nothing"}, headers=_auth(api, "lara-read")),
        422,
        "not_a_request",
    )
    assert client.post("/api/v1/check", json=document).status_code == 401


def test_forms_and_templates_need_no_log_in(api: dict[str, Any]) -> None:
    client = api["client"]
    kinds = client.get("/api/v1/forms").json()["kinds"]
    assert "preservation" in {k["key"] for k in kinds}
    preservation = next(k for k in kinds if k["key"] == "preservation")
    assert preservation["article"] == "42"
    template = client.get("/api/v1/forms/preservation/template").json()
    assert template["kind"] == "preservation" and "necessity" in template
    _is_problem(client.get("/api/v1/forms/nothing/template"), 404, "unknown_form")


def test_the_audit_log_for_the_supervisor_only(api: dict[str, Any]) -> None:
    client, store = api["client"], api["store"]
    users.create_user(store, "sam", "supervisor", actor="admin", at=T0)
    token = users.create_token(store, "sam", "sam", "read", actor="admin", at=T0)
    rid = _incoming(store)
    client.get(f"/api/v1/requests/{rid}", headers=_auth(api, "lara-read"))
    page = client.get(
        "/api/v1/audit",
        params={"action": "read", "limit": 5},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["verification"]["ok"] is True and body["verification"]["entries"] > 0
    assert [e["action"] for e in body["entries"]] == ["read"]
    assert body["entries"][0]["actor"] == "lara (API token)" and body["entries"][0]["at"].endswith(
        "+00:00"
    )
    # the supervisor's reading is itself audited; officers and administrators are refused
    again = client.get(
        "/api/v1/audit",
        params={"action": "read_audit"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.json()["entries"][0]["actor"] == "sam (API token)"
    _is_problem(client.get("/api/v1/audit", headers=_auth(api, "lara-read")), 403, "forbidden")
    _is_problem(client.get("/api/v1/audit", headers=_auth(api, "ada-act")), 403, "forbidden")


def test_the_statistics_for_the_central_authority_and_the_supervisor(
    api: dict[str, Any],
) -> None:
    """The report of ``hanoinet stats --json`` (the service's), with a read token; the
    period's defaults and its errors as problems naming the parameter."""
    from hanoinet.services import stats as stats_service
    from hanoinet.stats.report import Report

    client, store = api["client"], api["store"]
    for _ in range(6):
        _incoming(store)
    got = client.get(
        "/api/v1/statistics?from=2026-11-01&to=2026-11-30", headers=_auth(api, "lara-read")
    )
    assert got.status_code == 200, got.text
    made = Report.model_validate(got.json())
    assert made == stats_service.report(
        store,
        stats_service.Period(date(2026, 11, 1), date(2026, 11, 30)),
        api["clock"]["now"],
        node="xb-ca",
        state="XB",
        threshold=stats_service.DEFAULT_THRESHOLD,
        ack_targets=dict(ACK_TARGETS),
    )
    incoming = next(g for g in made.groups if g.level == "direction")
    assert (incoming.direction, incoming.requests) == ("incoming", 6)
    default = client.get("/api/v1/statistics", headers=_auth(api, "lara-read")).json()
    assert (default["period_from"], default["period_to"]) == ("2025-11-25", "2026-11-24")
    for query, where in (("from=yesterday", "from"), ("to=2026-02-30", "to")):
        body = _is_problem(
            client.get(f"/api/v1/statistics?{query}", headers=_auth(api, "lara-read")),
            422,
            "invalid_input",
        )
        assert body["errors"][0]["location"] == f"query/{where}"
    backwards = client.get(
        "/api/v1/statistics?from=2026-11-30&to=2026-11-01", headers=_auth(api, "lara-read")
    )
    assert "is before the first" in _is_problem(backwards, 422, "invalid_input")["detail"]
    _is_problem(client.get("/api/v1/statistics", headers=_auth(api, "rita-read")), 403, "forbidden")
    _is_problem(client.get("/api/v1/statistics", headers=_auth(api, "ada-act")), 403, "forbidden")
    _is_problem(client.get("/api/v1/statistics"), 401, "not_authenticated")


def test_a_supervisor_approves_through_the_one_actions_route(api: dict[str, Any]) -> None:
    """approve goes through POST .../actions/approve like every action: a supervisor's token
    with the act scope; anyone else is refused with what to do, and send waits for it."""
    client, store = api["client"], api["store"]
    users.create_user(store, "sam", "supervisor", actor="admin", at=T0)
    sam = {
        scopes: {
            "Authorization": "Bearer "
            + users.create_token(store, "sam", f"sam {scopes}", scopes, actor="admin", at=T0)
        }
        for scopes in ("read", "act")
    }
    created = client.post(
        "/api/v1/cases", json=json.loads(EXAMPLE.read_text("utf-8")), headers=_auth(api, "rita-act")
    ).json()
    rid = created["request"]
    url = f"/api/v1/requests/{rid}/actions"
    assert client.post(f"{url}/check", headers=_auth(api, "rita-act")).status_code == 200
    waiting = client.get(
        "/api/v1/requests", params={"awaiting_approval": "true"}, headers=sam["read"]
    ).json()["requests"]
    assert [r["id"] for r in waiting] == [rid]
    refused = _is_problem(
        client.post(f"{url}/send", headers=_auth(api, "rita-act")), 409, "transition_refused"
    )
    assert refused["article"] == "40(13)" and "Ask a supervisor to approve it" in refused["detail"]
    for who, detail in (
        (_auth(api, "lara-act"), "does not approve requests"),
        (_auth(api, "rita-act"), "does not approve requests"),
        (sam["read"], "needs a token with the act scope"),
    ):
        body = _is_problem(client.post(f"{url}/approve", headers=who), 403, "forbidden")
        assert detail in body["detail"]
    done = client.post(f"{url}/approve", headers=sam["act"])
    assert done.status_code == 200, done.text
    assert done.json()["event"]["action"] == "approve"
    assert done.json()["event"]["actor"] == "sam (API token)"
    (shown,) = client.get(f"/api/v1/requests/{rid}", headers=sam["read"]).json()["requests"]
    assert shown["approval"] == {
        "required": True,
        "approved_by": "sam (API token)",
        "approved_at": "2026-11-24T03:01:00+00:00",
    }
    sent = client.post(f"{url}/send", headers=_auth(api, "rita-act"))
    assert sent.status_code == 200 and sent.json()["event"]["to"] == "sent"


def test_send_to_a_state_without_a_node_is_refused_with_where_to_send_it(
    api: dict[str, Any],
) -> None:
    """Over the API a request to a State that runs no node would wait in the outbox for a
    node that does not exist: refused, naming how it goes (issue 24)."""
    import json as json_module
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
    document = json_module.loads(example.read_text()) | {
        "requesting_state": "XB",
        "requested_state": "XD",
    }
    created = case_service.new_case(
        api["store"], json_module.dumps(document), direction="outgoing", actor="t", at=T0
    )
    case_service.act(api["store"], created.request_id, "check", actor="t", at=T0)
    refused = api["client"].post(
        f"/api/v1/requests/{created.request_id}/actions/send", headers=_auth(api, "lara-act")
    )
    body = _is_problem(refused, 422, "invalid_input")
    assert "XD runs no node" in body["detail"] and "send --by" in body["detail"]
    state = case_service.list_requests(api["store"], actor="t", at=T0)[0].state
    assert state == "checked"
