"""Benchmark: ``hanoinet stats`` over a million recorded events (issue 9: under 2 s on
SQLite and on PostgreSQL), beside a same-run reference.

For each database (SQLite in a temporary folder, PostgreSQL in a temporary schema) the
benchmark writes a synthetic history of ``events`` events (``bench/history.py``,
illustrative; not timed), then times, after one warm-up:

- ``hanoinet stats``: the whole computation behind the command and the page: the read of
  the projection, the tabulation at every level, suppression, and the report's model;
- the reference: a bare aggregate query over the same events, one GROUP BY request with
  a count and a minimum, every row fetched: the least any statistics of each request read
  straight from the event log must cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hanoinet.bench import history
from hanoinet.bench.cases import DEFAULT_POSTGRES
from hanoinet.bench.common import Timing, measure, temporary_sqlite
from hanoinet.services import stats
from hanoinet.store import Store, schema_store
from hanoinet.store.schema import events

__all__ = ["DEFAULT_POSTGRES", "TARGET_SECONDS", "run"]

TARGET_SECONDS = 2.0
PERIOD = stats.Period(date(2025, 1, 1), date(2025, 12, 31))
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(minutes=60)}

Progress = Callable[[str], None]


def _reference(store: Store) -> int:
    query = select(events.c.request_id, func.count(), func.min(events.c.at)).group_by(
        events.c.request_id
    )
    with store.engine.connect() as conn:
        return len(conn.execute(query).all())


def _measure(
    store: Store, name: str, n_events: int, calls: int, progress: Progress | None
) -> tuple[list[Timing], dict[str, object]]:
    if progress:
        progress(f"  writing {n_events:,} events in {name} (not timed) ...")
    t0 = time.perf_counter()
    stories = history.synthetic(n_events)
    written = history.write(store, stories)
    seeded = {
        "database": name,
        "events": written,
        "requests": len(stories),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    made: list[int] = []

    def hanoinet_stats() -> None:
        report = stats.report(
            store, PERIOD, AS_OF, node="bench", state="XA", threshold=5, ack_targets=TARGETS
        )
        made.append(report.groups[0].requests or 0)

    timings = [
        measure(f"hanoinet stats ({name})", calls, hanoinet_stats),
        measure(f"reference: bare aggregate query ({name})", calls, lambda: _reference(store)),
    ]
    if not any(made):
        raise RuntimeError("the statistics counted no request: the figures would measure nothing")
    return timings, seeded


def run(
    n_events: int = 1_000_000,
    postgres_url: str | None = DEFAULT_POSTGRES,
    calls: int = 3,
    progress: Progress | None = None,
) -> dict[str, Any]:
    results: list[dict[str, object]] = []
    seeding: list[dict[str, object]] = []
    notes: list[str] = []
    with temporary_sqlite() as store:
        timings, seeded = _measure(store, "sqlite", n_events, calls, progress)
        results += [t.as_dict() for t in timings]
        seeding.append(seeded)
    if postgres_url:
        try:
            with schema_store(postgres_url, "bench") as store:
                timings, seeded = _measure(store, "postgresql", n_events, calls, progress)
                results += [t.as_dict() for t in timings]
                seeding.append(seeded)
        except Exception as exc:  # an unreachable server is reported, not fatal
            notes.append(
                f"PostgreSQL not measured: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            )
    ours = [r for r in results if str(r["name"]).startswith("hanoinet stats")]
    return {
        "benchmark": "stats",
        "events": n_events,
        "calls": calls,
        "target_seconds": TARGET_SECONDS,
        "meets_target": all(float(str(r["per_call_ms"])) < TARGET_SECONDS * 1000 for r in ours),
        "seeding": seeding,
        "results": results,
        "notes": notes,
    }
