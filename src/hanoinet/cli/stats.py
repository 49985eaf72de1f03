"""``hanoinet stats``: the node's statistics, its signed report, and the overview of several.

Figures are counted per request, in the period in which it was sent or received; small
counts are withheld (HANOINET_STATS_THRESHOLD). docs/statistics.md says what each counts.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hanoinet.cli.output import (
    console,
    fail,
    parse_date,
    parse_time,
    print_json,
    user_errors,
    write_whole,
)
from hanoinet.cli.trust import Authority, Directory, trust
from hanoinet.errors import InvalidInput
from hanoinet.exchange.directory import historical
from hanoinet.services import node as node_service
from hanoinet.services import runtime
from hanoinet.services import stats as service
from hanoinet.settings import Settings, load_settings
from hanoinet.stats import report as report_model

app = typer.Typer(
    help="Statistics of this node, without case content (arts 55, 57): show, export signed, "
    "combine several States' reports.",
    invoke_without_command=True,
)

From = Annotated[
    str | None,
    typer.Option("--from", help="First day (YYYY-MM-DD, UTC); default a year before --to."),
]
To = Annotated[str | None, typer.Option("--to", help="Last day, included; default today.")]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Count what was recorded by this UTC time (default now)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")]
Csv = Annotated[bool, typer.Option("--csv", help="Print one CSV row per group.")]


def _period(first: str | None, last: str | None, as_of: datetime) -> service.Period:
    return service.period_of(
        parse_date(first, "--from") if first else None,
        parse_date(last, "--to") if last else None,
        as_of,
    )


def _node(settings: Settings) -> tuple[str | None, str]:
    """This node's id and State (from its descriptor), or none and HANOINET_STATE."""
    path = settings.data_dir / node_service.DESCRIPTOR
    if not path.exists():
        return None, settings.state
    entry = node_service.load_descriptor(path)
    return entry.id, entry.state


def _made(
    settings: Settings, first: str | None, last: str | None, as_of: str | None
) -> report_model.Report:
    at = parse_time(as_of, "--as-of")
    period = _period(first, last, at)
    node, state = _node(settings)
    store = runtime.open_node_store(settings)
    try:
        return service.report(
            store,
            period,
            at,
            node=node,
            state=state,
            threshold=settings.stats_threshold,
            ack_targets=settings.ack_targets(),
        )
    finally:
        store.dispose()


@app.callback()
def stats_command(
    ctx: typer.Context,
    first: From = None,
    last: To = None,
    as_of: AsOf = None,
    json: Json = False,
    csv: Csv = False,
) -> None:
    """The node's figures over a period: requests sent and received, times to acknowledge,
    first answer, decision and execution (median, 90th percentile), outcomes, refusal
    grounds, returns for more information, lapsed preservations, the 24/7 desk's targets."""
    if ctx.invoked_subcommand is not None:
        return
    if json and csv:
        fail("give --json or --csv, not both")
    with user_errors():
        made = _made(load_settings(), first, last, as_of)
    if json:
        print_json(made.model_dump(mode="json"))
    elif csv:
        sys.stdout.write(report_model.to_csv(made.groups, made.threshold))
    else:
        _print(made)


def duration(seconds: int | None) -> str:
    """A duration as people read it: minutes, hours or days."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _n(value: int | None, threshold: int) -> str:
    return f"<{threshold}" if value is None else f"{value:,}"


def _print(made: report_model.Report) -> None:
    k = made.threshold
    console.print(
        f"Statistics of {made.node or 'this store'} ({made.state}), requests started "
        f"{made.period_from} to {made.period_to}, as recorded by {made.as_of:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )
    console.print(
        f"Counts below {k} are withheld (<{k}), and any count that would give one away; "
        "times are median / 90th percentile.",
        markup=False,
    )
    for direction in ("outgoing", "incoming"):
        rows = [
            g
            for g in made.groups
            if g.direction == direction and g.level in ("direction", "pair", "form", "channel")
        ]
        if not rows:
            continue
        table = Table(title=f"{direction} requests", title_justify="left")
        for col in (
            "",
            "requests",
            "acknowledge",
            "first answer",
            "decision",
            "execution",
            "executed",
            "partly",
            "refused",
            "withdrawn",
            "open",
            "more info asked",
        ):
            table.add_column(col, justify="left" if not col else "right")
        for g in rows:
            label = (
                "all"
                if g.level == "direction"
                else f"{g.requesting_state} → {g.requested_state}"
                if g.level == "pair"
                else f"by {g.channel}"
                if g.level == "channel"
                else str(g.form)
            )
            t = g.times
            table.add_row(
                label,
                _n(g.requests, k),
                *(
                    f"{duration(m.median_s)} / {duration(m.p90_s)}"
                    for m in (t.acknowledge, t.first_answer, t.decision, t.execution)
                ),
                _n(g.outcomes.executed, k),
                _n(g.outcomes.partially_executed, k),
                _n(g.outcomes.refused, k),
                _n(g.outcomes.withdrawn, k),
                _n(g.outcomes.open, k),
                _n(g.flags.returned_for_more_info, k),
            )
        console.print(table)
    total = next(
        (g for g in made.groups if g.level == "direction" and g.direction == "incoming"), None
    )
    if total is not None and total.desk is not None:
        for urgency in ("emergency", "urgent"):
            d = getattr(total.desk, urgency)
            console.print(
                f"24/7 desk, {urgency}: {_n(d.requests, k)} received, {_n(d.within_target, k)} "
                f"acknowledged within {d.target_s // 60} min, {_n(d.late, k)} late, "
                f"{_n(d.pending, k)} waiting; median {duration(d.median_s)}, "
                f"90th percentile {duration(d.p90_s)}",
                markup=False,
            )
    preserved = [g for g in made.groups if g.level == "direction"]
    for g in preserved:
        f = g.flags
        console.print(
            f"Preservations ({g.direction}): {_n(f.preserved, k)} preserved, "
            f"{_n(f.followed_up, k)} followed by a request, "
            f"{_n(g.outcomes.lapsed, k)} lapsed before one came",
            markup=False,
        )


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="Write the signed report (JWS) here.")],
    first: From = None,
    last: To = None,
    as_of: AsOf = None,
    json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Export the aggregate report signed by this node, for the Conference of the States
    Parties or the secretariat (audited: stats.export)."""
    settings = load_settings()
    with user_errors():
        made = _made(settings, first, last, as_of)
        ctx, _signed = runtime.load_context(settings, made.as_of)
        try:
            key = ctx.keys.active("sig", made.as_of)
            if made.node is None:
                raise InvalidInput("this data folder holds no node: `hanoinet node init` first")
            token = service.export(
                ctx.store, made, kid=key.kid, key=key.signing_key, actor=settings.user
            )
        finally:
            ctx.store.dispose()
        write_whole(out, (token + "\n").encode())
    info = {
        "out": str(out),
        "node": made.node,
        "state": made.state,
        "period": [made.period_from.isoformat(), made.period_to.isoformat()],
        "as_of": made.as_of.isoformat(),
        "threshold": made.threshold,
        "groups": len(made.groups),
        "sha256": hashlib.sha256(token.encode()).hexdigest(),
    }
    if json:
        print_json(info)
        return
    console.print(
        f"wrote {out}: the report of {made.node} ({made.state}) for {made.period_from} to "
        f"{made.period_to}, {len(made.groups)} groups, signed; sha256 {info['sha256']}",
        markup=False,
    )


@app.command("combine")
def combine_command(
    reports: Annotated[list[Path], typer.Argument(help="Signed reports (.jws), one per node.")],
    authority: Authority = None,
    directory: Directory = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the overview (JSON) here.")
    ] = None,
    json: Json = False,
    csv: Csv = False,
) -> None:
    """Verify several nodes' signed reports of one period and combine them into one
    overview: each node's groups side by side, and the requests between each pair of
    States as both ends counted them."""
    import json as json_module

    if json and csv:
        fail("give --json or --csv, not both")
    with user_errors():
        t = trust(authority, directory)
        if t.directory_token is None and t.directory is None:
            settings = load_settings()
            newest = runtime.cache(settings).newest(parse_time(None), allow_expired=True)
            if newest is None:
                raise InvalidInput(
                    "give --directory FILE: the signed directory to check the reports' signers against"
                )
            t = replace(t, directory_token=newest.token)
        assert t.directory_token is not None
        known = historical(t, t.directory_token)
        signed = []
        for path in reports:
            try:
                token = path.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"{path}: {exc}") from None
            try:
                signed.append((token, report_model.verify(token, known)))
            except report_model.ReportRefused as exc:
                raise InvalidInput(f"{path}: {exc.message} ({exc.code})") from None
        try:
            overview = report_model.combine(signed)
        except report_model.ReportRefused as exc:
            raise InvalidInput(exc.message) from None
        if out is not None:
            write_whole(out, (overview.model_dump_json(indent=2) + "\n").encode())
    if json:
        print_json(json_module.loads(overview.model_dump_json()))
    elif csv:
        threshold = max(s.threshold for s in overview.sources)
        sys.stdout.write(report_model.to_csv(overview.groups, threshold, reported_by=True))
    else:
        console.print(
            f"Overview of {len(overview.sources)} reports, {overview.period_from} to {overview.period_to}:",
            markup=False,
        )
        for s in overview.sources:
            console.print(
                f"  {s.node} ({s.state}), as of {s.as_of:%Y-%m-%d %H:%M}, threshold {s.threshold}",
                markup=False,
            )
        for f in overview.flows:
            sent = (
                "not reported"
                if not f.sent_reported
                else ("withheld" if f.sent is None else f"{f.sent:,}")
            )
            received = (
                "not reported"
                if not f.received_reported
                else ("withheld" if f.received is None else f"{f.received:,}")
            )
            console.print(
                f"  {f.requesting_state} → {f.requested_state}: sent {sent}, received {received}",
                markup=False,
            )
