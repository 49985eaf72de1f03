"""The hash-chained audit log: every change, removal or reordering is found, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from hanoinet.services import cases as service
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.audit import GENESIS, canonical, entry_hash
from hanoinet.store.schema import audit, audit_head

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
T0 = datetime(2026, 11, 24, 3, 0, 0, 123456, tzinfo=UTC)
KNOWN = "3abf54b3707ccc8d2700cb1c490c6e0671f25b451ca86ebc3b6c4a92dafc0a80"


def fill(store: Store) -> int:
    """Five entries through the services: create, check, send, read, list."""
    created = service.new_case(
        store, EXAMPLE.read_text("utf-8"), direction="outgoing", actor="alice", at=T0
    )
    service.act(store, created.request_id, "check", actor="alice", at=T0 + timedelta(minutes=1))
    service.act(store, created.request_id, "send", actor="bob", at=T0 + timedelta(minutes=2))
    service.show(store, created.case_id, actor="carol", at=T0 + timedelta(minutes=3))
    service.list_requests(store, actor="carol", at=T0 + timedelta(minutes=4))
    return 5


def verify(store: Store) -> audit_log.Verification:
    with store.transaction() as conn:
        return audit_log.verify(conn)


def sql(store: Store, statement: str) -> None:
    with store.transaction() as conn:
        conn.execute(text(statement))


# --- known answers -----------------------------------------------------------------------


def test_entry_hash_known_answer() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert entry_hash(GENESIS, 1, at, "alice", "read", "C-000001", "42", "{}") == KNOWN


def test_entry_hash_is_the_same_instant_in_any_zone() -> None:
    plus7 = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))
    naive = datetime(2026, 1, 1)
    for at in (plus7, naive):
        assert entry_hash(GENESIS, 1, at, "alice", "read", "C-000001", "42", "{}") == KNOWN


@pytest.mark.parametrize(
    "changed",
    [
        ("1" * 64, 1, "alice", "read", "C-000001", "42", "{}"),
        (GENESIS, 2, "alice", "read", "C-000001", "42", "{}"),
        (GENESIS, 1, "alicia", "read", "C-000001", "42", "{}"),
        (GENESIS, 1, "alice", "list", "C-000001", "42", "{}"),
        (GENESIS, 1, "alice", "read", "C-000002", "42", "{}"),
        (GENESIS, 1, "alice", "read", "C-000001", "43", "{}"),
        (GENESIS, 1, "alice", "read", "C-000001", "42", '{"a":1}'),
    ],
)
def test_entry_hash_covers_every_field(changed: tuple[str, int, str, str, str, str, str]) -> None:
    prev, seq, actor, action, target, basis, detail = changed
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert entry_hash(prev, seq, at, actor, action, target, basis, detail) != KNOWN


def test_entry_hash_covers_the_time_to_the_microsecond() -> None:
    later = datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert entry_hash(GENESIS, 1, later, "alice", "read", "C-000001", "42", "{}") != KNOWN


def test_canonical() -> None:
    assert canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert canonical({"x": [1, {"z": None, "y": True}]}) == b'{"x":[1,{"y":true,"z":null}]}'


# --- append and verify -------------------------------------------------------------------


def test_append_chains_from_genesis(store: Store) -> None:
    with store.transaction() as conn:
        first = audit_log.append(
            conn, at=T0, actor="alice", action="read", target="C-000001", legal_basis="42"
        )
        second = audit_log.append(
            conn,
            at=T0,
            actor="bob",
            action="list",
            target="requests",
            legal_basis="40(25)",
            detail={"count": 0},
        )
    assert (first, second) == (1, 2)
    with store.transaction() as conn:
        rows = list(audit_log.entries(conn))
        head = conn.execute(select(audit_head)).one()
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash
    assert rows[1].detail == '{"count":0}'
    assert (head.seq, head.hash) == (2, rows[1].hash)
    assert rows[0].hash == entry_hash(GENESIS, 1, T0, "alice", "read", "C-000001", "42", "{}")


def test_empty_log_verifies(store: Store) -> None:
    result = verify(store)
    assert result.ok and result.entries == 0


def test_services_chain_verifies(store: Store) -> None:
    count = fill(store)
    result = verify(store)
    assert result.ok, result.breaks
    assert result.entries == count
    with store.transaction() as conn:
        rows = list(audit_log.entries(conn))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.action for r in rows] == ["create", "check", "send", "read", "list"]
    assert [r.actor for r in rows] == ["alice", "alice", "bob", "carol", "carol"]
    # microseconds survive the round trip (or the chain would not verify)
    at = rows[0].at
    assert (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)) == T0


def test_changed_detail_breaks_at_that_entry(store: Store) -> None:
    fill(store)
    sql(store, """UPDATE audit SET detail = '{"case":"C-000009"}' WHERE seq = 2""")
    result = verify(store)
    assert not result.ok
    assert [(b.seq, b.problem) for b in result.breaks] == [
        (2, "its content was changed after it was written")
    ]
    assert str(result.breaks[0]) == "entry 2: its content was changed after it was written"


@pytest.mark.parametrize("column", ["actor", "action", "target", "legal_basis"])
def test_changed_field_breaks_at_that_entry(store: Store, column: str) -> None:
    fill(store)
    sql(store, f"UPDATE audit SET {column} = 'x' WHERE seq = 3")
    assert [b.seq for b in verify(store).breaks] == [3]


def test_changed_time_breaks_at_that_entry(store: Store) -> None:
    fill(store)
    with store.transaction() as conn:
        conn.execute(update(audit).where(audit.c.seq == 4).values(at=T0 - timedelta(days=1)))
    assert [b.seq for b in verify(store).breaks] == [4]


def test_rehashed_forgery_breaks_at_the_next_entry(store: Store) -> None:
    fill(store)
    with store.transaction() as conn:
        row = conn.execute(select(audit).where(audit.c.seq == 2)).one()
        forged = entry_hash(
            row.prev_hash, 2, row.at, "mallory", row.action, row.target, row.legal_basis, row.detail
        )
        conn.execute(update(audit).where(audit.c.seq == 2).values(actor="mallory", hash=forged))
    result = verify(store)
    assert [(b.seq, b.problem) for b in result.breaks] == [
        (3, "does not follow the entry before it (removed or reordered)")
    ]


def test_removed_middle_entry_is_named(store: Store) -> None:
    fill(store)
    sql(store, "DELETE FROM audit WHERE seq = 3")
    result = verify(store)
    assert not result.ok
    assert result.entries == 4
    problems = {(b.seq, b.problem) for b in result.breaks}
    assert (4, "entries 3 are missing (removed)") in problems
    assert all(b.seq == 4 for b in result.breaks)


def test_removed_run_of_entries_is_named(store: Store) -> None:
    fill(store)
    sql(store, "DELETE FROM audit WHERE seq IN (2, 3)")
    problems = [b.problem for b in verify(store).breaks]
    assert "entries 2-3 are missing (removed)" in problems


def test_reordered_entries_break(store: Store) -> None:
    fill(store)
    sql(store, "UPDATE audit SET seq = 1000 WHERE seq = 2")
    sql(store, "UPDATE audit SET seq = 2 WHERE seq = 3")
    sql(store, "UPDATE audit SET seq = 3 WHERE seq = 1000")
    result = verify(store)
    assert not result.ok
    assert result.entries == 5
    assert result.breaks[0].seq == 2
    assert "reordered" in result.breaks[0].problem


def test_removed_last_entry_is_named(store: Store) -> None:
    fill(store)
    sql(store, "DELETE FROM audit WHERE seq = 5")
    result = verify(store)
    assert result.entries == 4
    assert [(b.seq, b.problem) for b in result.breaks] == [
        (
            5,
            "the log ends at entry 4 but entry 5 was written (entries removed from the end)",
        )
    ]


def test_emptied_log_is_noticed(store: Store) -> None:
    fill(store)
    with store.transaction() as conn:
        conn.execute(delete(audit))
    result = verify(store)
    assert result.entries == 0
    assert not result.ok
    assert "removed from the end" in result.breaks[0].problem


def test_chain_continues_after_reopening(store: Store) -> None:
    fill(store)
    store.engine.dispose()  # fresh connections: the head comes from the database
    service.list_requests(store, actor="dave", at=T0 + timedelta(hours=1))
    result = verify(store)
    assert result.ok and result.entries == 6


def test_concurrent_writers_never_fork_the_chain(store: Store) -> None:
    fill(store)
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def reader(name: str) -> None:
        try:
            barrier.wait()
            for i in range(5):
                service.list_requests(store, actor=name, at=T0 + timedelta(seconds=i))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=reader, args=(f"r{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    result = verify(store)
    assert result.ok, result.breaks
    assert result.entries == 5 + 4 * 5


def test_an_entry_rolled_back_with_its_savepoint_is_never_chained_onto(store: Store) -> None:
    """The head is cached per transaction; a savepoint's entries vanish with it."""
    from datetime import UTC, datetime

    from hanoinet.store import audit as chain

    at = datetime(2026, 11, 24, tzinfo=UTC)
    with store.transaction() as conn:
        chain.append(conn, at=at, actor="a", action="one", target="t", legal_basis="42")
        nested = conn.begin_nested()
        chain.append(conn, at=at, actor="a", action="rolled-back", target="t", legal_basis="42")
        nested.rollback()
        chain.append(conn, at=at, actor="a", action="two", target="t", legal_basis="42")
        nested = conn.begin_nested()
        chain.append(conn, at=at, actor="a", action="three", target="t", legal_basis="42")
        nested.commit()
        chain.append(conn, at=at, actor="a", action="four", target="t", legal_basis="42")
    with store.transaction() as conn:
        chain.append(conn, at=at, actor="a", action="five", target="t", legal_basis="42")
        result = chain.verify(conn)
        actions = [row.action for row in chain.entries(conn)]
    assert result.ok, [str(b) for b in result.breaks]
    assert actions == ["one", "two", "three", "four", "five"]


def test_append_many_writes_the_same_chain_as_one_append_at_a_time(store: Store) -> None:
    """A batch (one insert, one move of the head) is indistinguishable from single appends,
    and a later single append chains onto the batch's last entry."""
    entries = [
        audit_log.Entry(T0 + timedelta(seconds=n), f"node:{n}", "receive", f"R-{n}", "40(13)", {})
        for n in range(4)
    ]
    with store.transaction() as conn:
        assert audit_log.append_many(conn, entries[:3]) == 3
        assert audit_log.append_many(conn, []) == 3
    with store.transaction() as conn:
        audit_log.append(
            conn,
            at=entries[3].at,
            actor=entries[3].actor,
            action="receive",
            target="R-3",
            legal_basis="40(13)",
        )
    with store.engine.connect() as conn:
        batched = [(r.seq, r.prev_hash, r.hash) for r in audit_log.entries(conn)]
    prev, expected = GENESIS, []
    for seq, e in enumerate(entries, start=1):
        digest = entry_hash(prev, seq, e.at, e.actor, e.action, e.target, e.legal_basis, "{}")
        expected.append((seq, prev, digest))
        prev = digest
    assert batched == expected
    assert verify(store).ok
