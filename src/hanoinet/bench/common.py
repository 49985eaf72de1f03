"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hanoinet.store import Store, open_store


@dataclass(frozen=True)
class Timing:
    name: str
    calls: int
    seconds: float
    peak_bytes: int
    latencies: tuple[float, ...] = ()

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else float("inf")

    @property
    def per_call_ms(self) -> float:
        return self.seconds / self.calls * 1000

    def percentile_ms(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "calls": self.calls,
            "seconds": round(self.seconds, 4),
            "per_second": round(self.per_second, 1),
            "per_call_ms": round(self.per_call_ms, 4),
            "peak_memory_kib": round(self.peak_bytes / 1024, 1),
        }
        if self.latencies:
            data["p50_ms"] = round(self.percentile_ms(50) or 0, 3)
            data["p99_ms"] = round(self.percentile_ms(99) or 0, 3)
        return data


def measure(
    name: str, calls: int, work: Callable[[], object], *, latencies: bool = False
) -> Timing:
    """Time ``calls`` runs of ``work`` after one warm-up run, then trace one more for peak
    memory (tracing slows code, so it stays out of the timing)."""
    work()
    each: list[float] = []
    started = time.perf_counter()
    for _ in range(calls):
        if latencies:
            t0 = time.perf_counter()
            work()
            each.append(time.perf_counter() - t0)
        else:
            work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Timing(name, calls, seconds, peak, tuple(each))


def environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.platform(terse=True),
        "date": datetime.now(UTC).date().isoformat(),
    }


@contextmanager
def temporary_sqlite() -> Iterator[Store]:
    """A migrated SQLite store in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            yield store
        finally:
            store.dispose()
