"""The web desk's pages: log-in (name, password and code in one form; set-up at first log-in),
the 24/7 desk,
the request list and the case page with the actions allowed now.

Routes translate HTTP only: every decision is in ``services`` (users, access, cases). Forms
follow the GOV.UK pattern: on error the page comes back with what was typed (never a
password), an error summary at the top linking to each field, and the message at the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from hanoinet.cases.guards import GROUND_KINDS, grounds_open
from hanoinet.cases.lifecycle import PARAM_GUARDS, lifecycle
from hanoinet.convention import convention
from hanoinet.convention.model import LANGUAGES as DOCUMENT_LANGUAGES
from hanoinet.errors import (
    Forbidden,
    HanoinetError,
    InvalidInput,
    LoginRefused,
    NotDispatched,
    UnknownCase,
)
from hanoinet.services import access, oversight, users
from hanoinet.services import cases as case_service
from hanoinet.services import desk as desk_service
from hanoinet.services import documents as document_service
from hanoinet.services import outside as outside_service
from hanoinet.services import references as reference_service
from hanoinet.services.outside import MEANS_NAMES
from hanoinet.web import auth, case_view, drafting, evidence_pages
from hanoinet.web.common import (
    forbidden,
    login_first,
    no_such_request,
    now,
    page,
    session,
    web,
)
from hanoinet.web.documents import MAX_NUMBER
from hanoinet.web.render import LANG_COOKIE, LANGUAGES, N_, choose_language
from hanoinet.web.vocabulary import ACTION_NAMES

router = APIRouter(include_in_schema=False)

MAX_PAGE = 100_000
"""Page numbers beyond this are taken as the last one asked for (an offset past any real
list, never a number the database cannot hold)."""
NOT_ON_THE_CASE_PAGE = frozenset({"edit"})
"""Editing replaces the document: that is the drafting wizard's work, not a button."""
GUARD_FIELDS = case_view.FIELD_OF_GUARD


def _safe_next(target: str | None) -> str:
    """Only paths on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _field_errors(exc: HanoinetError, default_field: str) -> dict[str, str]:
    """InvalidInput messages start with the field name (``field: message``)."""
    field, sep, message = exc.message.partition(": ")
    if sep and field.replace("_", "").isalnum() and field.islower():
        return {field: message[:1].upper() + message[1:]}
    return {default_field: exc.message}


# --- home, language ---------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    current = session(request)
    if current is None:
        return _redirect("/login")
    if access.can(current.principal, "desk"):
        return _redirect("/desk")
    if access.can(current.principal, "cases.read"):
        return _redirect("/requests")
    if access.can(current.principal, "users.manage"):
        return _redirect("/users")
    return _redirect("/public/treaty")


@router.get("/language")
def language(request: Request, lang: str = "en", next: str = "/") -> Response:
    chosen = lang if lang in LANGUAGES else "en"
    response = _redirect(_safe_next(next))
    response.set_cookie(LANG_COOKIE, chosen, samesite="strict", max_age=365 * 86400, path="/")
    current = session(request)
    if current is not None:
        users.set_preferences(
            web(request).ctx.store,
            current.username,
            locale=chosen,
            time_zone=current.time_zone,
            at=now(request),
        )
    return response


# --- log-in -----------------------------------------------------------------------------------


def _half_session(request: Request, stage: str) -> users.Session | None:
    found = auth.current_session(request, web(request).ctx.store, now(request))
    return found if found is not None and found.stage == stage else None


NEXT_COOKIE = "hanoinet_next"


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    if session(request) is not None:
        return _redirect(_safe_next(next))
    response = page(request, "login.html", N_("Log in"), errors={}, username="")
    if next:  # where to go once logged in (only a path on this site is ever followed)
        response.set_cookie(NEXT_COOKIE, _safe_next(next), httponly=True, samesite="strict")
    return response


LOGIN_FAILED = N_(
    "Log-in failed. Check your user name, password and code, or wait a moment and try again."
)
"""``users.WRONG``, marked here for the catalogs (a test keeps the two the same)."""
EXPIRED = N_("This log-in has expired. Start again with your password.")
"""``users.EXPIRED``, likewise."""


SET_UP_ERRORS = (
    N_("Use at least 12 characters"),
    N_("Use at most 128 characters"),
    N_("The two passwords are not the same"),
    N_("Choose a password other than the one you were given"),
    N_("That is not the code your authenticator shows now; check its clock"),
    N_(
        "Too many wrong codes in a row; wait a moment, then enter the code your authenticator shows"
    ),
)
"""What ``users.set_up`` says at a field, as the set-up page shows it, marked here for the
catalogs so that it is shown in the reader's language (a test keeps them the same)."""


def _refused(request: Request, exc: LoginRefused, username: str) -> Response:
    """Back to the log-in page with the one answer at the password; any half session ends."""
    response = page(
        request,
        "login.html",
        N_("Log in"),
        errors={"password": EXPIRED if exc.message == users.EXPIRED else LOGIN_FAILED},
        username=username,
        status_code=401,
    )
    auth.clear_session_cookie(response)
    return response


def _after_login(request: Request, full: users.Session) -> Response:
    """To the page asked for; a language chosen on the log-in pages becomes the user's."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES and chosen != full.locale:
        users.set_preferences(
            web(request).ctx.store,
            full.username,
            locale=str(chosen),
            time_zone=full.time_zone,
            at=now(request),
        )
    token = full.token
    response = _redirect(_safe_next(request.cookies.get(NEXT_COOKIE)))
    response.delete_cookie(NEXT_COOKIE)
    auth.set_session_cookie(request, response, token)
    return response


def client_address(request: Request) -> str:
    """The client's address, for the log-in throttle (behind a reverse proxy: the address the
    server is told to trust, see docs/authentication.md)."""
    return request.client.host if request.client else ""


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    if not auth.csrf_ok(request.cookies.get(auth.ANON_CSRF_COOKIE), form.get("csrf")):
        return _expired_form(request)
    username = form.get("username", "").strip()
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = N_("Enter your user name")
    if not form.get("password"):
        errors["password"] = N_("Enter your password")
    if errors:
        return page(
            request, "login.html", "Log in", errors=errors, username=username, status_code=400
        )
    try:
        started = users.log_in(
            web(request).ctx.store,
            username,
            form.get("password", ""),
            code=form.get("code", ""),
            client=client_address(request),
            at=now(request),
        )
    except LoginRefused as exc:
        return _refused(request, exc, username)
    if started.stage == "full":
        return _after_login(request, started)
    response = _redirect("/login/setup")
    auth.set_session_cookie(request, response, started.token)
    return response


def _expired_form(request: Request) -> Response:
    return page(
        request,
        "login.html",
        N_("Log in"),
        errors={"": N_("This form had expired. Please try again.")},
        username="",
        status_code=400,
    )


def _qr_data_uri(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


@router.get("/login/setup")
def setup_form(request: Request) -> Response:
    half = _half_session(request, "setup")
    if half is None:
        return _redirect("/login")
    return _setup_page(request, half, {})


def _setup_page(
    request: Request, half: users.Session, errors: dict[str, str], status_code: int = 200
) -> Response:
    uri = users.totp_uri(half)
    return page(
        request,
        "login_setup.html",
        N_("Set up your log-in"),
        errors=errors,
        csrf=half.csrf,
        qr=_qr_data_uri(uri),
        secret=half.pending_totp,
        minimum=users.MIN_PASSWORD,
        status_code=status_code,
    )


@router.post("/login/setup")
async def setup(request: Request) -> Response:
    half = _half_session(request, "setup")
    form = await _form(request)
    if half is None or not auth.csrf_ok(half.csrf, form.get("csrf")):
        return _redirect("/login")
    try:
        full = users.set_up(
            web(request).ctx.store,
            half.token,
            form.get("new_password", ""),
            form.get("repeat_password", ""),
            form.get("code", ""),
            at=now(request),
            client=client_address(request),
        )
    except InvalidInput as exc:
        return _setup_page(request, half, _field_errors(exc, "code"), status_code=400)
    except LoginRefused as exc:
        return _refused(request, exc, half.username)
    return _after_login(request, full)


@router.post("/logout")
async def logout(request: Request) -> Response:
    current = auth.current_session(request, web(request).ctx.store, now(request))
    form = await _form(request)
    if current is not None and auth.csrf_ok(current.csrf, form.get("csrf")):
        users.log_out(web(request).ctx.store, current.token, at=now(request))
    response = _redirect("/login")
    auth.clear_session_cookie(response)
    return response


# --- the 24/7 desk and the request list ---------------------------------------------------------


def _desk_rows(request: Request, principal: access.Principal, at: datetime) -> dict[str, Any]:
    """The desk's two tables, each in the order of what this node owes (services/desk.py)."""
    found = desk_service.queue(
        web(request).ctx.store, principal=principal, at=at, ack_targets=web(request).ack_targets
    )
    return {
        "incoming": found.incoming,
        "outgoing": found.outgoing,
        "at": at,
        "forms": convention().forms,
        "acts": access.may_act(principal, direction="incoming"),
        "late_count": sum(1 for i in found.incoming if i.late),
        "target_minutes": {
            k: int(v.total_seconds() // 60) for k, v in web(request).ack_targets.items()
        },
    }


@router.get("/desk")
def desk(request: Request) -> Response:
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "desk"):
        return forbidden(request)
    at = now(request)
    return page(
        request,
        "desk.html",
        "24/7 desk",
        active="desk",
        **_desk_rows(request, current.principal, at),
    )


@router.get("/desk/queue")
def desk_queue(request: Request) -> Response:
    """The live part of the desk (htmx polls it)."""
    current = session(request)
    if current is None or not access.can(current.principal, "desk"):
        return Response(status_code=401 if current is None else 403)
    at = now(request)
    return page(request, "_queue.html", "24/7 desk", **_desk_rows(request, current.principal, at))


@router.get("/requests")
def request_list(request: Request, page_number: int = 1, awaiting: str = "") -> Response:
    """Every request the reader sees; ``awaiting=approval``: those a supervisor is to approve."""
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "cases.read"):
        return forbidden(request)
    size = 50
    number = min(max(1, page_number), MAX_PAGE)
    awaiting_approval = awaiting == "approval"
    rows = case_service.list_requests(
        web(request).ctx.store,
        actor=current.principal.actor,
        at=now(request),
        principal=current.principal,
        limit=size + 1,
        offset=(number - 1) * size,
        awaiting_approval=awaiting_approval,
        approval_policy=web(request).approval,
    )
    return page(
        request,
        "requests.html",
        N_("Requests"),
        active="requests",
        rows=rows[:size],
        number=number,
        more=len(rows) > size,
        forms=convention().forms,
        awaiting_approval=awaiting_approval,
        approval_policy=web(request).approval,
    )


# --- the case page --------------------------------------------------------------------------------


def _procedure_step(action: str) -> bool:
    """Whether ``action`` is this node's own order of work, not a step of the Convention
    (lifecycle.yaml ``basis: procedure``): the timeline says so instead of citing an article."""
    return any(t.basis == "procedure" for t in lifecycle().transitions if t.action == action)


def _action_fields(action: str) -> list[str]:
    fields: list[str] = []
    for t in lifecycle().transitions:
        if t.action == action:
            for guard in t.guards:
                name = GUARD_FIELDS.get(guard)
                if guard in PARAM_GUARDS and name and name not in fields:
                    fields.append(name)
    return fields


def _case_page(
    request: Request,
    ident: str,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    failed_action: str | None = None,
    status_code: int = 200,
    done: str = "",
) -> Response:
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "cases.read"):
        return forbidden(request)
    at = now(request)
    lang = choose_language(request, current.locale)
    try:
        detail = case_service.show(
            web(request).ctx.store,
            ident,
            actor=current.principal.actor,
            at=at,
            principal=current.principal,
            approval_policy=web(request).approval,
        )
    except UnknownCase:
        return no_such_request(request)

    def grounds(action: str, r: Any) -> list[Any]:
        """The grounds the action's form offers for request ``r``: only those open to it (a
        ground resting on a reservation the requested State has not made is never offered)."""
        for t in lifecycle().transitions:
            if t.action == action:
                for guard in t.guards:
                    if guard in GROUND_KINDS:
                        return grounds_open(r.summary.kind, GROUND_KINDS[guard], r.document, at)
        return []

    def third_states(s: Any) -> list[tuple[str, str]]:
        return case_view.state_choices(lang, exclude=(s.requesting_state, s.requested_state))

    def peer(s: Any) -> str:
        return str(s.requesting_state if s.direction == "incoming" else s.requested_state)

    ids = [r.summary.id for r in detail.requests]
    return page(
        request,
        "case.html",
        detail.title,
        active="requests",
        case=detail,
        ground_of=lambda ground: convention().grounds.get(ground) if ground else None,
        procedure_step=_procedure_step,
        at=at,
        forms=convention().forms,
        fields_of=_action_fields,
        with_fields=lambda actions: [a for a in actions if _action_fields(a)],
        web_actions=lambda actions: [a for a in actions if a not in NOT_ON_THE_CASE_PAGE],
        may_act={
            r.summary.id: access.may_act(current.principal, direction=r.summary.direction)
            for r in detail.requests
        },
        actions={
            r.summary.id: case_view.by_priority(
                [
                    a
                    for a in r.allowed_actions
                    if access.may_take(current.principal, a, direction=r.summary.direction)
                ]
            )
            for r in detail.requests
        },
        layouts={
            r.summary.id: case_view.layout(r.document, r.summary.kind, lang)
            for r in detail.requests
        },
        done={
            r.summary.id: case_view.confirmation(r.events, r.messages, peer(r.summary), done, lang)
            for r in detail.requests
            if done and r.events and r.events[-1].actor == current.principal.actor
        },
        third_states=third_states,
        peer_state=lambda s: case_view.state_name(peer(s), lang),
        related=reference_service.related(web(request).ctx.store, ids, principal=current.principal),
        follow_ups={
            r.summary.id: reference_service.candidates(
                web(request).ctx.store, r.summary.id, principal=current.principal
            )
            for r in detail.requests
            if "link_mla" in r.allowed_actions
        },
        grounds=grounds,
        evidence=evidence_pages.sections(
            request, [r.summary for r in detail.requests], current.principal
        ),
        formal=document_service.kept(
            web(request).ctx.store, [r.summary.id for r in detail.requests]
        ),
        letters={
            r.summary.id: outside_service.dispatches_of(
                web(request).ctx.store, r.summary.id, current.principal
            )
            for r in detail.requests
            if r.summary.means != "network"
        },
        means_names=MEANS_NAMES,
        may_email=web(request).mailer is not None,
        peer_actions={
            r.summary.id: _peer_actions(r.summary)
            for r in detail.requests
            if r.summary.means != "network"
        },
        may_record={
            r.summary.id: access.may_act(current.principal, direction=r.summary.direction)
            for r in detail.requests
        },
        outside_of={
            r.summary.id: drafting._outside(request, r.document, lang)
            for r in detail.requests
            if r.summary.direction == "outgoing" and r.summary.state == "checked"
        },
        document_languages=DOCUMENT_LANGUAGES,
        unsent=document_service.UNSENT,
        action_names=ACTION_NAMES,
        errors=errors or {},
        typed=typed or {},
        failed_action=failed_action,
        status_code=status_code,
    )


@router.get("/requests/{ident}")
def case_page(request: Request, ident: str, done: str = "") -> Response:
    """``done``: the action just taken here, confirmed at the top of its request (what
    happened, when, and whether the other State's message is queued)."""
    return _case_page(request, ident, done=done)


@router.get("/requests/{ident}/evidence")
def evidence_section(request: Request, ident: str) -> Response:
    """The evidence section of one request of the case page, alone: htmx asks for it every
    2 seconds while a package is in transfer. For the readers of the case page only, by the
    same rule (a request the reader may not see answers like a missing one); not audited while
    it shows the packages' metadata only (the case page that polls it was an audited read);
    audited when it shows a kept verification (file names, custody)."""
    current = session(request)
    if current is None or not access.can(current.principal, "cases.read"):
        return Response(status_code=401 if current is None else 403)
    try:
        found = case_service.find(web(request).ctx.store, ident, principal=current.principal)
    except UnknownCase:
        return Response(status_code=404)
    sections = evidence_pages.sections(request, [found], current.principal, audited_at=now(request))
    return page(
        request,
        "_evidence.html",
        N_("Evidence"),
        s=found,
        evidence=sections,
        announce=evidence_pages.changed_since(
            request.query_params.get("seen"), sections[found.id]["packages"]
        ),
    )


def _peer_actions(summary: Any) -> list[str]:
    """What the other State of a request outside the network may do now, as the lifecycle
    says: the steps its letters and e-mails are recorded as."""
    other = "requested" if summary.direction == "outgoing" else "requesting"
    found: list[str] = []
    for t in lifecycle().transitions:
        usable = (
            t.by == other
            and summary.state in t.from_
            and t.applies_to(summary.kind)
            and not set(t.guards) & {"third_state", "related_request"}  # not on this form
        )
        if usable and t.action not in found:
            found.append(t.action)
    return found


@router.post("/requests/{ident}/letters")
async def record_letter(request: Request, ident: str) -> Response:
    """Record what a State that runs no node sent, its letter or e-mail attached (one file
    a post, read as a stream: web/limits.py). The session is checked before the body is read."""
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "cases.read"):
        return forbidden(request)
    async with request.form(max_files=1, max_fields=20) as data:  # closes the spooled file
        fields = {k: v.strip() for k, v in data.items() if isinstance(v, str)}
        upload = data.get("scan")
        scans: list[Any] = []
        if upload is not None and not isinstance(upload, str) and upload.filename:
            scans.append(outside_service.Scan(upload.filename, await upload.read()))
    if not auth.csrf_ok(current.csrf, fields.get("csrf")):
        return _case_page(
            request, ident, errors={"": N_("This form had expired. Please try again.")},
            status_code=400,
        )  # fmt: skip
    action = fields.get("action", "")
    at = now(request)
    params = {n: fields[n] for n in ("reason", "ground", "matter") if fields.get(n)}
    try:
        occurred = (
            datetime.fromisoformat(fields["received_on"]) if fields.get("received_on") else at
        )
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        outside_service.record_by_hand(
            web(request).ctx.store,
            ident,
            action,
            means=fields.get("means", ""),
            occurred_at=occurred,
            scans=scans,
            actor=current.principal.actor,
            at=at,
            params=params,
            reference=fields.get("reference"),
            principal=current.principal,
        )
    except UnknownCase:
        return _case_page(request, ident)
    except ValueError:
        return _case_page(
            request, ident, errors={"letter-received_on": N_("Enter a real date, such as 2026-12-31")},
            typed=fields, failed_action="letter", status_code=400,
        )  # fmt: skip
    except Forbidden:
        lang = choose_language(request, current.locale)
        return _case_page(
            request, ident, errors=case_view.not_your_role(action, lang), status_code=403
        )
    except HanoinetError as exc:
        return _case_page(
            request, ident, errors={"letter-action": exc.message}, typed=fields,
            failed_action="letter", status_code=400,
        )  # fmt: skip
    return _redirect(f"/requests/{ident}?{urlencode({'done': action})}")


LETTER_ERRORS = {
    "means": N_("Choose how the letter goes."),
    "reference": N_(
        "Give the letter's reference: the registered letter's number, the courier's waybill or "
        "the note verbale's number."
    ),
    "no_mailer": N_(
        "This node has no mail server for e-mail: send it by post, courier or the diplomatic "
        "channel."
    ),
    "not_taken": N_(
        "The mail server did not take it: nothing was sent. Try again, or send it by post, "
        "courier or the diplomatic channel."
    ),
    "refused": N_(
        "It cannot be sent that way now: the other State may have published no e-mail address, "
        "or the letter went already. Look at its status above, or choose another way."
    ),
}


@router.post("/requests/{ident}/letters/{number}/send")
async def send_letter(request: Request, ident: str, number: int) -> Response:
    """Send a letter this node owes a State that runs no node: by e-mail, or record it
    posted with its reference (services/letters.py)."""
    from hanoinet.services import letters as letters_service

    current = session(request)
    form = await _form(request)
    if current is None:
        return login_first(request)
    if not auth.csrf_ok(current.csrf, form.get("csrf")):
        return _case_page(
            request, ident, errors={"": N_("This form had expired. Please try again.")},
            status_code=400,
        )  # fmt: skip
    if not 0 < number <= MAX_NUMBER:
        return _case_page(
            request, ident, errors={"": N_("There is no such letter to send.")}, status_code=404
        )
    means = form.get("means", "").strip()
    reference = form.get("reference", "").strip()
    state = web(request)
    field = f"send-{number}"
    problem = (
        "means"
        if means not in outside_service.MEANS
        else "reference"
        if means in outside_service.BY_HAND and not reference
        else "no_mailer"
        if means == "email" and state.mailer is None
        else None
    )
    if problem is None:
        try:
            letters_service.send_letter(
                state.ctx, ident, number, means=means, reference=reference or None,
                mailer=state.mailer, directory_token=state.directory_token,
                actor=current.principal.actor, at=now(request), principal=current.principal,
            )  # fmt: skip
        except UnknownCase:
            return _case_page(
                request, ident, errors={"": N_("There is no such letter to send.")},
                status_code=404,
            )  # fmt: skip
        except Forbidden:
            lang = choose_language(request, current.locale)
            return _case_page(
                request, ident, errors=case_view.not_your_role("send", lang), status_code=403
            )
        except NotDispatched:
            problem = "not_taken"
        except HanoinetError:
            problem = "refused"
    if problem is not None:
        return _case_page(
            request, ident, errors={field: LETTER_ERRORS[problem]},
            typed={"means": means, "reference": reference}, failed_action=field, status_code=400,
        )  # fmt: skip
    return _redirect(f"/requests/{ident}#letters-{ident}")


def _outside_request(request: Request, ident: str, current: Any) -> bool:
    """Whether ``ident`` is an outgoing request to a State the directory lists no node of
    (it is sent by e-mail or letter: services/outside.py)."""
    with web(request).ctx.store.transaction() as conn:
        row = case_service.request_row(conn, ident, current.principal)
    state = row.requested_state
    return bool(
        row.direction == "outgoing" and state and not web(request).ctx.directory.nodes_of(state)
    )


@router.post("/requests/{ident}/act")
async def act(request: Request, ident: str) -> Response:
    current = session(request)
    form = await _form(request)
    if current is None:
        return login_first(request)
    if not auth.csrf_ok(current.csrf, form.get("csrf") or request.headers.get(auth.CSRF_HEADER)):
        return _case_page(
            request,
            ident,
            errors={"": N_("This form had expired. Please try again.")},
            status_code=400,
        )
    action = form.get("action", "")
    params = {
        name: form[name].strip()
        for name in ("reason", "ground", "related", "third_state", "matter", "conditions")
        if form.get(name, "").strip()
    }
    try:
        if action == "send" and _outside_request(request, ident, current):
            means = form.get("means", "")
            if not means:
                return _case_page(
                    request,
                    ident,
                    errors={"f-means": N_("Choose how the request goes.")},
                    typed=params,
                    failed_action=action,
                    status_code=400,
                )
            drafting._send_outside(request, current, ident, means, form)
        else:
            case_service.act(
                web(request).ctx.store,
                ident,
                action,
                actor=current.principal.actor,
                at=now(request),
                params=params,
                principal=current.principal,
                approval_policy=web(request).approval,
            )
    except UnknownCase:
        return _case_page(request, ident)
    except Forbidden:
        lang = choose_language(request, current.locale)
        errors = case_view.not_your_role(action, lang)
        return _case_page(request, ident, errors=errors, status_code=403)
    except HanoinetError as exc:
        lang = choose_language(request, current.locale)
        return _case_page(
            request,
            ident,
            errors=case_view.refusal(exc, action, _action_fields(action), lang),
            typed=params,
            failed_action=action,
            status_code=400,
        )
    back = form.get("back", "")
    done = urlencode({"done": action})
    return _redirect(_safe_next(back) if back else f"/requests/{ident}?{done}")


# --- the supervisor's audit log -----------------------------------------------------------------


def _when_filter(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("use a date such as 2026-11-24 or 2026-11-24T03:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/audit")
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    target: str = "",
    since: str = "",
    until: str = "",
    security: str = "",
    page_number: int = 1,
) -> Response:
    current = session(request)
    if current is None:
        return login_first(request)
    if not access.can(current.principal, "audit.read"):
        return forbidden(request)
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            bounds[name] = _when_filter(value)
        except InvalidInput as exc:
            errors[name] = exc.message
            bounds[name] = None
    filters = oversight.AuditFilters(
        actor.strip() or None,
        action or None,
        target.strip() or None,
        bounds["since"],
        bounds["until"],
        security=bool(security),
    )
    size = 100
    number = min(max(1, page_number), MAX_PAGE)
    view = oversight.read_audit(
        web(request).ctx.store,
        principal=current.principal,
        at=now(request),
        filters=filters,
        limit=size,
        offset=(number - 1) * size,
    )
    query = {
        "actor": actor,
        "action": action,
        "target": target,
        "since": since,
        "until": until,
        "security": "1" if security else "",
    }
    return page(
        request,
        "audit.html",
        N_("Audit log"),
        active="audit",
        view=view,
        typed=query,
        errors=errors,
        number=number,
        query=urlencode({k: v for k, v in query.items() if v}),
        status_code=400 if errors else 200,
    )
