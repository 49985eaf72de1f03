"""Benchmark of the entry-into-force engine on a synthetic record.

The record: every ISO 3166 State signs on a random day of the signature
period, most deposit an instrument later, a few denounce. hanoinet's
``treaty_status`` (which also validates the whole record on each call) is
timed beside a reference doing the bare minimum on the same rows: sort the
deposit dates and take the 40th. The ratio between the two is what to
watch; the absolute times move with the machine.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pycountry

from hanoinet.bench.common import measure
from hanoinet.registry import ActionKind, TreatyAction, treaty_status

SOURCE = "https://example.org/synthetic-benchmark-record"


def synthetic_record(seed: int = 7) -> list[TreatyAction]:
    """A made-up but valid history for every ISO State (benchmark data, not the record)."""
    rng = random.Random(seed)
    actions: list[TreatyAction] = []
    opens = date(2025, 10, 25)
    row = 2
    for country in pycountry.countries:
        code, name = country.alpha_2, country.name
        signed = opens + timedelta(days=rng.randrange(0, 430))
        actions.append(
            TreatyAction(name, code, ActionKind.SIGNATURE, signed, True, SOURCE, row=row)
        )
        row += 1
        if rng.random() < 0.8:
            deposit = signed + timedelta(days=rng.randrange(30, 1500))
            actions.append(
                TreatyAction(name, code, ActionKind.RATIFICATION, deposit, True, SOURCE, row=row)
            )
            row += 1
            if rng.random() < 0.05:
                notified = deposit + timedelta(days=rng.randrange(100, 900))
                actions.append(
                    TreatyAction(
                        name, code, ActionKind.DENUNCIATION, notified, True, SOURCE, row=row
                    )
                )
                row += 1
    return actions


def reference_fortieth(actions: list[TreatyAction]) -> date | None:
    deposits = sorted(a.date for a in actions if a.action.is_instrument and a.date is not None)
    return deposits[39] if len(deposits) >= 40 else None


def run(calls: int = 200) -> dict[str, object]:
    actions = synthetic_record()
    day = date(2028, 1, 1)
    ours = measure("hanoinet treaty_status", calls, lambda: treaty_status(actions, day))
    ref = measure(
        "reference: sort deposits, take the 40th", calls, lambda: reference_fortieth(actions)
    )
    return {
        "benchmark": "treaty",
        "rows": len(actions),
        "calls": calls,
        "results": [
            {
                "name": t.name,
                "per_call_ms": round(t.per_call_ms, 3),
                "peak_memory_kib": round(t.peak_bytes / 1024, 1),
            }
            for t in (ours, ref)
        ],
        "ratio": round(ours.seconds / ref.seconds, 1) if ref.seconds else None,
    }
