"""A recorded event history, written straight into a store's tables: for the statistics
benchmark (a million events) and for tests whose figures must come out as computed by hand.

ILLUSTRATIVE: the requests are synthetic (the demo States XA, XB, XC, and XD, which runs no
node and answers by e-mail, post or the diplomatic channel; a one-line document),
never sent; only what statistics read is realistic: who asked whom for what, the urgency,
and each event's action, time and role.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from hanoinet.services.stats import rebuild
from hanoinet.store import Store
from hanoinet.store.schema import cases, events, requests

ROLE = {
    "create": "requesting",
    "check": "requesting",
    "send": "requesting",
    "receive": "requested",
    "provide_more_info": "requesting",
    "withdraw": "requesting",
    "link_mla": "requesting",
    "close": "requesting",
    "lapse": "system",
    "message_delivered": "system",
}
"""Who takes each action (the rest: the requested State)."""


@dataclass
class Story:
    """One request and its timeline: (action, hours after the start, params)."""

    direction: str
    requesting_state: str
    requested_state: str
    kind: str
    start: datetime
    steps: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    urgency: str = "routine"
    means: str = "network"


def rows(
    stories: list[Story], first_id: int = 1
) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(case row, request row, event rows) for each story; ids from ``first_id``."""
    for n, s in enumerate(stories, first_id):
        rid, cid = f"R-{n:07d}", f"C-{n:07d}"
        outgoing = s.direction == "outgoing"
        opening: list[tuple[str, float, dict[str, Any]]] = (
            [("create", -1.0, {}), ("check", -0.5, {}), ("send", 0.0, {})]
            if outgoing
            else [("receive", 0.0, {})]
        )
        timeline = opening + s.steps
        yield (
            dict(
                id=cid,
                title="synthetic (illustrative)",
                state=s.requesting_state if outgoing else s.requested_state,
                created_at=s.start,
                created_by="history",
            ),
            dict(
                id=rid,
                uid=str(uuid.UUID(int=n)),
                case_id=cid,
                direction=s.direction,
                kind=s.kind,
                state="received",
                requesting_state=s.requesting_state,
                requested_state=s.requested_state,
                urgency=s.urgency,
                means=s.means,
                document="{}",
                document_sha256="0" * 64,
                error_findings=0,
                created_at=s.start,
                updated_at=s.start,
                version=1,
            ),
            [
                dict(
                    request_id=rid,
                    seq=seq,
                    action=action,
                    at=s.start + timedelta(hours=hours),
                    actor="history",
                    by_role=ROLE.get(action, "requested"),
                    article="40(25)",
                    from_state="-",
                    to_state="-",
                    params=json.dumps(params, sort_keys=True),
                )
                for seq, (action, hours, params) in enumerate(timeline, 1)
            ],
        )


def write(store: Store, stories: list[Story], *, batch: int = 5000, first_id: int = 1) -> int:
    """Write the stories, ``batch`` requests per transaction, then the statistics'
    projection of every event (as migration 0010 does); returns the events written."""
    written = 0
    for lo in range(0, len(stories), batch):
        chunk = list(rows(stories[lo : lo + batch], first_id + lo))
        with store.transaction() as conn:
            conn.execute(insert(cases), [c for c, _, _ in chunk])
            conn.execute(insert(requests), [r for _, r, _ in chunk])
            evs = [e for _, _, es in chunk for e in es]
            if store.dialect == "postgresql":
                _copy(conn, evs)
            else:
                conn.execute(insert(events), evs)
            written += len(evs)
    with store.transaction() as conn:
        rebuild(conn)
    return written


def _copy(conn: Any, evs: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: ten times faster than INSERT for a million rows."""
    cols = (
        "request_id",
        "seq",
        "action",
        "at",
        "actor",
        "by_role",
        "article",
        "from_state",
        "to_state",
        "params",
    )
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY events ({', '.join(cols)}) FROM STDIN") as copy:
        for e in evs:
            copy.write_row(tuple(e[c] for c in cols))


# --- a large synthetic history: the benchmark's ---

STATES = ("XA", "XB", "XC")
FORMS = (
    "preservation",
    "stored_data",
    "emergency_disclosure",
    "traffic_disclosure",
    "extradition",
    "mla_general",
)
START = datetime(2025, 1, 1, tzinfo=UTC)


def synthetic(events_wanted: int, *, seed: int = 9, me: str = "XA") -> list[Story]:
    """Stories of about ``events_wanted`` events in all, spread over 2025, in a mix of
    outcomes (executed, partly, refused on a ground, withdrawn, lapsed, still open)."""
    rng = random.Random(seed)
    letters = random.Random(seed * 7919 + 1)  # its own draws: the networked stories stay
    stories: list[Story] = []
    total = 0
    while total < events_wanted:
        story = _story(rng, me)
        if story.urgency != "emergency" and letters.random() < OUTSIDE_SHARE:
            story = _by_hand(story, letters.choice(("email", "post", "diplomatic")), me)
        stories.append(story)
        total += len(story.steps) + (3 if story.direction == "outgoing" else 1)
    return stories


OUTSIDE_SHARE = 0.15
"""Of the requests that are not emergencies, those with XD, outside the network."""
SLOWER_BY_HAND = 3.0
"""How much slower each step is when it travels by e-mail, post or the diplomatic bag."""


def _by_hand(story: Story, means: str, me: str) -> Story:
    """``story`` with XD, which runs no node: nothing is delivered over the network, and
    each step takes longer."""
    outgoing = story.direction == "outgoing"
    return Story(
        story.direction,
        me if outgoing else "XD",
        "XD" if outgoing else me,
        story.kind,
        story.start,
        [
            (action, hours * SLOWER_BY_HAND, params)
            for action, hours, params in story.steps
            if action != "message_delivered"
        ],
        story.urgency,
        means,
    )


def _story(rng: random.Random, me: str) -> Story:
    outgoing = rng.random() < 0.5
    other = rng.choice([s for s in STATES if s != me])
    kind = rng.choice(FORMS)
    start = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
    urgency = (
        "emergency"
        if kind == "emergency_disclosure"
        else rng.choice(("routine", "routine", "urgent"))
    )
    story = Story(
        "outgoing" if outgoing else "incoming",
        me if outgoing else other,
        other if outgoing else me,
        kind,
        start,
        urgency=urgency,
    )
    t = 0.0

    def step(action: str, mean_hours: float, **params: Any) -> None:
        nonlocal t
        t += rng.expovariate(1 / mean_hours)
        story.steps.append((action, t, params))

    if outgoing:
        step("message_delivered", 0.01)
    fate = rng.random()
    step("acknowledge", 6)
    if fate < 0.1:
        step("request_more_info", 48, reason="synthetic")
        step("provide_more_info", 72, reason="synthetic")
    if kind == "preservation":
        step("record_preserved", 12)
        if fate < 0.8:
            step("link_mla", 500, related="synthetic")
            step("release", 200, reason="synthetic")
        else:
            t += 90 * 24.0
            story.steps.append(("lapse", t, {}))
    elif fate < 0.15:
        ground = rng.choice(("essential_interests", "domestic_bar", "not_conforming"))
        step("refuse", 300, ground=ground, reason="synthetic")
    elif fate < 0.2:
        step("withdraw", 200)
    elif fate < 0.93:
        step("start_execution", 100)
        if fate < 0.3:
            step("consult", 24, reason="synthetic")
            step("postpone", 24, ground="ongoing_proceedings", reason="synthetic")
            step("resume", 200)
        if fate < 0.85:
            step("execute", 1000)
        else:
            step("execute_partially", 1000, reason="synthetic")
        step("close", 100)
    return story
