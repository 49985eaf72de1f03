"""``hanoinet serve --workers N`` and several ``worker`` processes on one node: real processes,
real HTTP on loopback, SQLite shared by every process of a node."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hanoinet import demo
from hanoinet.services import cases as case_service
from hanoinet.services.documents import NOT_ISSUED
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store
from hanoinet.store.schema import formal_documents, inbox, outbox, requests

MESSAGES = 200


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_several_server_and_worker_processes_deliver_each_message_once(tmp_path: Path) -> None:
    cluster = demo.Demo(tmp_path)
    cluster.setup(("xa", "xb"), users=False)
    procs: dict[str, subprocess.Popen[bytes]] = {}

    metrics_port = _free_port()

    def start(name: str, node: str, *args: str, **extra: str) -> None:
        with (tmp_path / node / f"{name}.log").open("ab") as log:
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "hanoinet", *args],
                # Formal documents off: this test is about messages, and 200 documents
                # would add their layout to it (their path: tests/cli/test_document.py).
                env=cluster.env(node) | {"HANOINET_FORMAL_DOCUMENTS": "false"} | extra,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    # Borealis's metrics on a listener of their own, in the main process only
    start("xb-serve", "xb", "serve", "--workers", "2", HANOINET_METRICS_PORT=str(metrics_port))
    start("xa-serve", "xa", "serve")
    start("xa-worker-1", "xa", "worker", "--interval", "0.05")
    start("xa-worker-2", "xa", "worker", "--interval", "0.05")
    sender = open_store(f"sqlite:///{tmp_path / 'xa' / 'hanoinet.db'}", migrate=False)
    receiver = open_store(f"sqlite:///{tmp_path / 'xb' / 'hanoinet.db'}", migrate=False)
    servers: list[int] = []
    try:
        cluster.wait(cluster._health_check("xb"), "Borealis is up", timeout=90)
        cluster.wait(
            lambda: len(_children(procs["xb-serve"].pid)) >= 2, "two server processes", timeout=90
        )
        servers = _children(procs["xb-serve"].pid)
        text = (
            resources.files("hanoinet.demo_data")
            .joinpath("preservation-xa-xb.json")
            .read_text("utf-8")
        )
        for _ in range(MESSAGES):
            now = datetime.now(UTC)
            made = case_service.new_case(sender, text, direction="outgoing", actor="t", at=now)
            case_service.act(sender, made.request_id, "check", actor="t", at=now)
            case_service.act(sender, made.request_id, "send", actor="t", at=now)

        def settled() -> bool:
            """Every message has its receipt, and every formal document is settled."""
            with sender.engine.connect() as conn:
                unsettled = conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status != "delivered")
                ).scalar_one()
                unsettled_documents = conn.execute(
                    select(func.count())
                    .select_from(formal_documents)
                    .where(formal_documents.c.status == "pending")
                ).scalar_one()
            return unsettled == 0 and unsettled_documents == 0

        cluster.wait(settled, "every message has its receipt", timeout=120)
        # what every server process received, counted once, from the shared database
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert (
            f'hanoinet_messages_received_total{{status="applied",type="request"}} {MESSAGES}.0'
            in scraped
        ), scraped
        assert "hanoinet_ready 1.0" in scraped
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert len(servers) >= 2
    deadline = time.monotonic() + 10  # the server processes end with their parent
    while any(Path(f"/proc/{pid}").exists() for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]
    with receiver.engine.connect() as conn:
        incoming = conn.execute(
            select(requests.c.uid).where(requests.c.direction == "incoming")
        ).all()
        inbox_rows = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    with sender.engine.connect() as conn:
        documents = conn.execute(select(formal_documents.c.status, formal_documents.c.problem))
        assert {(d.status, d.problem) for d in documents} == {("failed", NOT_ISSUED)}
    assert len(incoming) == MESSAGES and len({r.uid for r in incoming}) == MESSAGES
    assert inbox_rows == MESSAGES
    for store in (sender, receiver):
        with store.transaction() as conn:
            result = audit_log.verify(conn)
        assert result.ok, [str(b) for b in result.breaks]
        store.dispose()


def test_the_worker_logs_one_json_line_per_thing_it_does(tmp_path: Path) -> None:
    """Issue 25 item 3: the worker's log is JSON lines like the servers', naming what it did
    (deliveries by outbox id, formal documents, clocks), never a request's content or who
    acted."""
    import json

    cluster = demo.Demo(tmp_path)
    cluster.setup(("xa", "xb"), users=False)  # Borealis is not running: delivery fails
    example = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json")
    made = json.loads(cluster.call("xa", "case", "new", "--from", str(example), "--json").stdout)
    for action in ("check", "send"):
        assert cluster.call("xa", "case", "act", made["request"], action).returncode == 0
    done = cluster.call("xa", "worker", "--once")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith('{"ts"')]
    assert len(lines) >= 4, done.stderr
    said = [x["message"] for x in lines]
    assert (said[0], said[-1]) == ("worker started", "worker stopped")
    delivery = next(x for x in lines if x["message"] == "delivery")
    assert delivery["logger"] == "hanoinet.worker" and isinstance(delivery["outbox"], int)
    assert delivery["status"] in ("retry", "failed") and delivery["detail"]
    document = next(x for x in lines if x["message"] == "formal document")
    assert document["request"] == made["request"] and document["status"] == "issued"
    facts = json.loads(example.read_text("utf-8"))["facts_summary"]
    assert facts[:40] not in done.stderr and "officer" not in done.stderr
