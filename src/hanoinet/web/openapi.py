"""What the OpenAPI document (``/api/v1/openapi.json``) says the API answers: the JSON shapes of
``services.shapes`` and of the inbox, and RFC 9457 problem details, as pydantic models.

Documentation only: the routes build their JSON with ``services.shapes`` and return it as it
is; tests/web/test_openapi.py (schemathesis) checks every answer against these schemas, so the
two cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from hanoinet.convention import convention
from hanoinet.law.document import FORMAT

PROBLEM = "application/problem+json"
JOSE = "application/jose"
REF = "#/components/schemas/{model}"


class FieldError(BaseModel):
    """One invalid part of a request."""

    location: str = Field(description="Where: query/limit, path/ident, body/params/reason...")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with hanoinet's stable ``code`` (errors.py)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: SkipJsonSchema[None] | list[FieldError] = Field(
        None, description="With invalid_input: each invalid part of the request."
    )
    article: SkipJsonSchema[None] | str = Field(
        None, description="With transition_refused: the article key the refusal rests on."
    )


class Finding(BaseModel):
    code: str
    severity: Literal["error", "warning", "info"]
    article: str | None = Field(description="The article key it rests on, or null.")
    article_verified: bool | None = Field(
        description="Whether hanoinet's data has verified that paragraph key (null without "
        "one); false: show it as 'para. number unconfirmed'."
    )
    basis: Literal["convention", "format", "node policy", "good practice", "requested state"] = (
        Field(description="What it rests on: the article (convention) or, without one, what.")
    )
    field: str
    message: str


class Event(BaseModel):
    action: str
    at: str
    actor: str
    by: Literal["requesting", "requested", "system"]
    article: str
    from_state: str = Field(alias="from")
    to: str
    params: dict[str, str]


class RequestSummary(BaseModel):
    id: str
    case: str
    direction: Literal["incoming", "outgoing"]
    kind: str
    state: str
    requesting_state: str | None
    requested_state: str | None
    urgency: str
    updated_at: str
    peer_ref: str | None = Field(
        description="The other State's reference of the request (its node's id), once known."
    )
    means: Literal["network", "email", "post", "courier", "diplomatic"] = Field(
        description="How it travels with the other State: its node, or, for a State that runs "
        "no node, e-mail, post, courier or the diplomatic channel."
    )


class RequestPage(BaseModel):
    """A page of requests, most urgent first; ``next_offset`` is null on the last page."""

    requests: list[RequestSummary]
    limit: int
    offset: int
    next_offset: int | None


class Message(BaseModel):
    type: str
    action: str
    status: str
    created_at: str
    attempts: int
    last_error: str | None
    message_id: str | None
    recipient: str | None
    not_delivered: bool


class Due(BaseModel):
    key: str
    kind: str
    at: str
    article: str
    message: str


class Approval(BaseModel):
    """The node's approval step (node policy, HANOINET_APPROVAL; not a Convention duty)."""

    required: bool = Field(
        description="A supervisor must approve the request before it is sent (node policy)."
    )
    approved_by: str | None = Field(
        description="Who approved the text as it is now (after its last edit or check)."
    )
    approved_at: str | None


class Conditions(BaseModel):
    proposed: str | None
    agreed: list[str]


class HeldFor(BaseModel):
    id: str | None = Field(description="This node's request, or null when it is not here.")
    their_ref: str | None = Field(description="The other State's reference of that request.")
    state: str | None = Field(description="Its state on this node, or null.")


class RequestDetail(BaseModel):
    id: str
    uid: str
    direction: Literal["incoming", "outgoing"]
    kind: str
    state: str
    requesting_state: str | None
    requested_state: str | None
    urgency: str
    peer_ref: str | None = Field(
        description="The other State's reference of the request (its node's id), once known."
    )
    means: Literal["network", "email", "post", "courier", "diplomatic"] = Field(
        description="How it travels with the other State: its node, or, for a State that runs "
        "no node, e-mail, post, courier or the diplomatic channel."
    )
    document: dict[str, Any]
    document_sha256: str
    findings: list[Finding]
    preserved_until: str | None
    held_for: HeldFor | None = Field(
        description="A held preservation (42): the follow-up request it waits for, as this "
        "node knows it; null otherwise."
    )
    conditions: Conditions = Field(
        description="Consultation (40(27)): the conditions the requested State proposed and "
        "the requesting State has not yet accepted, and those it accepted (they bind it, and "
        "travel with the evidence as use conditions)."
    )
    allowed_actions: list[str]
    approval: Approval
    timeline: list[Event]
    messages: list[Message]
    due: list[Due]


class Case(BaseModel):
    """A case and its requests, as ``hanoinet case show --json``."""

    id: str
    title: str
    created_at: str
    created_by: str
    requests: list[RequestDetail]


class Created(BaseModel):
    case: str
    request: str
    state: str
    findings: list[Finding]


class Acted(BaseModel):
    request: str
    case: str
    event: Event
    created_request: str | None


class FormKind(BaseModel):
    key: str
    title: str
    article: str
    articles: list[str]
    channels: list[str]
    dual_criminality: str


class Kinds(BaseModel):
    kinds: list[FormKind]


class CheckResult(BaseModel):
    ok: bool
    kind: str
    as_of: str
    findings: list[Finding]


class AuditBreak(BaseModel):
    seq: int
    problem: str


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    breaks: list[AuditBreak]


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    legal_basis: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    verification: AuditVerification
    entries: list[AuditEntry]
    limit: int
    offset: int
    next_offset: int | None


class InboxReceipt(BaseModel):
    """The signed receipt (a compact JWS, docs/exchange.md) and what it says."""

    receipt: str
    status: Literal["delivered", "rejected"]
    reason: str | None


class TransferAnswer(BaseModel):
    """Where an evidence transfer stands at the receiver (docs/evidence.md)."""

    package: str
    state: Literal["receiving", "verifying", "accepted", "refused"]
    next_chunk: int
    chunks: int
    problems: list[dict[str, str]]
    duplicate: bool
    receipt: str | None = None
    """Accepted: the receiving node's signed receipt, the time anchor of the package's
    signature (docs/evidence.md); null otherwise."""


class BatchReceipt(BaseModel):
    """One signed receipt naming every envelope of the batch (null for an empty batch)."""

    receipt: str | None


class Health(BaseModel):
    node: str
    directory_version: int
    version: str


class ReadyCheck(BaseModel):
    name: str = Field(description="database, directory, keys or outbox")
    status: Literal["ok", "warning", "failed"]
    detail: str


class ReadyOutbox(BaseModel):
    pending: int
    oldest_age_seconds: int | None


class Ready(BaseModel):
    ready: bool = Field(description="No check failed (a warning is served)")
    node: str
    checks: list[ReadyCheck]
    outbox: ReadyOutbox


PROBLEMS = {
    400: "Bad request",
    401: "Not authenticated: no valid API token or session",
    403: "Forbidden: the role or the token's scope does not allow it (or no CSRF token)",
    404: "Not found (or not visible to this principal)",
    409: "Action refused by the lifecycle, with the article it rests on",
    413: "Too large",
    422: "Invalid input, naming each invalid part",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status answered with a problem document."""
    return {
        status: {
            "description": PROBLEMS[status],
            "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}},
        }
        for status in statuses
    }


def request_document_body() -> dict[str, Any]:
    """``openapi_extra=`` for a route taking a request document: what makes it a request (a
    known ``kind``, this ``format``); every other field is checked into findings, not refused
    (docs/request.schema.json, ``hanoinet schema request``)."""
    schema = {
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": list(convention().forms)},
            "format": {"type": "string", "const": FORMAT},
        },
    }
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


SECURITY: dict[str, Any] = {"security": [{"bearer": []}, {"session": []}]}
"""``openapi_extra=`` for a route that needs a principal: an API token or the session."""


BodyLimit = Callable[[str, str], tuple[int, bool, str]]
"""A route's body limit by method and path: bytes, whether streamed, the setting
(``web.limits.Limits.of``)."""


def complete(document: dict[str, Any], body_limit: BodyLimit | None = None) -> dict[str, Any]:
    """Add what the routes refer to but FastAPI does not generate: the problem schema, the
    two ways to authenticate, and each request body's limit with its 413."""
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None or body_limit is None:
                continue
            limit, _streamed, setting = body_limit(method.upper(), path)
            where = f"the setting {setting}" if setting else "fixed by the format"
            body["description"] = (
                f"At most {limit:,} bytes ({where}); a larger body is refused with 413 before "
                "it is read (docs/limits.md)."
            )
            operation.setdefault("responses", {}).setdefault("413", problems(413)[413])
    components = document.setdefault("components", {})
    schema = Problem.model_json_schema(ref_template=REF)
    schemas = components.setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`hanoinet token create`), `hn_...`",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "hanoinet_session",
            "description": "The web desk's session; a POST also needs the X-CSRF-Token header",
        },
    }
    return document
