"""The statistics page, its downloads and the signed report: the figures are the service's
report (the same as ``hanoinet stats``), each chart's data is its table's, bad periods are
answered at their field, and only the supervisor and the central authority open them.

One node for the module, on SQLite: the pages add no query of their own, and the figures
are tested on both databases in tests/services/test_stats.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from hanoinet.bench import history
from hanoinet.convention import convention
from hanoinet.exchange import directory as d
from hanoinet.exchange.crypto import CryptoFailure
from hanoinet.exchange.keys import KeySet
from hanoinet.services import stats as stats_service
from hanoinet.services import users
from hanoinet.services.cases import ACK_TARGETS
from hanoinet.services.federation import NodeContext
from hanoinet.stats import report as report_model
from hanoinet.store import Store, open_store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit
from hanoinet.web import statistics as statistics_page
from hanoinet.web.app import create_app
from hanoinet.web.render import translations

AT = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
YEAR = "from=2025-01-01&to=2025-12-31"
PERIOD = stats_service.Period(date(2025, 1, 1), date(2025, 12, 31))
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USERS = {
    "supervisor": "sam",
    "central_authority_officer": "carl",
    "duty_officer": "dora",
    "requester": "rita",
    "node_admin": "ada",
}
READERS = {"supervisor", "central_authority_officer"}


@dataclass
class Node:
    store: Store
    keys: KeySet
    directory: d.Directory
    clients: dict[str, TestClient]

    def expected(self, period: stats_service.Period = PERIOD) -> report_model.Report:
        return stats_service.report(
            self.store,
            period,
            AT,
            node="xa-ca",
            state="XA",
            threshold=stats_service.DEFAULT_THRESHOLD,
            ack_targets=dict(ACK_TARGETS),
        )


def _node(store: Store) -> Node:
    keys = KeySet.generate(AT - timedelta(days=400))
    entry = d.NodeEntry(
        id="xa-ca",
        state="XA",
        name="xa-ca",
        roles=("central_authority", "point_of_contact"),
        endpoint="http://xa-ca.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=AT - timedelta(days=400),
    )
    directory = d.Directory(
        version=1, issued_at=AT, valid_until=AT + timedelta(days=30), nodes=(entry,)
    )
    app = create_app(NodeContext("xa-ca", keys, directory, store), clock=lambda: AT)
    clients = {}
    for role, name in USERS.items():
        password = users.create_user(store, name, role, actor="admin", at=AT)
        half = users.log_in(store, name, password, at=AT)
        assert half.pending_totp is not None
        full = users.set_up(
            store,
            half.token,
            "long new password 1",
            "long new password 1",
            pyotp.TOTP(half.pending_totp).at(AT),
            at=AT,
        )
        client = TestClient(app, follow_redirects=False)
        client.cookies.set("hanoinet_session", full.token)
        clients[role] = client
    return Node(store, keys, directory, clients)


@contextmanager
def _serving(folder: Path, stories: list[history.Story]) -> Iterator[Node]:
    store = open_store(f"sqlite:///{folder / 'node.db'}")
    try:
        history.write(store, stories)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(users, "_HASHER", FAST_HASHER)
            yield _node(store)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with _serving(tmp_path_factory.mktemp("statistics"), history.synthetic(6000, seed=4)) as n:
        yield n


def _specs(html: str) -> dict[str, dict[str, Any]]:
    """Each chart's data block, by its canvas id."""
    blocks = re.findall(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', html)
    return {name: json.loads(body) for name, body in blocks}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_page_shows_the_services_figures_in_charts_and_tables(node: Node) -> None:
    response = node.clients["central_authority_officer"].get(f"/statistics?{YEAR}")
    assert response.status_code == 200
    html = response.text
    made = node.expected()
    top = {g.direction: g for g in made.groups if g.level == "direction"}
    sent, received = top["outgoing"], top["incoming"]
    assert sent.requests and received.requests
    tiles = dict(re.findall(r"<div><dt>([^<]+)</dt><dd>([^<]+)</dd></div>", html))
    assert tiles["Requests sent"] == f"{sent.requests:,}"
    assert tiles["Requests received"] == f"{received.requests:,}"
    specs = _specs(html)
    assert set(specs) == {
        "chart-times-outgoing",
        "chart-times-incoming",
        "chart-outcomes",
        "chart-forms",
        "chart-channels",
        "chart-refusals",
        "chart-desk",
        "chart-preservations",
    }
    # Each chart draws the report's numbers (durations in the chart's unit).
    pairs = [g for g in made.groups if g.level == "pair"]
    outcomes = {s["name"]: s["values"] for s in specs["chart-outcomes"]["series"]}
    assert outcomes["Executed"] == [g.outcomes.executed for g in pairs]
    assert outcomes["Refused"] == [g.outcomes.refused for g in pairs]
    assert specs["chart-outcomes"]["labels"] == [
        f"{g.requesting_state} → {g.requested_state}" for g in pairs
    ]
    times = specs["chart-times-incoming"]
    factor = {"minutes": 60, "hours": 3600, "days": 86400}[times["unit"]]
    medians = times["series"][0]["values"]
    assert medians[3] == round(received.times.execution.median_s / factor, 1)
    # Networked and non-networked cooperation side by side (issue 24 item 6).
    channels = {(g.direction, g.channel): g for g in made.groups if g.level == "channel"}
    assert {c for _d, c in channels} == {"network", "email", "post", "diplomatic"}
    chart = specs["chart-channels"]
    assert chart["labels"] == ["Network", "E-mail", "Post", "Diplomatic channel"]
    factor = {"minutes": 60, "hours": 3600, "days": 86400}[chart["unit"]]
    sent_by = dict(zip(chart["labels"], chart["series"][0]["values"], strict=True))
    post = channels[("outgoing", "post")].times.first_answer.median_s
    network = channels[("outgoing", "network")].times.first_answer.median_s
    assert post is not None and network is not None and post > network
    assert sent_by["Post"] == round(post / factor, 1)
    assert sent_by["Network"] == round(network / factor, 1)
    row = re.search(r'<tr><th scope="row">Post</th><td>Sent</td><td>([^<]+)</td>', html)
    assert row is not None and row.group(1) == f"{channels[('outgoing', 'post')].requests:,}"
    desk = {s["name"]: s["values"] for s in specs["chart-desk"]["series"]}
    assert desk["Late"] == [received.desk.emergency.late, received.desk.urgent.late]
    # ... and the table beside it the same, every pair a row.
    for g in pairs:
        assert f'<bdi dir="ltr">{g.requesting_state} → {g.requested_state}</bdi>' in html
    refused = [c for c in received.refused_by_ground if c.requests]
    assert refused
    grounds = convention().grounds
    for c in refused:  # a row per ground given: its text, its article, its count
        row = re.search(
            rf"<tr><th scope=\"row\">{re.escape(escape(grounds[c.ground].text))}</th>(.*?)</tr>",
            html,
        )
        assert row is not None, c.ground
        assert f'<bdi dir="ltr">{grounds[c.ground].article}</bdi>' in row.group(1)
        assert row.group(1).endswith(f"<td>{c.requests:,}</td>")
    assert len(specs["chart-refusals"]["labels"]) == len(
        {c.ground for g in top.values() for c in g.refused_by_ground if c.requests != 0}
    )
    # The charts are drawn by the vendored library and our script, no inline script.
    assert '<script src="/static/chart-4.6.1.umd.min.js" defer></script>' in html
    assert '<script src="/static/statistics.js" defer></script>' in html
    assert not re.search(r"<script>(?!\s*</script>)", html)
    assert 'aria-current="page">Statistics</a>' in html


def test_a_withheld_count_is_shown_as_withheld_and_drawn_as_nothing(node: Node) -> None:
    """A day of 2025 holds a few requests only: most counts are withheld."""
    day = "from=2025-06-03&to=2025-06-03"
    html = node.clients["supervisor"].get(f"/statistics?{day}").text
    made = node.expected(stats_service.Period(date(2025, 6, 3), date(2025, 6, 3)))
    withheld = sum(
        value is None
        for g in made.groups
        if g.level == "pair"
        for value in g.outcomes.model_dump().values()
    )
    assert withheld > 0
    assert html.count('<span class="withheld"') >= withheld
    outcomes = _specs(html)["chart-outcomes"]
    assert None in [v for s in outcomes["series"] for v in s["values"]]
    assert outcomes["withheld"] == "withheld (<5)"
    # ... and the chart says so on itself, not only in the table: a note tied to its canvas.
    note = "Some counts are withheld (fewer than 5): they have no bar."
    assert outcomes["note"] == note
    assert re.search(
        r'<figcaption>[^<]+</figcaption>\s*<p class="chart-note" id="chart-outcomes-note">'
        + re.escape(note)
        + r'</p>\s*<div class="chart-box"><canvas id="chart-outcomes"[^>]*'
        r'aria-describedby="chart-outcomes-note"',
        html,
    )
    for name, spec in _specs(html).items():  # a note exactly where a value is withheld
        values = [v for s in spec["series"] for v in s["values"]]
        assert (spec["note"] is not None) == (None in values), name
        assert (f'id="{name}-note"' in html) == (None in values), name


def test_a_chart_with_nothing_to_draw_says_so_instead_of_empty_axes(node: Node) -> None:
    view = statistics_page.View(node.expected())
    nothing = view._spec("Nothing", ["a", "b"], [("Sent", "blue", [0, 0])])
    assert nothing["empty"] and nothing["note"] is None
    withheld = view._spec("Withheld", ["a"], [("Sent", "blue", [None, 0])])
    assert not withheld["empty"] and withheld["note"] == (
        "Some counts are withheld (fewer than 5): they have no bar."
    )
    assert not view._spec("Some", ["a"], [("Sent", "blue", [0, 3])])["empty"]
    # On the page: the chart's heading, the words, no canvas and no data for it.
    html = node.clients["supervisor"].get("/statistics?from=2025-06-03&to=2025-06-03").text
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', html, re.S)
    empty = [f for f in figures if "chart-empty" in f]
    assert empty, "the day has charts with nothing to draw"
    for figure in empty:
        assert '<p class="chart-empty">No requests in this period.</p>' in figure
        assert "<canvas" not in figure and "application/json" not in figure
    assert len(_specs(html)) == len(figures) - len(empty)


def test_the_default_period_is_the_last_365_days(node: Node) -> None:
    html = node.clients["supervisor"].get("/statistics").text
    assert 'value="2025-01-16"' in html and 'value="2026-01-15"' in html
    assert 'href="/statistics?from=2025-12-17&amp;to=2026-01-15">Last 30 days</a>' in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=31/01/2025", "from", "Enter the first day as a date, for example 2026-01-31"),
        ("from=2025-01-01&to=2025-02-30", "to", "Enter the last day as a date"),
        ("from=2025-12-31&to=2025-01-01", "to", "The last day must be on or after the first day"),
        ("to=0001-01-01", "from", "Enter the first day too, for so early a last day"),
        ("to=9999-12-31", "to", "Enter a last day before 9999-12-31"),
        ("from=2026-02-01", "from", "The first day must be today or before"),
    ],
)
def test_a_bad_period_is_answered_at_its_field(
    node: Node, query: str, field: str, message: str
) -> None:
    response = node.clients["supervisor"].get(f"/statistics?{query}")
    assert response.status_code == 400
    html = response.text
    assert f'<a href="#{field}">' in html and message in html
    assert f'id="{field}-error"' in html
    assert "<canvas" not in html and "statistics.js" not in html
    for typed in query.split("&"):  # what was typed comes back
        name, value = typed.split("=")
        assert f'id="{name}" name="{name}" value="{value}"' in html


def test_downloads_are_the_report_as_csv_and_json(node: Node) -> None:
    client = node.clients["supervisor"]
    made = node.expected()
    csv = client.get(f"/statistics.csv?{YEAR}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == (
        'attachment; filename="statistics-xa-ca-2025-01-01-2025-12-31.csv"'
    )
    assert csv.text == report_model.to_csv(made.groups, made.threshold)
    got = client.get(f"/statistics.json?{YEAR}")
    assert got.headers["cache-control"] == "no-store"
    assert report_model.Report.model_validate_json(got.content) == made
    bad = client.get("/statistics.csv?from=yesterday")
    assert bad.status_code == 400 and "Enter the first day as a date" in bad.text


def _audited(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [
            (r.actor, r.action)
            for r in conn.execute(select(audit.c.actor, audit.c.action).order_by(audit.c.seq))
        ]


def test_the_signed_report_verifies_and_its_making_is_audited(node: Node) -> None:
    client = node.clients["central_authority_officer"]
    page = client.get(f"/statistics?{YEAR}").text
    before = _audited(node.store)
    assert ("carl", "stats.export") not in before
    signed = client.post(
        "/statistics/report", data={"csrf": _csrf(page), "from": "2025-01-01", "to": "2025-12-31"}
    )
    assert signed.status_code == 200
    assert signed.headers["content-type"] == "application/jose"
    assert signed.headers["content-disposition"].endswith('-2025-01-01-2025-12-31.jws"')
    verified = report_model.verify(signed.text.strip(), node.directory)
    assert verified == node.expected()
    assert _audited(node.store)[len(before) :] == [("carl", "stats.export")]
    with node.store.engine.connect() as conn:
        entry = list(audit_log.entries(conn))[-1]
    assert (entry.legal_basis, json.loads(entry.detail)) == (
        "55",
        {
            "period": ["2025-01-01", "2025-12-31"],
            "threshold": 5,
            "groups": len(verified.groups),
        },
    )


def test_without_a_valid_signing_key_the_report_is_not_made(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = node.clients["supervisor"]
    page = client.get(f"/statistics?{YEAR}").text
    before = _audited(node.store)

    def no_key(*_args: object) -> None:
        raise CryptoFailure("no valid sig key; rotate keys")

    monkeypatch.setattr(KeySet, "active", no_key)
    refused = client.post("/statistics/report", data={"csrf": _csrf(page), "from": "2025-01-01"})
    assert refused.status_code == 503
    assert "This node has no valid signing key" in refused.text
    assert _audited(node.store) == before


def test_the_signed_report_needs_the_pages_form_token(node: Node) -> None:
    before = _audited(node.store)
    refused = node.clients["supervisor"].post(
        "/statistics/report", data={"csrf": "made-up", "from": "2025-01-01"}
    )
    assert refused.status_code == 400 and "This form had expired" in refused.text
    assert _audited(node.store) == before


@pytest.mark.parametrize("role", USERS)
def test_only_the_supervisor_and_the_central_authority_read_the_statistics(
    node: Node, role: str
) -> None:
    client = node.clients[role]
    before = _audited(node.store)
    page = client.get(f"/statistics?{YEAR}")
    downloads = [client.get(f"/statistics.{kind}?{YEAR}") for kind in ("csv", "json")]
    signed = client.post("/statistics/report", data={"csrf": "x"})
    home = client.get("/public/treaty").text
    if role in READERS:
        assert page.status_code == 200 and "<canvas" in page.text
        assert [r.status_code for r in downloads] == [200, 200]
        assert signed.status_code == 400  # let through to the form token
        assert 'href="/statistics"' in home
    else:
        assert [page.status_code, *(r.status_code for r in downloads), signed.status_code] == [
            403
        ] * 4
        assert "Your role does not open this page" in page.text
        assert "<canvas" not in page.text and "XA → XB" not in page.text
        assert 'href="/statistics"' not in home
    assert _audited(node.store) == before


def test_without_a_session_the_pages_ask_to_log_in(node: Node) -> None:
    anonymous = TestClient(node.clients["supervisor"].app, follow_redirects=False)
    for url in ("/statistics", "/statistics.csv", "/statistics.json"):
        response = anonymous.get(url)  # once logged in, the page (not a file to save)
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/login?next=%2Fstatistics",
        )
    posted = anonymous.post("/statistics/report", data={})  # back to the page, not the POST
    assert (posted.status_code, posted.headers["location"]) == (303, "/login?next=%2Fstatistics")


def test_a_node_without_requests_says_so(tmp_path: Path) -> None:
    with _serving(tmp_path, []) as empty:
        html = empty.clients["supervisor"].get("/statistics").text
        assert '<p class="notice">No requests in this period.</p>' in html
        assert "<canvas" not in html and "chart-4.6.1" not in html


def test_the_page_in_arabic_reads_right_to_left(node: Node) -> None:
    client = node.clients["supervisor"]
    client.get("/language?lang=ar&next=/statistics")
    try:
        html = client.get(f"/statistics?{YEAR}").text
    finally:
        client.get("/language?lang=en&next=/statistics")  # the module's node is shared
    assert '<html lang="ar" dir="rtl">' in html
    specs = _specs(html)
    assert specs["chart-times-incoming"]["series"][0]["name"] == translations("ar").ugettext(
        "Median"
    )
    assert specs["chart-times-incoming"]["series"][0]["name"] != "Median"
    assert "<h1>Statistics</h1>" not in html
