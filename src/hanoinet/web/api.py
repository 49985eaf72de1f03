"""The JSON API under ``/api/v1`` for other systems and scripts: the same services and the same
JSON shapes as the command line (``services.shapes``), the same roles as the web desk.

Authentication: ``Authorization: Bearer hn_...`` (an API token, see ``hanoinet token create``),
or the web desk's session cookie, then with the ``X-CSRF-Token`` header on every POST. Errors
are RFC 9457 problem details: ``type``, ``title``, ``status``, ``detail`` and hanoinet's
``code`` (stable, see errors.py); validation errors list each field in ``errors``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator

from hanoinet.convention import convention
from hanoinet.errors import (
    Forbidden,
    HanoinetError,
    InvalidInput,
    NotARequest,
    RequestTooLarge,
    TransitionRefused,
    UnknownCase,
)
from hanoinet.isodate import ISO_DAY
from hanoinet.law import default_context
from hanoinet.law.check import check_text
from hanoinet.law.document import template
from hanoinet.services import access, oversight, shapes
from hanoinet.services import cases as case_service
from hanoinet.services import stats as stats_service
from hanoinet.services.access import Permission, Principal
from hanoinet.stats.report import Report
from hanoinet.web import auth
from hanoinet.web import openapi as doc
from hanoinet.web.common import now, principal, session, web
from hanoinet.web.statistics import node_report

router = APIRouter(prefix="/api/v1", tags=["cases"])
PROBLEM = doc.PROBLEM
MAX_PAGE = 200
MAX_OFFSET = 2**31 - 1
"""Past any real list; a larger offset would not fit the database's integers."""
Ident = Annotated[
    str,
    Path(
        pattern=r"^[CR]-[0-9]{6,}$",
        description="A request id (R-000001) or a case id (C-000001: its first request).",
        examples=["R-000001", "C-000001"],
    ),
]
"""Anything else names nothing (and a NUL would not even reach PostgreSQL): refused as 422."""
Action = Annotated[
    str,
    Path(
        pattern=r"^[a-z_]{1,64}$",
        description="A lifecycle action (docs/lifecycle.md): acknowledge, refuse, execute ...",
        examples=["acknowledge"],
    ),
]
STATUS: dict[type[HanoinetError], tuple[int, str]] = {
    RequestTooLarge: (422, "Request document too large"),
    UnknownCase: (404, "Not found"),
    Forbidden: (403, "Forbidden"),
    TransitionRefused: (409, "Action refused"),
    NotARequest: (422, "Not a request document"),
    InvalidInput: (422, "Invalid input"),
}


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem document (``doc.Problem``)."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
        | extra,
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def _from_error(exc: HanoinetError) -> JSONResponse:
    status, title = next(
        (found for kind, found in STATUS.items() if isinstance(exc, kind)), (400, "Bad request")
    )
    if isinstance(exc, TransitionRefused) and exc.article:
        return problem(status, title, exc.message, exc.code, article=exc.article)
    return problem(status, title, exc.message, exc.code)


def _answers_problems(route: Callable[..., JSONResponse]) -> Callable[..., JSONResponse]:
    """A route's refusals and hanoinet's errors answered as problem documents (the route
    raises; FastAPI sees the route's own signature through ``functools.wraps``)."""

    @functools.wraps(route)
    def answered(*args: Any, **kwargs: Any) -> JSONResponse:
        try:
            return route(*args, **kwargs)
        except _Refused as refused:
            return refused.response
        except HanoinetError as exc:
            return _from_error(exc)

    return answered


class _Refused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _who(request: Request, permission: Permission, *, unsafe: bool = False) -> Principal:
    """The principal of the request, allowed ``permission``; raises _Refused with a problem."""
    found = principal(request)
    if found is None:
        raise _Refused(
            problem(
                401,
                "Not authenticated",
                "send Authorization: Bearer <API token> (hanoinet token create) or log in",
                "not_authenticated",
            )
        )
    current = session(request)
    if unsafe and current is not None and found.token_scopes is None:
        given = request.headers.get(auth.CSRF_HEADER)
        if not auth.csrf_ok(current.csrf, given):
            raise _Refused(
                problem(
                    403,
                    "CSRF token missing",
                    "with the session cookie, send the page's token as X-CSRF-Token",
                    "csrf",
                )
            )
    if not access.can(found, permission):
        raise _Refused(
            problem(
                403,
                "Forbidden",
                f"the role {found.role} (or this token's scope) does not allow {permission}",
                "forbidden",
            )
        )
    return found


@router.get(
    "/requests",
    summary="Requests this principal may see, most urgent first",
    response_model=doc.RequestPage,
    responses=doc.problems(401, 403, 422),
    openapi_extra=doc.SECURITY,
)
@_answers_problems
def list_requests(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    open_only: Annotated[bool, Query(alias="open")] = False,
    urgent: bool = False,
    awaiting_approval: Annotated[
        bool,
        Query(
            description="Only checked outgoing requests that await a supervisor's approval "
            "(node policy, HANOINET_APPROVAL)."
        ),
    ] = False,
) -> JSONResponse:
    who = _who(request, "cases.read")
    rows = case_service.list_requests(
        web(request).ctx.store,
        actor=who.actor,
        at=now(request),
        open_only=open_only,
        principal=who,
        limit=limit + 1,
        offset=offset,
        urgent_only=urgent,
        awaiting_approval=awaiting_approval,
        approval_policy=web(request).approval,
    )
    return JSONResponse(
        {
            "requests": [shapes.summary_json(r) for r in rows[:limit]],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(rows) > limit else None,
        }
    )


@router.get(
    "/requests/{ident}",
    summary="A case (by a request or case id), as `case show`",
    response_model=doc.Case,
    responses=doc.problems(400, 401, 403, 404, 422),
    openapi_extra=doc.SECURITY,
)
@_answers_problems
def show(request: Request, ident: Ident) -> JSONResponse:
    who = _who(request, "cases.read")
    detail = case_service.show(
        web(request).ctx.store,
        ident,
        actor=who.actor,
        at=now(request),
        principal=who,
        approval_policy=web(request).approval,
    )
    return JSONResponse(shapes.case_json(detail))


@router.post(
    "/cases",
    summary="Open a case from a request document (docs/request.schema.json)",
    status_code=201,
    response_model=doc.Created,
    responses=doc.problems(400, 401, 403, 422),
    openapi_extra=doc.SECURITY | doc.request_document_body(),
)
@_answers_problems
def create(
    request: Request,
    document: Annotated[dict[str, Any], Body(description="A request document.")],
    incoming: bool = False,
) -> JSONResponse:
    who = _who(request, "cases.create", unsafe=True)
    direction: Literal["incoming", "outgoing"] = "incoming" if incoming else "outgoing"
    if not access.may_create(who, direction=direction):
        raise Forbidden(f"the role {who.role} does not record {direction} requests")
    created = case_service.new_case(
        web(request).ctx.store,
        json.dumps(document),
        direction=direction,
        actor=who.username,  # the case's owner, as a requester's scope needs
        at=now(request),
    )
    return JSONResponse(shapes.created_json(created), status_code=201)


@router.post(
    "/requests/{ident}/actions/{action}",
    summary="Take an action on a request (the lifecycle's; params: reason, ground, ...); "
    "approve is a supervisor's",
    response_model=doc.Acted,
    responses=doc.problems(400, 401, 403, 404, 409, 422),
    openapi_extra=doc.SECURITY,
)
@_answers_problems
def act(
    request: Request,
    ident: Ident,
    action: Action,
    params: Annotated[dict[str, str] | None, Body(embed=True)] = None,
) -> JSONResponse:
    # approve is the supervisor's: the case service refuses anyone else with what to do next
    who = _who(request, "cases.read" if action == "approve" else "cases.act", unsafe=True)
    if action == "send":
        _reachable(request, ident, who)
    acted = case_service.act(
        web(request).ctx.store,
        ident,
        action,
        actor=who.actor,
        at=now(request),
        params=params or {},
        principal=who,
        approval_policy=web(request).approval,
    )
    return JSONResponse(shapes.acted_json(acted))


def _reachable(request: Request, ident: str, who: Any) -> None:
    """A request to a State that runs no node goes by e-mail or letter (the case page, or
    `hanoinet case act ID send --by`), not to an outbox no node will read."""
    ctx = web(request).ctx
    with ctx.store.transaction() as conn:
        row = case_service.request_row(conn, ident, who)
    state = row.requested_state
    if row.direction == "outgoing" and state and not ctx.directory.nodes_of(state):
        raise InvalidInput(
            f"{state} runs no node: {row.id} is sent by e-mail, post, courier or the diplomatic "
            "channel, from its case page or with `hanoinet case act ID send --by` "
            "(docs/outside.md)"
        )


@router.put(
    "/requests/{ident}/document",
    summary="Replace a draft's request document, as `case edit` (it must be checked again)",
    response_model=doc.Acted,
    responses=doc.problems(400, 401, 403, 404, 409, 422),
    openapi_extra=doc.SECURITY | doc.request_document_body(),
)
@_answers_problems
def edit(
    request: Request,
    ident: Ident,
    document: Annotated[dict[str, Any], Body(description="The new request document.")],
) -> JSONResponse:
    who = _who(request, "cases.act", unsafe=True)
    acted = case_service.edit(
        web(request).ctx.store,
        ident,
        json.dumps(document),
        actor=who.actor,
        at=now(request),
        principal=who,
    )
    return JSONResponse(shapes.acted_json(acted))


@router.post(
    "/check",
    summary="Check a request document against the Convention, as `hanoinet check` (nothing stored)",
    response_model=doc.CheckResult,
    responses=doc.problems(400, 401, 403, 422),
    openapi_extra=doc.SECURITY | doc.request_document_body(),
)
@_answers_problems
def check(
    request: Request,
    document: Annotated[dict[str, Any], Body(description="A request document.")],
) -> JSONResponse:
    _who(request, "cases.read")
    day = now(request).date()
    parsed, findings = check_text(json.dumps(document), default_context(day))
    return JSONResponse(shapes.check_json(parsed.kind, day, findings))


@router.get(
    "/forms",
    summary="The Convention's forms of cooperation, as `request kinds` (no log-in)",
    response_model=doc.Kinds,
)
def forms() -> JSONResponse:
    return JSONResponse(shapes.kinds_json())


@router.get(
    "/forms/{kind}/template",
    summary="An empty request document for one form, as `request template` (no log-in)",
    responses=doc.problems(404, 422),
)
def form_template(
    kind: Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", description="A form key.")],
) -> JSONResponse:
    if kind not in convention().forms:
        return problem(
            404,
            "Not found",
            f"no form of cooperation '{kind}'; GET /api/v1/forms lists them",
            "unknown_form",
        )
    return JSONResponse(template(kind))


@router.get(
    "/audit",
    summary="The audit log, newest first, with the chain's verification (supervisor)",
    response_model=doc.AuditPage,
    responses=doc.problems(401, 403, 422),
    openapi_extra=doc.SECURITY,
)
@_answers_problems
def audit(
    request: Request,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    target: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JSONResponse:
    who = _who(request, "audit.read")
    view = oversight.read_audit(
        web(request).ctx.store,
        principal=who,
        at=now(request),
        filters=oversight.AuditFilters(
            _clean(actor), _clean(action), _clean(target), _utc(since), _utc(until)
        ),
        limit=limit,
        offset=offset,
    )
    return JSONResponse(shapes.audit_json(view, limit, offset))


def _written_as_a_day(value: object) -> object:
    """Only ``YYYY-MM-DD``: pydantic would take a number for seconds since 1970."""
    if isinstance(value, str) and not ISO_DAY.match(value):
        raise ValueError("write the day as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_written_as_a_day)]


@router.get(
    "/statistics",
    summary="The node's statistics over a period, small counts withheld (supervisor, central "
    "authority); no case content: docs/statistics.md",
    response_model=Report,
    responses=doc.problems(401, 403, 422),
    openapi_extra=doc.SECURITY,
)
@_answers_problems
def statistics(
    request: Request,
    first: Annotated[
        Day | None,
        Query(alias="from", description="First day (UTC); default 364 days before the last."),
    ] = None,
    last: Annotated[
        Day | None, Query(alias="to", description="Last day, included (UTC); default today.")
    ] = None,
) -> JSONResponse:
    _who(request, "stats.read")
    at = now(request)
    made = node_report(request, stats_service.period_of(first, last, at), at)
    return JSONResponse(made.model_dump(mode="json"))


def _clean(text: str | None) -> str | None:
    """A filter as typed; blank is no filter; a NUL byte never reaches the database."""
    value = (text or "").strip().replace("\x00", "")
    return value or None


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
