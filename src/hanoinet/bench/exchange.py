"""Benchmark: messages between two nodes over real HTTP on loopback.

(a) Throughput: N requests are sent by node A (outbox filled beforehand, not
timed); A's delivery processes (two by default, as two ``hanoinet worker``
processes) then seal each message, post it to node B's inbox (uvicorn server
processes, two by default, as ``hanoinet serve --workers 2``), B verifies,
decrypts, commits it to its inbox and case and signs a receipt, and A verifies
the receipt and commits the settlement. Measured: messages per second until all
are settled. Both nodes share the machine's cores.
Floors measured in the same run: the crypto alone (seal and open each message,
sign and verify one receipt per batch, in one process) and the database commits
alone (as many bare transactions as the path commits per batch, each inserting a
batch of rows, on the same disk).

(b) Latency: requests sent at a fixed rate while the delivery loop runs; from
the sender's ``send`` command to the message being in B's queue (its inbox
``received_at``), p50 and p99.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, insert, select

from hanoinet.bench.common import environment
from hanoinet.exchange import directory as d
from hanoinet.exchange.envelope import make_receipts, open_envelope, seal, verify_receipts
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.transport import HttpTransport
from hanoinet.services import cases as case_service
from hanoinet.services import federation as fed
from hanoinet.store import open_store
from hanoinet.store.schema import events, inbox, outbox

TARGET_PER_SECOND = 1000
TARGET_P99_SECONDS = 1.0
BATCH = 200
"""Messages claimed per round, as `hanoinet worker` claims them (deliver_batch's default)."""
COMMITS_PER_BATCH = 4  # A: claim, seal, settle; B: inbox, case, request, event and audit rows


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = """
import sys
from hanoinet.web import server
folder, port, processes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = "hanoinet.bench.exchange:receiver_app"
if processes == 1:
    from hanoinet.bench.exchange import receiver_app
    app = receiver_app()
server.run(app, host="127.0.0.1", port=port, workers=processes, log_level="error")
"""
"""Node B: ``processes`` uvicorn server processes, as ``hanoinet serve --workers N`` runs."""


def receiver_app() -> Any:
    """Node B's app in one of its server processes (the folder comes from the environment)."""
    from hanoinet.web.app import create_app, settle_heap

    folder = Path(os.environ["HANOINET_BENCH_FOLDER"])
    keys = KeySet.from_json((folder / "b.keys.json").read_bytes())
    directory = d.Directory.model_validate_json((folder / "directory.json").read_text())
    store = open_store(f"sqlite:///{folder / 'b.db'}", migrate=False)
    app = create_app(fed.NodeContext("b-node", keys, directory, store))
    settle_heap()
    return app


def _pair(folder: Path, port: int, at: datetime) -> tuple[fed.NodeContext, d.Directory]:
    keys_a, keys_b = KeySet.generate(at), KeySet.generate(at)

    def entry(node_id: str, state: str, keys: KeySet, endpoint: str) -> d.NodeEntry:
        return d.NodeEntry(
            id=node_id,
            state=state,
            name=node_id,
            roles=("central_authority", "point_of_contact"),
            endpoint=endpoint,
            keys=tuple(d.PublicKey(**k) for k in keys.public()),
            valid_from=at,
        )

    directory = d.Directory(
        version=1,
        issued_at=at,
        valid_until=at + timedelta(days=1),
        nodes=(
            entry("a-node", "XA", keys_a, "http://127.0.0.1:1"),
            entry("b-node", "XB", keys_b, f"http://127.0.0.1:{port}"),
        ),
    )
    (folder / "a.keys.json").write_bytes(keys_a.to_json())  # benchmark keys, thrown away
    (folder / "b.keys.json").write_bytes(keys_b.to_json())
    (folder / "directory.json").write_text(directory.model_dump_json())
    return fed.NodeContext(
        "a-node", keys_a, directory, open_store(f"sqlite:///{folder / 'a.db'}")
    ), directory


def _send_requests(ctx: fed.NodeContext, count: int, text: str) -> list[tuple[str, datetime]]:
    sent: list[tuple[str, datetime]] = []
    for _ in range(count):
        now = datetime.now(UTC)
        created = case_service.new_case(
            ctx.store, text, direction="outgoing", actor="bench", at=now
        )
        case_service.act(ctx.store, created.request_id, "check", actor="bench", at=now)
        at = datetime.now(UTC)
        case_service.act(ctx.store, created.request_id, "send", actor="bench", at=at)
        sent.append((created.request_id, at))
    return sent


DRAINER = """
import sys, time
from datetime import UTC, datetime
from hanoinet.bench.exchange import BATCH, sender_context
from hanoinet.exchange.transport import HttpTransport
from hanoinet.services import federation as fed
ctx, transport = sender_context(sys.argv[1]), HttpTransport()
print("ready", flush=True)
sys.stdin.readline()
while True:
    if not fed.deliver_batch(ctx, transport, now=datetime.now(UTC), limit=BATCH):
        time.sleep(0.005)
"""
"""One of node A's delivery loops, as one ``hanoinet worker`` process runs it."""


def sender_context(folder: str) -> fed.NodeContext:
    """Node A in a delivery process of the benchmark."""
    where = Path(folder)
    return fed.NodeContext(
        "a-node",
        KeySet.from_json((where / "a.keys.json").read_bytes()),
        d.Directory.model_validate_json((where / "directory.json").read_text()),
        open_store(f"sqlite:///{where / 'a.db'}", migrate=False),
    )


def _settled(ctx: fed.NodeContext) -> int:
    with ctx.store.engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.status == "delivered")
        return int(conn.execute(query).scalar_one())


def _drain(
    ctx: fed.NodeContext, folder: Path, expected: int, timeout: float, senders: int
) -> float:
    """Deliver until ``expected`` messages are settled, with ``senders`` delivery processes at
    once (as several ``hanoinet worker`` processes would: their claims never overlap); returns
    the seconds it took, from the moment every process is ready (their start-up not counted)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DRAINER, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(senders)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a delivery process of node A did not start")
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while _settled(ctx) < expected and time.monotonic() < deadline:
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


def _crypto_floor(
    ctx: fed.NodeContext, directory: d.Directory, keys_b: KeySet, count: int
) -> float:
    b = directory.node("b-node")
    assert b is not None
    payload = b'{"request": "x", "action": "send", "document": {}}' * 8
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        now = datetime.now(UTC)
        ids = []
        for _ in range(min(BATCH, count - first)):
            headers, token = seal(
                payload, sender="a-node", keys=ctx.keys, recipient=b, type="request", at=now
            )
            open_envelope(token, directory=directory, me="b-node", keys=keys_b, now=now)
            ids.append(headers.id)
        [receipt, *_] = make_receipts(
            [(m, "delivered", None, "a-node") for m in ids], by="b-node", keys=keys_b, at=now
        )
        verify_receipts(receipt.token, directory=directory, expected_from="b-node", now=now)
    return count / (time.perf_counter() - started)


def _commit_floor(folder: Path, count: int) -> float:
    store = open_store(f"sqlite:///{folder / 'floor.db'}", migrate=False)
    table = Table(
        "floor", MetaData(), Column("id", Integer, primary_key=True), Column("body", Text)
    )
    table.create(store.engine)
    started = time.perf_counter()
    for _ in range(0, count, BATCH):
        for _ in range(COMMITS_PER_BATCH):
            with store.transaction() as conn:
                conn.execute(insert(table), [{"body": "x" * 1000}] * BATCH)
    seconds = time.perf_counter() - started
    store.dispose()
    return count / seconds


def run(
    messages: int = 300,
    rate: float = 20.0,
    seconds: float = 5.0,
    receivers: int = 2,
    senders: int = 2,
) -> dict[str, Any]:
    from importlib import resources

    text = (
        resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json").read_text("utf-8")
    )
    with tempfile.TemporaryDirectory(prefix="hanoinet-bench-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        at = datetime.now(UTC) - timedelta(minutes=1)
        ctx, directory = _pair(folder, port, at)
        keys_b = KeySet.from_json((folder / "b.keys.json").read_bytes())
        open_store(f"sqlite:///{folder / 'b.db'}").dispose()  # migrated once, before the processes
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(folder), str(port), str(receivers)],
            env={**os.environ, "HANOINET_BENCH_FOLDER": str(folder)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        transport = HttpTransport()
        try:
            _wait_up(port, server)
            # (a) throughput
            _send_requests(ctx, messages, text)
            elapsed = _drain(ctx, folder, messages, timeout=600, senders=senders)
            delivered = _settled(ctx)
            throughput = delivered / elapsed
            # (b) latency at a fixed rate, with the delivery loop running alongside
            stop = threading.Event()

            def loop() -> None:
                while not stop.is_set():
                    if not fed.deliver_batch(ctx, transport, now=datetime.now(UTC), limit=50):
                        time.sleep(0.002)

            worker = threading.Thread(target=loop, daemon=True)
            worker.start()
            sent_at: dict[str, datetime] = {}
            for _ in range(int(rate * seconds)):
                tick = time.perf_counter()
                [(request_id, when)] = _send_requests(ctx, 1, text)
                sent_at[request_id] = when
                time.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick)))
            latencies = _latencies(ctx, folder, sent_at, timeout=30)
            stop.set()
            worker.join(timeout=5)
        finally:
            transport.close()
            server.terminate()
            server.wait(timeout=10)
            if server.stderr is not None:
                server.stderr.close()
            ctx.store.dispose()
        crypto_floor = _crypto_floor(ctx, directory, keys_b, min(messages, 1000))
        commit_floor = _commit_floor(folder, min(messages, 1000))
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(
            latencies[min(len(latencies) - 1, max(0, round(p / 100 * len(latencies)) - 1))] * 1000,
            1,
        )

    return {
        "benchmark": "exchange",
        "messages": messages,
        "receiver_processes": receivers,
        "sender_processes": senders,
        "delivered": delivered,
        "throughput_per_second": round(throughput, 1),
        "floor_crypto_per_second": round(crypto_floor, 1),
        "floor_commits_per_second": round(commit_floor, 1),
        "latency": {
            "rate_per_second": rate,
            "count": len(latencies),
            "p50_ms": pct(50),
            "p99_ms": pct(99),
        },
        "target_per_second": TARGET_PER_SECOND,
        "target_p99_ms": TARGET_P99_SECONDS * 1000,
        "meets_throughput_target": throughput >= TARGET_PER_SECOND,
        "meets_latency_target": (pct(99) or 1e9) < TARGET_P99_SECONDS * 1000,
        "environment": environment(),
    }


def _wait_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"the receiving node did not start: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the receiving node did not answer within 30 s")


def _latencies(
    ctx: fed.NodeContext, folder: Path, sent_at: dict[str, datetime], timeout: float
) -> list[float]:
    receiver = open_store(f"sqlite:///{folder / 'b.db'}", migrate=False)
    try:
        deadline = time.monotonic() + timeout
        message_of: dict[str, str] = {}
        while time.monotonic() < deadline:
            with ctx.store.engine.connect() as conn:
                for row in conn.execute(
                    select(events.c.request_id, events.c.params).where(
                        events.c.action == "message_delivered"
                    )
                ):
                    if row.request_id in sent_at:
                        import json

                        message_of[row.request_id] = json.loads(row.params)["message"]
            if len(message_of) == len(sent_at):
                break
            time.sleep(0.1)
        with receiver.engine.connect() as conn:
            received = {
                r.message_id: case_service.aware(r.received_at)
                for r in conn.execute(select(inbox.c.message_id, inbox.c.received_at))
            }
    finally:
        receiver.dispose()
    return [
        (received[m] - sent_at[r]).total_seconds() for r, m in message_of.items() if m in received
    ]
