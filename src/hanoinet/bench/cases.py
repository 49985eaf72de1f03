"""Benchmark: case commands per second and their p99 latency, on SQLite and PostgreSQL.

Each command is what ``hanoinet case act`` does: one transaction that reads
the request and its events, decides, and writes the new state, an event, an
audit entry (locking the chain's head) and an outbox row. The reference,
measured in the same run on the same database, is the bare minimum with the
same number of transactions: one plain INSERT of a row of the same size per
transaction. The ratio is what the lifecycle, guards and audit chain cost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from hanoinet.bench.common import Timing, measure, temporary_sqlite
from hanoinet.services import cases as service
from hanoinet.store import Store, schema_store

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FLOW = ("check", "send", "acknowledge", "start_execution", "execute", "close")
PEER = {"acknowledge", "start_execution", "execute"}


def _measure_store(store: Store, cases: int) -> tuple[Timing, Timing]:
    text = (
        resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json").read_text("utf-8")
    )
    start = datetime(2026, 11, 24, tzinfo=UTC)
    clock = iter(start + timedelta(seconds=i) for i in range(10**9))
    pending: list[tuple[str, str]] = []

    def one_case() -> None:
        created = service.new_case(store, text, direction="outgoing", actor="bench", at=next(clock))
        for action in FLOW:
            pending.append((created.request_id, action))

    # Commands: each case = 1 creation + len(FLOW) actions, all timed one by one.
    for _ in range(cases):
        one_case()
    steps = iter(pending)

    def command() -> None:
        request_id, action = next(steps)
        service.act(
            store,
            request_id,
            action,
            actor="bench",
            at=next(clock),
            params={"reason": "bench"},
            from_peer=action in PEER,
        )

    ours = measure(
        f"hanoinet case act ({store.dialect})", len(pending) - 2, command, latencies=True
    )

    scratch = Table(
        "bench_reference",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("kind", String(40)),
        Column("payload", Text),
    )
    scratch.create(store.engine)
    payload = "x" * 600  # about the size of an event + audit entry + outbox row

    def bare_insert() -> None:
        with store.engine.begin() as conn:
            conn.execute(insert(scratch).values(kind="event", payload=payload))

    reference = measure(
        f"reference: bare INSERT per transaction ({store.dialect})",
        len(pending) - 2,
        bare_insert,
        latencies=True,
    )
    return ours, reference


def run(cases: int = 100, postgres_url: str | None = DEFAULT_POSTGRES) -> dict[str, object]:
    results: list[dict[str, object]] = []
    notes: list[str] = []
    with temporary_sqlite() as store:
        for t in _measure_store(store, cases):
            results.append(t.as_dict())
    if postgres_url:
        try:
            with schema_store(postgres_url, "bench") as store:
                for t in _measure_store(store, cases):
                    results.append(t.as_dict())
        except Exception as exc:  # an unreachable server is reported, not fatal
            notes.append(
                f"PostgreSQL not measured: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            )
    return {
        "benchmark": "cases",
        "cases": cases,
        "commands_per_case": len(FLOW),
        "results": results,
        "notes": notes,
    }
