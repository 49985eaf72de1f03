"""The aggregate report: its schema, made from published cells, signed, verified, combined.

The schema has no field that could carry case content, by construction: every model
forbids extra members; every string is a code (a direction, a level, a two-letter State
code, a cooperation form or refusal ground key from the Convention data, a channel, the
reporting node's id) checked against its list or pattern; everything else is a count, a duration in
seconds, a date or the cut-off time. There is no name, identifier of a case or person, and
no free text (``tests/stats/test_report.py`` walks the JSON Schema to keep it so). The only
identifier is the reporting node's own, which signs the report and which a verifier checks
against the directory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from hanoinet.convention import convention
from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory
from hanoinet.stats.definitions import FLAGS, MILESTONES, OUTCOMES
from hanoinet.stats.measures import DESK_URGENCIES, OPEN
from hanoinet.stats.suppress import Published

FORMAT: Literal["hanoinet.stats-report/1"] = "hanoinet.stats-report/1"
OVERVIEW_FORMAT: Literal["hanoinet.stats-overview/1"] = "hanoinet.stats-overview/1"
TYP = "hanoinet-stats-report+jws"
NODE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
STATE_CODE = r"^[A-Z]{2}$"
KEY = r"^[a-z][a-z0-9_]{0,63}$"


class ReportRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _DataKey:
    """A key of the Convention data (a form, a ground): validated against the list, and
    published in the JSON Schema as that list (an enum)."""

    def __init__(self, what: str, keys: Callable[[], Iterable[str]]) -> None:
        self.what = what
        self.keys = keys

    def _check(self, value: str) -> str:
        if value not in set(self.keys()):
            raise ValueError(f"{value!r} is not a {self.what} key of the Convention data")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            self._check, core_schema.str_schema(pattern=KEY)
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": sorted(self.keys())}


FormKey = Annotated[str, _DataKey("cooperation form", lambda: convention().forms)]
GroundKey = Annotated[str, _DataKey("ground", lambda: convention().grounds)]
StateCode = Annotated[str, Field(pattern=STATE_CODE)]
NodeId = Annotated[str, Field(pattern=NODE_ID)]
Count = Annotated[int, Field(ge=0)] | None
"""A number of requests; null where withheld (fewer than the threshold)."""
Seconds = Annotated[int, Field(ge=0)] | None
"""A duration in whole seconds; null where withheld or nothing was measured."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Times(_Model):
    n: Count = Field(description="Requests that reached the milestone by the cut-off.")
    median_s: Seconds
    p90_s: Seconds


class Milestones(_Model):
    acknowledge: Times
    first_answer: Times
    decision: Times
    execution: Times


class Outcomes(_Model):
    executed: Count
    partially_executed: Count
    refused: Count
    withdrawn: Count
    lapsed: Count
    open: Count


class GroundCount(_Model):
    ground: GroundKey
    requests: Count


class Flags(_Model):
    postponed: Count
    returned_for_more_info: Count
    preserved: Count
    followed_up: Count


class DeskTimes(_Model):
    target_s: Annotated[int, Field(ge=1)]
    requests: Count
    within_target: Count
    late: Count
    pending: Count
    median_s: Seconds
    p90_s: Seconds


class Desk(_Model):
    emergency: DeskTimes
    urgent: DeskTimes


Level = Literal["direction", "pair", "form", "channel", "pair_form", "form_channel"]
Channel = Literal["network", "email", "post", "courier", "diplomatic"]


class Group(_Model):
    level: Level
    direction: Literal["outgoing", "incoming"]
    requesting_state: StateCode | None
    requested_state: StateCode | None
    form: FormKey | None
    channel: Channel | None = Field(
        default=None,
        description="How the requests travelled: the network, or e-mail, post, courier or the "
        "diplomatic channel with a State that runs no node; null where all channels are counted "
        "(a report made before channels were counted has none).",
    )
    requests: Count
    times: Milestones
    outcomes: Outcomes
    refused_by_ground: tuple[GroundCount, ...]
    flags: Flags
    desk: Desk | None = Field(description="Incoming requests only: the 24/7 desk's targets.")


class Report(_Model):
    format: Literal["hanoinet.stats-report/1"] = FORMAT
    node: NodeId | None = Field(
        description="The reporting node: the signer of an exported report; none in a view "
        "of a store that is no initialized node."
    )
    state: StateCode
    period_from: date
    period_to: date
    as_of: AwareDatetime
    threshold: Annotated[int, Field(ge=1)]
    groups: tuple[Group, ...]


def build(
    published: list[Published],
    *,
    node: str | None,
    state: str,
    period: tuple[date, date],
    as_of: datetime,
    threshold: int,
    ack_targets_s: dict[str, int],
) -> Report:
    """The report of ``published`` cells (validated as it is built: a value the schema has
    no room for is an error here, never a field in the output)."""
    groups = []
    for p in published:
        c, counts = p.cell, p.counts
        groups.append(
            Group(
                level=c.level,
                direction=c.direction,
                requesting_state=c.requesting_state,
                requested_state=c.requested_state,
                form=c.form,
                channel=c.channel,
                requests=counts["requests"],
                times=Milestones(**{m: _times(p, m) for m in MILESTONES}),
                outcomes=Outcomes(**{o: counts[f"outcomes.{o}"] for o in (*OUTCOMES, OPEN)}),
                refused_by_ground=tuple(
                    GroundCount(ground=name.split(".", 1)[1], requests=v)
                    for name, v in counts.items()
                    if name.startswith("refused_by_ground.") and v != 0
                ),
                flags=Flags(**{f: counts[f"flags.{f}"] for f in FLAGS}),
                desk=Desk(**{u: _desk(p, u, ack_targets_s[u]) for u in DESK_URGENCIES})
                if c.direction == "incoming"
                else None,
            )
        )
    return Report(
        node=node,
        state=state,
        period_from=period[0],
        period_to=period[1],
        as_of=as_of,
        threshold=threshold,
        groups=tuple(groups),
    )


def _times(p: Published, name: str) -> Times:
    median, p90 = p.durations.get(name, (None, None))
    return Times(n=p.counts[f"times.{name}.n"], median_s=median, p90_s=p90)


def _desk(p: Published, urgency: str, target_s: int) -> DeskTimes:
    median, p90 = p.durations.get(f"desk.{urgency}", (None, None))
    parts = {
        k: p.counts[f"desk.{urgency}.{k}"] for k in ("requests", "within_target", "late", "pending")
    }
    return DeskTimes(target_s=target_s, median_s=median, p90_s=p90, **parts)


def payload(report: Report) -> bytes:
    return json.dumps(
        report.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
    ).encode()


def sign(report: Report, *, kid: str, key: crypto.SigningKey) -> str:
    if report.node is None:
        raise ValueError("only a node's report is signed: this one names no node")
    return crypto.sign({"typ": TYP, "kid": kid}, payload(report), key)


def verify(token: str, directory: Directory) -> Report:
    """The report, once its signature verifies against the directory: the signature is
    checked before the content is parsed, the signer must be the node the report names (of
    the State it names), and its key must have been usable at the report's cut-off."""
    try:
        kid = str(crypto.unverified_header(token.strip()).get("kid"))
    except crypto.CryptoFailure as exc:
        raise ReportRefused("malformed", f"not a signed report: {exc}") from None
    owner = directory.signing_key(kid)
    if owner is None:
        raise ReportRefused(
            "unknown_signer", f"signed with key {kid}, which no node in the directory holds"
        )
    node, key = owner
    try:
        verified = crypto.verify(
            token.strip(), crypto.import_key(key.model_dump(include={"kty", "crv", "x"}))
        )
    except crypto.CryptoFailure:
        raise ReportRefused("forged", "the report's signature does not verify") from None
    if verified.header.get("typ") != TYP:
        raise ReportRefused("malformed", "signed, but not a statistics report")
    try:
        report = Report.model_validate_json(verified.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportRefused("malformed", f"signed, but {where}: {first['msg']}") from None
    if report.node != node.id or report.state != node.state:
        raise ReportRefused(
            "forged",
            f"names {report.node} ({report.state}), but the key is {node.id}'s ({node.state})",
        )
    if not key.usable_at(report.as_of):
        raise ReportRefused(
            "key_not_valid", f"key {kid} of {node.id} was not valid at {report.as_of}"
        )
    return report


# --- the overview a directory-authority node makes of several States' reports ---


class Source(_Model):
    node: NodeId
    state: StateCode
    as_of: AwareDatetime
    threshold: Annotated[int, Field(ge=1)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """Of the signed report as received."""


class Flow(_Model):
    """Requests between two States as each end counted them: a gap is requests lost or
    stuck in between (or counted in another period)."""

    requesting_state: StateCode
    requested_state: StateCode
    sent: Count = Field(description="As the requesting State's reports count them.")
    received: Count = Field(description="As the requested State's reports count them.")
    sent_reported: bool
    received_reported: bool


class ReportedGroup(Group):
    reported_by: NodeId


class Overview(_Model):
    format: Literal["hanoinet.stats-overview/1"] = OVERVIEW_FORMAT
    period_from: date
    period_to: date
    sources: tuple[Source, ...]
    flows: tuple[Flow, ...]
    groups: tuple[ReportedGroup, ...]


def combine(signed: list[tuple[str, Report]]) -> Overview:
    """One overview of several verified reports of one period: each report's groups side by
    side (tagged with the node), and the flows between States as both ends counted them. A
    sum with a withheld term is withheld too (its total is not known)."""
    if not signed:
        raise ReportRefused("empty", "no report to combine")
    first = signed[0][1]
    seen: set[str] = set()
    for _, r in signed:
        if (r.period_from, r.period_to) != (first.period_from, first.period_to):
            raise ReportRefused(
                "other_period",
                f"{r.node}'s report covers {r.period_from} to {r.period_to}, "
                f"{first.node}'s {first.period_from} to {first.period_to}: combine one period",
            )
        if r.node is None:
            raise ReportRefused("unsigned", "a report that names no node cannot be combined")
        if r.node in seen:
            raise ReportRefused("duplicate", f"two reports of {r.node}: give each node's once")
        seen.add(r.node)
    sent: dict[tuple[str, str], list[int | None]] = {}
    received: dict[tuple[str, str], list[int | None]] = {}
    for _, r in signed:
        for g in r.groups:
            if g.level != "pair" or g.requesting_state is None or g.requested_state is None:
                continue
            pair = (g.requesting_state, g.requested_state)
            side = sent if g.direction == "outgoing" else received
            side.setdefault(pair, []).append(g.requests)
    flows = [
        Flow(
            requesting_state=a,
            requested_state=b,
            sent=_total(sent.get((a, b))),
            received=_total(received.get((a, b))),
            sent_reported=(a, b) in sent,
            received_reported=(a, b) in received,
        )
        for a, b in sorted(set(sent) | set(received))
    ]
    return Overview(
        period_from=first.period_from,
        period_to=first.period_to,
        sources=tuple(
            Source(
                node=r.node,
                state=r.state,
                as_of=r.as_of,
                threshold=r.threshold,
                sha256=hashlib.sha256(token.strip().encode()).hexdigest(),
            )
            for token, r in signed
        ),
        flows=tuple(flows),
        groups=tuple(
            ReportedGroup(**g.model_dump(), reported_by=r.node) for _, r in signed for g in r.groups
        ),
    )


def _total(parts: list[int | None] | None) -> int | None:
    if not parts:
        return 0
    if any(p is None for p in parts):
        return None
    return sum(p for p in parts if p is not None)


# --- CSV: one row per group ---


def columns() -> list[str]:
    cols = [
        "level",
        "direction",
        "requesting_state",
        "requested_state",
        "form",
        "channel",
        "requests",
    ]
    for m in MILESTONES:
        cols += [f"{m}_n", f"{m}_median_hours", f"{m}_p90_hours"]
    cols += [f"outcome_{o}" for o in (*OUTCOMES, OPEN)]
    cols += [f"refused_{g}" for g in sorted(convention().grounds)]
    cols += list(FLAGS)
    for u in DESK_URGENCIES:
        cols += [
            f"desk_{u}_{k}"
            for k in (
                "target_minutes",
                "requests",
                "within_target",
                "late",
                "pending",
                "median_minutes",
                "p90_minutes",
            )
        ]
    return cols


def to_csv(groups: Iterable[Group], threshold: int, *, reported_by: bool = False) -> str:
    """The groups as CSV: a withheld count reads ``<threshold`` (as statistical offices
    print it), a duration not shown is empty; durations in hours (the desk's in minutes)."""
    hidden = f"<{threshold}"

    def n(v: int | None) -> str | int:
        return hidden if v is None else v

    def hours(s: int | None, per: int = 3600) -> str:
        return "" if s is None else f"{s / per:.2f}"

    out = io.StringIO()
    cols = (["reported_by"] if reported_by else []) + columns()
    writer = csv.DictWriter(out, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for g in groups:
        row: dict[str, Any] = {
            "level": g.level,
            "direction": g.direction,
            "requesting_state": g.requesting_state or "",
            "requested_state": g.requested_state or "",
            "form": g.form or "",
            "channel": g.channel or "",
            "requests": n(g.requests),
        }
        if reported_by:
            row["reported_by"] = getattr(g, "reported_by", "")
        for m in MILESTONES:
            t: Times = getattr(g.times, m)
            row.update(
                {
                    f"{m}_n": n(t.n),
                    f"{m}_median_hours": hours(t.median_s),
                    f"{m}_p90_hours": hours(t.p90_s),
                }
            )
        for o in (*OUTCOMES, OPEN):
            row[f"outcome_{o}"] = n(getattr(g.outcomes, o))
        grounds = {gc.ground: gc.requests for gc in g.refused_by_ground}
        for key in sorted(convention().grounds):
            row[f"refused_{key}"] = n(grounds.get(key, 0))
        for f in FLAGS:
            row[f] = n(getattr(g.flags, f))
        for u in DESK_URGENCIES:
            d: DeskTimes | None = getattr(g.desk, u) if g.desk else None
            if d is None:
                continue
            row.update(
                {
                    f"desk_{u}_target_minutes": d.target_s // 60,
                    f"desk_{u}_requests": n(d.requests),
                    f"desk_{u}_within_target": n(d.within_target),
                    f"desk_{u}_late": n(d.late),
                    f"desk_{u}_pending": n(d.pending),
                    f"desk_{u}_median_minutes": hours(d.median_s, 60),
                    f"desk_{u}_p90_minutes": hours(d.p90_s, 60),
                }
            )
        writer.writerow(row)
    return out.getvalue()
