"""Kill -9 the receiving node, the sending node and the worker at random moments during a
run of 1,000 messages: nothing is lost, nothing is applied twice, both audit chains verify.

Real processes, real HTTP on loopback, each node with its own SQLite database.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanoinet import demo
from hanoinet.services import cases as case_service
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store
from hanoinet.store.schema import inbox, outbox, requests

MESSAGES = 1000


class Cluster:
    def __init__(self, root: Path) -> None:
        self.demo = demo.Demo(root)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        node, command = name.split(":")
        args = ["serve"] if command == "serve" else ["worker", "--interval", "0.05", "--lease", "1"]
        with (self.demo.root / node / f"{command}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "hanoinet", *args],
                # Messages are what this test kills for: no formal documents to lay out
                # (their delivery is the same outbox; tests/cli/test_serve.py has them).
                env=self.demo.env(node) | {"HANOINET_FORMAL_DOCUMENTS": "false"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_minus_nine_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    cluster.demo.setup()
    names = ["xb:serve", "xa:serve", "xa:worker"]
    for name in names:
        cluster.start(name)
    cluster.demo.wait(cluster.demo._health_check("xb"), "Borealis is up")
    text = (
        resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json").read_text("utf-8")
    )
    sender = open_store(f"sqlite:///{tmp_path / 'xa' / 'hanoinet.db'}", migrate=False)
    receiver = open_store(f"sqlite:///{tmp_path / 'xb' / 'hanoinet.db'}", migrate=False)
    produced: list[str] = []
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            for _ in range(MESSAGES):
                now = datetime.now(UTC)
                created = case_service.new_case(
                    sender, text, direction="outgoing", actor="load", at=now
                )
                case_service.act(sender, created.request_id, "check", actor="load", at=now)
                case_service.act(sender, created.request_id, "send", actor="load", at=now)
                produced.append(created.request_id)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    rng = random.Random(20261124)
    kills = 0
    try:
        while producer.is_alive() or kills < 6:
            time.sleep(rng.uniform(0.3, 1.2))
            victim = rng.choice(names)
            cluster.kill(victim)
            kills += 1
            time.sleep(rng.uniform(0.0, 0.5))
            cluster.start(victim)
            if kills >= 12:
                break
        producer.join()
        assert not failures, failures
        assert len(produced) == MESSAGES

        def settled() -> bool:
            with sender.engine.connect() as conn:
                pending = conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status != "delivered")
                ).scalar_one()
            return pending == 0

        deadline = time.monotonic() + 240
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert settled(), "some messages never got a receipt"
    finally:
        cluster.stop_all()

    with sender.engine.connect() as conn:
        sent_uids = {
            r.uid
            for r in conn.execute(select(requests.c.uid).where(requests.c.direction == "outgoing"))
        }
        statuses = {r.status for r in conn.execute(select(outbox.c.status))}
    with receiver.engine.connect() as conn:
        received = conn.execute(
            select(requests.c.uid).where(requests.c.direction == "incoming")
        ).all()
        inbox_rows = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    assert statuses == {"delivered"}
    assert len(received) == MESSAGES, "lost or duplicated at the receiver"
    assert {r.uid for r in received} == sent_uids  # every message applied exactly once
    assert inbox_rows == MESSAGES
    for store in (sender, receiver):
        with store.transaction() as conn:
            result = audit_log.verify(conn)
        assert result.ok, [str(b) for b in result.breaks]
        store.dispose()
    assert kills >= 6
