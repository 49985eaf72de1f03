"""The statistics page (arts 55, 57): the node's figures over a period as charts, each beside
the table of its numbers, downloadable as CSV and JSON, and the signed report for the
Conference of the States Parties.

The figures are ``services/stats.py``'s report, the same as ``hanoinet stats`` prints:
counts, times and codes, small counts withheld. Reading them is no read of case content
(not audited, as on the command line); the signed report leaves the node and is
audited (``stats.export``). Charts are drawn in the browser by Chart.js (vendored in ``static/``,
MIT) from a JSON block of the page, by ``static/statistics.js``; the tables are the page's
content and its accessible text, so nothing is lost without script.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hanoinet.convention import convention
from hanoinet.exchange.crypto import CryptoFailure
from hanoinet.isodate import parse_day
from hanoinet.services import access, users
from hanoinet.services import stats as service
from hanoinet.stats import report as report_model
from hanoinet.stats.definitions import MILESTONES
from hanoinet.web import auth
from hanoinet.web.common import (
    attachment,
    forbidden,
    login_first,
    message_page,
    now,
    page,
    session,
    web,
)
from hanoinet.web.render import N_, gettext, label

router = APIRouter(include_in_schema=False)

MILESTONE_NAMES = {
    "acknowledge": N_("Acknowledged"),
    "first_answer": N_("First answer"),
    "decision": N_("Decision"),
    "execution": N_("Executed"),
}
"""The milestones of a request as the page names them (``stats/data/measures.yaml``)."""
OUTCOME_NAMES = {
    "executed": N_("Executed"),
    "partially_executed": N_("Partly executed"),
    "refused": N_("Refused"),
    "withdrawn": N_("Withdrawn"),
    "lapsed": N_("Lapsed"),
    "open": N_("Still open"),
}
OUTCOME_COLOURS = {
    "executed": "green",
    "partially_executed": "sky",
    "refused": "vermillion",
    "withdrawn": "grey",
    "lapsed": "orange",
    "open": "pink",
}
"""Okabe and Ito's colours, told apart with any colour vision (static/statistics.js)."""
CHANNEL_NAMES = {
    "network": N_("Network"),
    "email": N_("E-mail"),
    "post": N_("Post"),
    "courier": N_("Courier"),
    "diplomatic": N_("Diplomatic channel"),
}
"""How requests travelled (``stats.measures.CHANNELS``): the network, or by hand with a
State that runs no node."""
QUICK_RANGES = ((30, N_("Last 30 days")), (90, N_("Last 90 days")), (365, N_("Last 12 months")))


@dataclass(frozen=True)
class Asked:
    """The period as typed, the one shown, and what was wrong with what was typed."""

    typed: dict[str, str]
    period: service.Period | None
    errors: dict[str, str]


def _asked(first: str, last: str, at: datetime) -> Asked:
    typed = {"from": first.strip(), "to": last.strip()}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name, message in (
        ("from", N_("Enter the first day as a date, for example 2026-01-31")),
        ("to", N_("Enter the last day as a date, for example 2026-12-31")),
    ):
        try:
            days[name] = parse_day(typed[name]) if typed[name] else None
        except ValueError:
            errors[name] = message
            days[name] = None
    if errors:
        return Asked(typed, None, errors)
    first_day = days["from"]
    last_day = days["to"] or service.default_period(at).last
    if last_day >= date.max:
        return Asked(typed, None, {"to": N_("Enter a last day before 9999-12-31")})
    if first_day is None and last_day < date.min + timedelta(days=364):
        return Asked(typed, None, {"from": N_("Enter the first day too, for so early a last day")})
    if first_day is not None and last_day < first_day:
        if days["to"] is None:  # the last day is today's, by default
            return Asked(typed, None, {"from": N_("The first day must be today or before")})
        return Asked(typed, None, {"to": N_("The last day must be on or after the first day")})
    return Asked(typed, service.period_of(first_day, last_day, at), {})


def node_report(request: Request, period: service.Period, at: datetime) -> report_model.Report:
    """This node's report of ``period``, as recorded by ``at``."""
    node = web(request)
    return service.report(
        node.ctx.store,
        period,
        at,
        node=node.ctx.node_id,
        state=node.ctx.me.state,
        threshold=node.stats_threshold,
        ack_targets=node.ack_targets,
    )


def _reader(request: Request, permission: access.Permission) -> users.Session | Response:
    """The session asking, when it may; else the page that says why not."""
    current = session(request)
    if current is None:
        return login_first(request, to="/statistics")
    if not access.can(current.principal, permission):
        return forbidden(request)
    return current


def _file_name(made: report_model.Report, suffix: str) -> str:
    return f"statistics-{made.node or made.state}-{made.period_from}-{made.period_to}.{suffix}"


def _not_made(request: Request, heading: str, why: str, status_code: int = 400) -> Response:
    return message_page(request, N_("Not made"), heading, why, status_code)


@router.get("/statistics")
def statistics_page(request: Request) -> Response:
    current = _reader(request, "stats.read")
    if isinstance(current, Response):
        return current
    at = now(request)
    query = request.query_params
    asked = _asked(query.get("from", ""), query.get("to", ""), at)
    made = node_report(request, asked.period, at) if asked.period is not None else None
    return page(
        request,
        "statistics.html",
        N_("Statistics"),
        active="statistics",
        made=made,
        view=View(made) if made is not None else None,
        typed=asked.typed,
        errors=asked.errors,
        quick=[
            (name, (at.date() - timedelta(days=days - 1)).isoformat(), at.date().isoformat())
            for days, name in QUICK_RANGES
        ],
        may_export=access.can(current.principal, "stats.export"),
        share=share,
        milestone_names=MILESTONE_NAMES,
        outcome_names=OUTCOME_NAMES,
        channel_names=CHANNEL_NAMES,
        forms=convention().forms,
        grounds=convention().grounds,
        status_code=400 if asked.errors else 200,
    )


def _downloaded(request: Request) -> report_model.Report | Response:
    current = _reader(request, "stats.read")
    if isinstance(current, Response):
        return current
    at = now(request)
    asked = _asked(request.query_params.get("from", ""), request.query_params.get("to", ""), at)
    if asked.period is None:
        return _not_made(
            request, N_("The statistics could not be made"), next(iter(asked.errors.values()))
        )
    return node_report(request, asked.period, at)


@router.get("/statistics.csv")
def statistics_csv(request: Request) -> Response:
    made = _downloaded(request)
    if isinstance(made, Response):
        return made
    body = report_model.to_csv(made.groups, made.threshold)
    return attachment(body, "text/csv; charset=utf-8", _file_name(made, "csv"))


@router.get("/statistics.json")
def statistics_json(request: Request) -> Response:
    made = _downloaded(request)
    if isinstance(made, Response):
        return made
    body = made.model_dump_json(indent=2) + "\n"
    return attachment(body, "application/json", _file_name(made, "json"))


@router.post("/statistics/report")
async def signed_report(request: Request) -> Response:
    """The report signed by this node (compact JWS), as ``hanoinet stats export`` writes it;
    audited in the same step (services/stats.py ``export``)."""
    current = _reader(request, "stats.export")
    if isinstance(current, Response):
        return current
    heading = N_("The signed report was not made")
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not auth.csrf_ok(current.csrf, form.get("csrf")):
        return _not_made(request, heading, N_("This form had expired. Please try again."))
    at = now(request)
    asked = _asked(form.get("from", ""), form.get("to", ""), at)
    if asked.period is None:
        return _not_made(request, heading, next(iter(asked.errors.values())))
    made = node_report(request, asked.period, at)
    node = web(request)
    try:
        key = node.ctx.keys.active("sig", made.as_of)
    except CryptoFailure:
        return _not_made(
            request,
            heading,
            N_("This node has no valid signing key: its administrator rotates the keys."),
            503,
        )
    token = service.export(
        node.ctx.store, made, kid=key.kid, key=key.signing_key, actor=current.principal.actor
    )
    return attachment(token + "\n", "application/jose", _file_name(made, "jws"))


# --- what the page shows ------------------------------------------------------------------------


def share(part: int | None, whole: int | None) -> float | None:
    """``part`` of ``whole`` as a percentage; None where either is withheld or there is none."""
    if part is None or not whole:
        return None
    return 100 * part / whole


def _unit(seconds: list[int | None]) -> tuple[int, str]:
    """The unit that keeps a chart's durations readable: minutes, hours or days."""
    top = max((s for s in seconds if s is not None), default=0)
    if top < 2 * 3600:
        return 60, N_("minutes")
    if top < 3 * 86400:
        return 3600, N_("hours")
    return 86400, N_("days")


def _in(seconds: int | None, unit: int) -> float | None:
    return None if seconds is None else round(seconds / unit, 1)


class View:
    """The report as the page reads it: its groups by level, and each chart's specification
    (labels translated while the page renders, so made there, not here)."""

    def __init__(self, made: report_model.Report) -> None:
        self.made = made
        self.withheld = f"<{made.threshold}"
        found = {g.direction: g for g in made.groups if g.level == "direction"}
        self.top: dict[str, report_model.Group] = {
            d: found[d] for d in ("outgoing", "incoming") if d in found
        }
        """Sent first, then received."""
        self.pairs = [g for g in made.groups if g.level == "pair"]
        self.forms = [g for g in made.groups if g.level == "form"]
        self.channels = sorted(
            (g for g in made.groups if g.level == "channel" and g.channel),
            key=lambda g: (list(CHANNEL_NAMES).index(g.channel or ""), g.direction != "outgoing"),
        )
        """The network first, then the ways outside it; sent before received."""
        self.grounds = self._grounds()

    @property
    def empty(self) -> bool:
        return all(g.requests == 0 for g in self.top.values())

    def on_time(self, urgency: str) -> float | None:
        """The share of the desk's requests of ``urgency`` acknowledged within the target,
        of those due (within or late; the waiting ones are not yet)."""
        incoming = self.top.get("incoming")
        if incoming is None or incoming.desk is None:
            return None
        d = getattr(incoming.desk, urgency)
        if d.within_target is None or d.late is None:
            return None
        return share(d.within_target, d.within_target + d.late)

    def _grounds(self) -> list[tuple[str, dict[str, int | None]]]:
        """Each refusal ground given, with its count per direction (withheld: None)."""
        found: dict[str, dict[str, int | None]] = {}
        for direction, g in self.top.items():
            for counted in g.refused_by_ground:
                if counted.requests != 0:
                    found.setdefault(counted.ground, {})[direction] = counted.requests
        order = list(convention().grounds)
        return sorted(found.items(), key=lambda item: order.index(item[0]))

    def _spec(
        self,
        title: str,
        labels: list[str],
        series: list[tuple[str, str, list[float | int | None]]],
        *,
        unit: str | None = None,
        stacked: bool = False,
        note: str = N_("Some counts are withheld (fewer than %(k)s): they have no bar."),
    ) -> dict[str, Any]:
        """A chart's specification, with what it cannot show said on it: ``note`` where a
        value is withheld (None), and ``empty`` where there is nothing to draw."""
        values = [v for _name, _colour, vs in series for v in vs]
        return {
            "title": gettext(title),
            "labels": labels,
            "unit": gettext(unit) if unit else None,
            "stacked": stacked,
            "withheld": gettext("withheld (%(below)s)") % {"below": self.withheld},
            "note": gettext(note) % {"k": self.made.threshold} if None in values else None,
            "empty": all(v == 0 for v in values),
            "series": [
                {"name": gettext(name), "colour": colour, "values": values}
                for name, colour, values in series
            ],
        }

    def times_chart(self, direction: str) -> dict[str, Any]:
        """Both directions on one scale (the same unit and end), to be read side by side."""
        every = [getattr(g.times, m) for g in self.top.values() for m in MILESTONES]
        unit, unit_name = _unit([t.p90_s for t in every])
        times = [getattr(self.top[direction].times, m) for m in MILESTONES]
        spec = self._spec(
            N_("Median and 90th percentile, from the start"),
            [gettext(MILESTONE_NAMES[m]) for m in MILESTONES],
            [
                (N_("Median"), "blue", [_in(t.median_s, unit) for t in times]),
                (N_("90th percentile"), "orange", [_in(t.p90_s, unit) for t in times]),
            ],
            unit=unit_name,
            note=N_("Some times are not shown: fewer than %(k)s requests reached the milestone."),
        )
        top = max((_in(t.p90_s, unit) or 0 for t in every), default=0)
        spec["max"] = math.ceil(top) if top else None
        return spec

    def pairs_chart(self) -> dict[str, Any]:
        return self._spec(
            N_("Requests by outcome, per pair of States"),
            [f"{g.requesting_state} → {g.requested_state}" for g in self.pairs],
            [
                (name, OUTCOME_COLOURS[key], [getattr(g.outcomes, key) for g in self.pairs])
                for key, name in OUTCOME_NAMES.items()
            ],
            stacked=True,
        )

    def forms_chart(self) -> dict[str, Any]:
        forms = convention().forms
        kinds = list(dict.fromkeys(g.form for g in self.forms if g.form is not None))
        count = {(g.direction, g.form): g.requests for g in self.forms}
        return self._spec(
            N_("Requests sent and received, per form"),
            [gettext(forms[k].title) for k in kinds],
            [
                (N_("Sent"), "blue", [count.get(("outgoing", k), 0) for k in kinds]),
                (N_("Received"), "orange", [count.get(("incoming", k), 0) for k in kinds]),
            ],
        )

    def channels_chart(self) -> dict[str, Any]:
        """The median time to the first answer by each channel, sent and received: how
        networked cooperation compares with letters, e-mail and the diplomatic bag."""
        channels = list(dict.fromkeys(g.channel for g in self.channels if g.channel))
        median: dict[tuple[str, str | None], int | None] = {
            (g.direction, g.channel): g.times.first_answer.median_s for g in self.channels
        }
        unit, unit_name = _unit(list(median.values()))
        return self._spec(
            N_("Median time to the first answer, per channel"),
            [gettext(CHANNEL_NAMES[c]) for c in channels],
            [
                (name, colour, [_in(median.get((direction, c)), unit) for c in channels])
                for direction, name, colour in (
                    ("outgoing", N_("Sent"), "blue"),
                    ("incoming", N_("Received"), "orange"),
                )
            ],
            unit=unit_name,
            note=N_("Some times are not shown: fewer than %(k)s requests reached the milestone."),
        )

    def grounds_chart(self) -> dict[str, Any]:
        grounds = convention().grounds
        return self._spec(
            N_("Refusals, per ground (article)"),
            # the article kept left to right on a right-to-left canvas (LRI ... PDI)
            [
                f"{gettext('art.')} \u2066{grounds[key].article}\u2069"
                for key, _counts in self.grounds
            ],
            [
                (N_("Sent"), "blue", [c.get("outgoing", 0) for _key, c in self.grounds]),
                (N_("Received"), "orange", [c.get("incoming", 0) for _key, c in self.grounds]),
            ],
        )

    def desk_chart(self) -> dict[str, Any] | None:
        incoming = self.top.get("incoming")
        if incoming is None or incoming.desk is None:
            return None
        desk = [incoming.desk.emergency, incoming.desk.urgent]
        return self._spec(
            N_("Acknowledged within the target, or not"),
            [label("urgency", "emergency"), label("urgency", "urgent")],
            [
                (N_("Within the target"), "green", [d.within_target for d in desk]),
                (N_("Late"), "vermillion", [d.late for d in desk]),
                (N_("Waiting"), "pink", [d.pending for d in desk]),
            ],
            stacked=True,
        )

    def preservations_chart(self) -> dict[str, Any]:
        directions = [d for d in ("outgoing", "incoming") if d in self.top]
        return self._spec(
            N_("Preserved, followed up, lapsed"),
            [gettext("Sent") if d == "outgoing" else gettext("Received") for d in directions],
            [
                (N_("Preserved"), "blue", [self.top[d].flags.preserved for d in directions]),
                (
                    N_("Followed by the request for the data"),
                    "green",
                    [self.top[d].flags.followed_up for d in directions],
                ),
                (
                    N_("Lapsed before it came"),
                    "orange",
                    [self.top[d].outcomes.lapsed for d in directions],
                ),
            ],
        )
