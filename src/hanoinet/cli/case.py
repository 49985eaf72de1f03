"""``hanoinet case``, ``audit`` and ``clock``: cases on this node, over the same services
the web desk uses. Each command is one transaction; a refused action writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from hanoinet.cli.output import console, fail, parse_time, print_json, read_text, user_errors
from hanoinet.errors import HanoinetError, InvalidInput, TransitionRefused
from hanoinet.services import cases as service
from hanoinet.services import runtime, shapes
from hanoinet.settings import load_settings
from hanoinet.store import Store
from hanoinet.store import audit as audit_log

if TYPE_CHECKING:
    from hanoinet.services import outside

app = typer.Typer(help="Cases and their requests on this node.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
clock_app = typer.Typer(help="Clocks: reminders and expiries.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]
ReceivedOn = Annotated[
    str | None,
    typer.Option(
        "--received-on",
        help="With --by: when the letter or e-mail came (ISO 8601 date or time; default now).",
        metavar="TIME",
    ),
]
Attach = Annotated[
    list[Path] | None,
    typer.Option(
        "--attach",
        help="With --by: the scanned letter or the e-mail (.pdf, .png, .jpg, .tif, .eml); "
        "repeat for several.",
        metavar="FILE",
    ),
]
At = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Act as of this UTC time (ISO 8601; default now). For tests and replays.",
        metavar="TIME",
    ),
]


def _store() -> Store:
    with user_errors():
        return runtime.open_node_store(load_settings())


def _now(at: str | None) -> datetime:
    return parse_time(at)


def _alarm() -> timedelta:
    return timedelta(minutes=load_settings().delivery_alarm_minutes)


def _actor() -> str:
    return load_settings().user


@app.command("new")
def new_command(
    file: Annotated[
        Path, typer.Option("--from", help="A request document (JSON).", metavar="FILE")
    ],
    incoming: Annotated[
        bool,
        typer.Option(
            "--incoming", help="A request received from another State (default: one we send)."
        ),
    ] = False,
    title: Annotated[
        str | None, typer.Option("--title", help="A short title for the case.")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="With --incoming: it came from a State that runs no node, by email, post, "
            "courier or diplomatic (docs/outside.md).",
            metavar="MEANS",
        ),
    ] = None,
    received_on: ReceivedOn = None,
    attach: Attach = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="With --by: the letter's own reference."),
    ] = None,
    at: At = None,
    json: Json = False,
) -> None:
    """Open a case from a request document: a draft to send, or a request received."""
    text = read_text(file, "--from")
    store = _store()
    if by is not None:
        _register_letter(
            store, text, file, incoming, by, received_on, attach, reference, title, at, json
        )
        return
    with user_errors():
        created = service.new_case(
            store,
            text,
            direction="incoming" if incoming else "outgoing",
            actor=_actor(),
            at=_now(at),
            title=title,
            name=str(file),
        )
    errors = [f for f in created.findings if f.severity == "error"]
    if json:
        print_json(shapes.created_json(created))
        return
    console.print(f"Case {created.case_id}, request {created.request_id}: {created.state}")
    if errors:
        console.print(
            f"{len(errors)} error finding(s): `hanoinet check {file}` lists them; "
            "the request cannot be sent until they are corrected.",
            markup=False,
        )


@app.command("edit")
def edit_command(
    ident: Annotated[str, typer.Argument(help="A draft request (or its case).", metavar="ID")],
    file: Annotated[
        Path, typer.Option("--from", help="The corrected request document (JSON).", metavar="FILE")
    ],
    at: At = None,
    json: Json = False,
) -> None:
    """Replace a draft's document with a corrected one; it goes back to draft (check again)."""
    text = read_text(file, "--from")
    store = _store()
    with user_errors():
        acted = service.edit(store, ident, text, actor=_actor(), at=_now(at))
    if json:
        print_json(
            {
                "request": acted.request_id,
                "case": acted.case_id,
                "event": shapes.event_json(acted.event),
            }
        )
        return
    console.print(
        f"{acted.request_id}: document replaced; state {acted.event.to_state}. "
        f"Run `hanoinet case act {acted.request_id} check` next.",
        markup=False,
    )


@app.command("list")
def list_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only requests still open.")] = False,
    awaiting_approval: Annotated[
        bool,
        typer.Option(
            "--awaiting-approval",
            help="Only checked requests that await a supervisor's approval (HANOINET_APPROVAL).",
        ),
    ] = False,
    json: Json = False,
) -> None:
    """Requests on this node, most urgent first."""
    store = _store()
    with user_errors():
        rows = service.list_requests(
            store,
            actor=_actor(),
            at=_now(None),
            open_only=open_only,
            awaiting_approval=awaiting_approval,
            approval_policy=load_settings().approval,
        )
    if json:
        print_json({"requests": [shapes.summary_json(r) for r in rows]})
        return
    if not rows:
        console.print(
            "No request awaits approval."
            if awaiting_approval
            else "No requests yet: `hanoinet case new --from FILE` opens one."
        )
        return
    table = Table()
    for column in (
        "Request",
        "Their ref",
        "Case",
        "Dir",
        "Kind",
        "From",
        "To",
        "Urgency",
        "State",
        "Updated (UTC)",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.id,
            r.peer_ref or "-",
            r.case_id,
            "out" if r.direction == "outgoing" else "in",
            r.kind,
            r.requesting_state or "?",
            r.requested_state or "?",
            r.urgency,
            r.state.replace("_", " "),
            r.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("show")
def show_command(
    ident: Annotated[
        str, typer.Argument(help="A case id (C-000001) or request id (R-000001).", metavar="ID")
    ],
    json: Json = False,
) -> None:
    """A case: its requests, their findings, state, approval, allowed actions and clocks
    (audited)."""
    store = _store()
    with user_errors():
        case = service.show(
            store, ident, actor=_actor(), at=_now(None), approval_policy=load_settings().approval
        )
    if json:
        print_json(shapes.case_json(case))
        return
    console.print(f"Case {case.id}: {case.title}", markup=False)
    for d in case.requests:
        s = d.summary
        console.print(
            f"  {s.id} {s.direction} {s.kind} {s.requesting_state}->{s.requested_state} "
            f"[{s.urgency}] state: {s.state.replace('_', ' ')}",
            markup=False,
        )
        other = s.requesting_state if s.direction == "incoming" else s.requested_state
        console.print(
            f"    references: ours {s.id}, {other or 'the other State'}'s "
            f"{s.peer_ref or 'not yet known'}",
            markup=False,
        )
        if d.preserved_until:
            console.print(f"    data preserved until {d.preserved_until:%Y-%m-%d %H:%M} UTC (42)")
        if d.proposed_conditions:
            console.print(
                f"    conditions proposed (40(27)): {d.proposed_conditions}", markup=False
            )
        for agreed in d.agreed_conditions:
            console.print(f"    condition agreed (40(27)): {agreed}", markup=False)
        if d.held_for is not None:
            state = (d.held_for.state or "not on this node").replace("_", " ")
            console.print(
                f"    held until {d.held_for.named} is decided (42): it is {state}", markup=False
            )
        for f in d.findings:
            if f.severity != "info":
                where = f" at {f.field}" if f.field else ""
                console.print(f"    {f.severity} ({f.article}){where}: {f.message}", markup=False)
        for m in d.messages:
            if m.not_delivered:
                console.print(
                    f"    NOT DELIVERED: {m.action} to the other State, pending since "
                    f"{m.created_at:%Y-%m-%d %H:%M} UTC after {m.attempts} attempt(s): "
                    f"{m.last_error or 'no receipt yet'}",
                    markup=False,
                )
            elif m.status == "rejected":
                console.print(
                    f"    REJECTED by the other State: {m.action} ({m.last_error})", markup=False
                )
        if d.approved is not None:
            console.print(
                f"    approved by {d.approved.actor} at {d.approved.at:%Y-%m-%d %H:%M} UTC",
                markup=False,
            )
        elif d.approval_required and s.state in ("draft", "checked"):
            console.print(
                "    awaiting a supervisor's approval before it is sent (node policy, "
                "HANOINET_APPROVAL)",
                markup=False,
            )
        console.print("    actions now: " + (", ".join(d.allowed_actions) or "none"))
        for x in d.dues:
            console.print(f"    due {x.at:%Y-%m-%d %H:%M} UTC: {x.message}", markup=False)


@app.command("timeline")
def timeline_command(
    ident: Annotated[str, typer.Argument(help="A case or request id.", metavar="ID")],
    json: Json = False,
) -> None:
    """Everything that happened to a case, in order, with the article of each step (audited)."""
    store = _store()
    with user_errors():
        case = service.show(store, ident, actor=_actor(), at=_now(None))
    rows = sorted(
        ((d.summary.id, e) for d in case.requests for e in d.events), key=lambda x: x[1].at
    )
    if json:
        print_json(
            {
                "case": case.id,
                "timeline": [{"request": rid, **shapes.event_json(e)} for rid, e in rows],
            }
        )
        return
    for rid, e in rows:
        extra = "; ".join(f"{k}: {_param_shown(k, v)}" for k, v in e.params.items())
        console.print(
            f"{e.at:%Y-%m-%d %H:%M} {rid} {e.action} ({e.article}) by {e.actor} [{e.by}] "
            f"{e.from_state} -> {e.to_state}" + (f" — {extra}" if extra else ""),
            markup=False,
        )


def _param_shown(name: str, value: str) -> str:
    """A step's parameter as the timeline prints it: a ground in words, with its article and
    the id ``--ground`` takes."""
    from hanoinet.convention import convention

    ground = convention().grounds.get(value) if name == "ground" else None
    return f"{ground.text} (art. {ground.article}; {value})" if ground else value


@app.command("act")
def act_command(
    ident: Annotated[str, typer.Argument(help="A case or request id.", metavar="ID")],
    action: Annotated[
        str, typer.Argument(help="An action: `hanoinet case show ID` lists those allowed now.")
    ],
    ground: Annotated[
        str | None,
        typer.Option(
            "--ground",
            help="Ground key for refuse/postpone (grounds.yaml), e.g. essential_interests.",
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Written reasons (needed for refusals 40(24), postponements, consultations ...).",
        ),
    ] = None,
    related: Annotated[
        str | None,
        typer.Option("--related", help="The MLA request a preservation is linked to (link_mla)."),
    ] = None,
    third_state: Annotated[
        str | None,
        typer.Option("--third-state", help="ISO code of the third State of a provider found (43)."),
    ] = None,
    matter: Annotated[
        str | None,
        typer.Option(
            "--matter",
            help="request_consent, give_consent, decline_consent, use_for_other_matter: the other "
            "matter (proceedings) (40(19)).",
        ),
    ] = None,
    conditions: Annotated[
        str | None,
        typer.Option(
            "--conditions",
            help="consult, propose_conditions: the conditions under which assistance could be "
            "given (40(27)); accept_conditions takes the ones proposed.",
        ),
    ] = None,
    from_peer: Annotated[
        bool,
        typer.Option(
            "--from-peer", help="Record an action the other State took (by message or telephone)."
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="send to a State that runs no node: email (to the address it published, "
            "through HANOINET_SMTP_*), post, courier or diplomatic (docs/outside.md). Any other "
            "action: record what that State did, by that means (with --attach).",
            metavar="MEANS",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="With --by post, courier or diplomatic: the dispatch reference (registered "
            "letter, waybill, note verbale); recording the other State's answer: its letter's.",
        ),
    ] = None,
    received_on: ReceivedOn = None,
    attach: Attach = None,
    at: At = None,
    json: Json = False,
) -> None:
    """Take an action on a request; refused with the article if the state does not allow it."""
    params = {
        "ground": ground or "",
        "reason": reason or "",
        "related": related or "",
        "third_state": third_state or "",
        "matter": matter or "",
        "conditions": conditions or "",
    }
    if by is not None and action != "send":
        from hanoinet.services import outside

        when = _now(at)
        with user_errors():
            received = outside.record_by_hand(
                _store(),
                ident,
                action,
                means=by,
                occurred_at=parse_time(received_on, "--received-on") if received_on else when,
                scans=_scans(attach),
                actor=_actor(),
                at=when,
                params=params,
                reference=reference,
            )
        _say_received(received, json)
        return
    if by is not None or reference is not None:
        _send_outside(ident, action, by, reference, at, json)
        return
    store = _store()
    if action == "send":
        _reachable_or_refuse(store, ident, _now(at))
    with user_errors():
        try:
            acted = service.act(
                store,
                ident,
                action,
                actor=_actor(),
                at=_now(at),
                params=params,
                from_peer=from_peer,
                approval_policy=load_settings().approval,
            )
        except TransitionRefused as exc:
            fail(exc.message + _flag_hint(exc, from_peer))
    e = acted.event
    if json:
        print_json(shapes.acted_json(acted))
        return
    console.print(
        f"{acted.request_id}: {e.action} ({e.article}) — {e.from_state} -> {e.to_state}",
        markup=False,
    )
    if acted.created_request:
        console.print(f"Drafted preservation request {acted.created_request} to {third_state} (43)")


FLAG_OF_GUARD = {
    "reason": "--reason TEXT",
    "refusal_ground": "--ground ID",
    "postponement_ground": "--ground ID",
    "consent_matter": "--matter TEXT",
    "related_request": "--related REQUEST-ID",
    "third_state": "--third-state CODE",
    "conditions_given": "--conditions TEXT",
    "conditions_bounded": "--conditions TEXT",
}
"""The option that gives what a guard found missing: the lifecycle's messages say what is
missing in words (a page and the other State read them too), the command line adds its flag."""


def _flag_hint(exc: TransitionRefused, from_peer: bool) -> str:
    if exc.owner is not None and not from_peer:
        return " (to record a step the other State took: --from-peer)"
    flag = FLAG_OF_GUARD.get(exc.guard or "")
    return f" (give it with {flag})" if flag else ""


def _scans(files: list[Path] | None) -> list[outside.Scan]:
    from hanoinet.services import outside

    found = []
    for path in files or []:
        try:
            found.append(outside.Scan(path.name, path.read_bytes()))
        except OSError as exc:
            raise InvalidInput(f"--attach {path}: {exc.strerror}") from None
    return found


def _register_letter(
    store: Store,
    text: str,
    file: Path,
    incoming: bool,
    by: str,
    received_on: str | None,
    attach: list[Path] | None,
    reference: str | None,
    title: str | None,
    at: str | None,
    json: bool,
) -> None:
    from hanoinet.services import outside

    when = _now(at)
    with user_errors():
        if not incoming:
            raise InvalidInput(
                "--by with case new registers a request that came by letter or e-mail: add "
                "--incoming (a request to send is sent with `case act ID send --by`)"
            )
        received = outside.register_letter(
            store,
            text,
            means=by,
            occurred_at=parse_time(received_on, "--received-on") if received_on else when,
            scans=_scans(attach),
            actor=_actor(),
            at=when,
            reference=reference,
            title=title,
            name=str(file),
        )
    _say_received(received, json)


def _say_received(received: outside.Received, json: bool) -> None:
    if json:
        print_json(
            {
                "request": received.request_id,
                "case": received.case_id,
                "action": received.action,
                "means": received.means,
                "dispatch": received.dispatch_id,
                "attachments": [{"file": f, "sha256": h} for f, h in received.attachments],
            }
        )
        return
    console.print(
        f"{received.request_id}: {received.action} recorded, by {received.means}", markup=False
    )
    for name, digest in received.attachments:
        console.print(f"  attached {name} (SHA-256 {digest})", markup=False)


@app.command("letters")
def letters_command(
    ident: Annotated[str, typer.Argument(help="A case or request id.", metavar="ID")],
    json: Json = False,
) -> None:
    """The letters and e-mails of a request outside the network, and the files each carried."""
    from hanoinet.services import outside

    store = _store()
    with user_errors():
        found = outside.dispatches_of(store, ident)
    if json:
        print_json({"request": ident, "letters": [shapes.correspondence_json(x) for x in found]})
        return
    if not found:
        console.print(f"{ident}: no letter or e-mail (it travels over the network)")
    for x in found:
        way = "to" if x.direction == "out" else "from"
        console.print(
            f"{x.id}  {x.occurred_at:%Y-%m-%d %H:%M} UTC  {x.action} {way} the other State by "
            f"{outside.MEANS_NAMES.get(x.means, x.means)}: {x.status}"
            + (f" ({x.problem})" if x.problem else ""),
            markup=False,
        )
        for f in x.files:
            console.print(f"    [{f.id}] {f.filename}  {f.size:,} bytes  {f.sha256}", markup=False)


@app.command("dispatch")
def dispatch_command(
    ident: Annotated[str, typer.Argument(help="A case or request id.", metavar="ID")],
    number: Annotated[int, typer.Argument(help="The letter's number (case letters).", metavar="N")],
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="email, post, courier or diplomatic (default: as the request travels)."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="The registered letter's number, the waybill, the note."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Only write the signed letter here, to print it; send nothing.",
            metavar="FILE",
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Send a letter this node owes a State that runs no node (a step it took), with its
    signed formal letter: by e-mail, or record it posted with its reference."""
    from hanoinet.services import letters, outside

    settings = load_settings()
    when = _now(None)
    with user_errors(), _not_dispatched_is_exit_1():
        ctx, signed = runtime.load_context(settings, when)
        try:
            if out is not None:
                made = letters.letter_document(
                    ctx, ident, number, actor=_actor(), at=when, directory_token=signed.token
                )
                try:
                    out.write_bytes(made.pdf)
                except OSError as exc:
                    raise InvalidInput(f"--out {out}: {exc.strerror}") from None
                printed = {
                    "letter": number,
                    "path": str(out),
                    "bytes": len(made.pdf),
                    "lang": made.lang,
                }
            else:
                sent = letters.send_letter(
                    ctx,
                    ident,
                    number,
                    means=by,
                    reference=reference,
                    mailer=outside.Mailer.from_settings(settings),
                    directory_token=signed.token,
                    actor=_actor(),
                    at=when,
                )
        finally:
            ctx.store.dispose()
    if out is not None:
        if json:
            print_json(printed)
        else:
            console.print(
                f"Letter {number} written to {out}, signed; it is not sent yet.", markup=False
            )
        return
    if json:
        print_json(sent.as_dict())
        return
    how = "e-mailed to" if sent.means == "email" else f"recorded as sent by {sent.means} to"
    console.print(
        f"Letter {sent.letter} ({sent.action}) of {sent.request_id} {how} {sent.address}; "
        f"reference {sent.reference}",
        markup=False,
    )


@app.command("attachment")
def attachment_command(
    ident: Annotated[str, typer.Argument(help="A case or request id.", metavar="ID")],
    number: Annotated[int, typer.Argument(help="The file's number (case letters).", metavar="N")],
    out: Annotated[Path, typer.Option("--out", help="Where to write it.", metavar="FILE")],
    json: Json = False,
) -> None:
    """Save a file a letter or e-mail carried (the reading is audited)."""
    from hanoinet.services import outside

    store = _store()
    with user_errors():
        kept, content = outside.read_attachment(store, ident, number, actor=_actor(), at=_now(None))
        try:
            out.write_bytes(content)
        except OSError as exc:
            raise InvalidInput(f"--out {out}: {exc.strerror}") from None
    if json:
        print_json(
            {"file": kept.filename, "path": str(out), "bytes": kept.size, "sha256": kept.sha256}
        )
        return
    console.print(f"Saved {kept.filename} to {out} ({kept.size:,} bytes, SHA-256 {kept.sha256})")


def _reachable_or_refuse(store: Store, ident: str, when: datetime) -> None:
    """A request to a State the node's directory lists no node of goes with ``--by``: over
    the network it would wait in the outbox for a node that does not exist."""
    settings = load_settings()
    try:
        signed = runtime.cache(settings).newest(when)
    except HanoinetError:
        return  # no directory on this node: the outbox says so when it tries
    if signed is None:
        return
    with user_errors():
        with store.transaction() as conn:
            row = service.request_row(conn, ident)
        state = row.requested_state
        if row.direction == "outgoing" and state and not signed.directory.nodes_of(state):
            raise InvalidInput(
                f"{state} runs no node in directory version {signed.directory.version}: send "
                f"{row.id} with --by email, or --by post, courier or diplomatic with "
                "--reference REF (docs/outside.md)"
            )


@contextmanager
def _not_dispatched_is_exit_1() -> Iterator[None]:
    """An e-mail the mail server did not take is a failure to act, not bad input: exit 1."""
    from hanoinet.errors import NotDispatched

    try:
        yield
    except NotDispatched as exc:
        fail(exc.message, 1)


def _send_outside(
    ident: str, action: str, by: str | None, reference: str | None, at: str | None, json: bool
) -> None:
    """``case act ID send --by MEANS``: to a State that runs no node (services/outside.py)."""
    from hanoinet.services import outside

    settings = load_settings()
    when = _now(at)
    with user_errors(), _not_dispatched_is_exit_1():
        if action != "send" or by is None:
            raise InvalidInput(
                "--by and --reference go with send: `hanoinet case act ID send --by email` "
                "(or post, courier, diplomatic --reference REF)"
            )
        ctx, signed = runtime.load_context(settings, when)
        try:
            sent = outside.send_outside(
                ctx,
                ident,
                means=by,
                reference=reference,
                mailer=outside.Mailer.from_settings(settings),
                directory_token=signed.token,
                actor=_actor(),
                at=when,
                approval_policy=settings.approval,
            )
        finally:
            ctx.store.dispose()
    if json:
        print_json(shapes.dispatched_json(sent))
        return
    how = (
        "e-mailed to"
        if sent.status == "sent"
        else f"recorded as sent by {outside.MEANS_NAMES[by]} to"
    )
    console.print(f"{sent.request_id}: send — {how} {sent.address}", markup=False)
    console.print(f"  reference {sent.reference}; formal document in {sent.lang}", markup=False)
    console.print(f"  request SHA-256 {sent.request_sha256}", markup=False)


@audit_app.command("verify")
def audit_verify_command(json: Json = False) -> None:
    """Check the audit chain; names every changed, removed or reordered entry. Exit 1 if broken."""
    store = _store()
    with store.transaction() as conn:
        result = audit_log.verify(conn)
    if json:
        print_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "breaks": [{"seq": b.seq, "problem": b.problem} for b in result.breaks],
            }
        )
    elif result.ok:
        console.print(f"Audit log intact: {result.entries} entries, chain verified.")
    else:
        console.print(f"Audit log BROKEN ({result.entries} entries):")
        for b in result.breaks:
            console.print(f"  {b}", markup=False)
    if not result.ok:
        raise typer.Exit(1)


@clock_app.command("tick")
def tick_command(at: At = None, json: Json = False) -> None:
    """Fire reminders, expiries and desk escalations that are due (the worker does this every
    30 seconds)."""
    store = _store()
    with user_errors():
        result = service.tick(store, at=_now(at), ack_targets=load_settings().ack_targets())
    if json:
        print_json(
            {
                "fired": [
                    {
                        "request": rid,
                        "key": d.key,
                        "kind": d.kind,
                        "article": d.article,
                        "message": d.message,
                    }
                    for rid, d in result.fired
                ]
            }
        )
        return
    if not result.fired:
        console.print("Nothing due.")
    for rid, d in result.fired:
        console.print(f"{rid}: {d.message}", markup=False)
