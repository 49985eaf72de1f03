"""Kill -9 the sending node's worker, the receiving node's server and worker (and the sending
node's server, which takes the decision) at random moments of an evidence transfer (issue 26
item 1): nobody runs a command by hand, yet the package arrives once, is verified, the sender
learns the decision, and both audit chains verify.

Real processes, real HTTP on loopback, each node with its own SQLite database. The package is
``HANOINET_FAULT_EVIDENCE_MIB`` MiB of random bytes (48 by default, in 1 MiB chunks, so that the
suite stays fast; the acceptance run of docs/benchmarks.md sets 2048, in 8 MiB chunks).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hanoinet.services import cases as case_service
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store
from hanoinet.store.schema import audit, evidence

from .test_kill import Cluster

KILLS = 10
MIB = int(os.environ.get("HANOINET_FAULT_EVIDENCE_MIB", "48"))
CHUNK_MIB = 1 if MIB < 512 else 8
UID = "6f1c2b3a-0000-4000-8000-0000000fa017"
VICTIMS = ("xb:worker", "xa:serve", "xa:worker", "xb:serve")
"""The sender (its worker sends the chunks), the receiver (its server takes them, its worker
verifies them) and the sender's server (it takes the receiver's signed decision)."""


def _request_between(root: Path) -> str:
    """A request Aurelia (xa) sent Borealis (xb), on both nodes: what the evidence answers."""
    text = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json").read_text("utf-8")
    for node, direction, peer in (("xa", "outgoing", "xb-node"), ("xb", "incoming", "xa-node")):
        store = open_store(f"sqlite:///{root / node / 'hanoinet.db'}", migrate=False)
        with store.transaction() as conn:
            made = case_service.create_in(
                conn, json.loads(text), [], direction=direction, actor="inbox",  # type: ignore[arg-type]
                at=datetime.now(UTC), uid=UID, peer_node=peer,
            )  # fmt: skip
        store.dispose()
    return made.request_id


def _state(store: object, package: str) -> tuple[str, int] | None:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(
            select(evidence.c.state, evidence.c.next_chunk).where(evidence.c.id == package)
        ).one_or_none()
    return None if row is None else (str(row.state), int(row.next_chunk))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_minus_nine_during_a_transfer_and_the_package_still_arrives_once(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    cluster.demo.setup(("xa", "xb"), users=False)
    request = _request_between(tmp_path)
    collected = tmp_path / "collected"
    collected.mkdir()
    with open(collected / "disk-image.bin", "wb") as f:
        for _ in range(MIB):
            f.write(os.urandom(1 << 20))
    package_file = tmp_path / "EV.age"
    packed = cluster.demo.call(
        "xb", "evidence", "pack", str(collected), "--case", request, "--out", str(package_file),
        "--collected-by", "Borealis cyber unit (demo)", "--collected-at", "2026-12-01T08:30:00Z",
        "--json",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    package = json.loads(packed.stdout)["package"]
    offered = cluster.demo.call(
        "xb", "evidence", "send", str(package_file), "--chunk-mib", str(CHUNK_MIB), "--json"
    )
    assert offered.returncode == 0 and json.loads(offered.stdout)["state"] == "queued"
    sender = open_store(f"sqlite:///{tmp_path / 'xb' / 'hanoinet.db'}", migrate=False)
    receiver = open_store(f"sqlite:///{tmp_path / 'xa' / 'hanoinet.db'}", migrate=False)
    for name in VICTIMS:
        cluster.start(name)
    rng = random.Random(20261207)
    hit: list[tuple[str, tuple[str, int] | None, tuple[str, int] | None]] = []
    chunks = json.loads(offered.stdout)["chunks"]
    try:
        # Kill while the transfer runs: a kill every 0.2 to 1.5 s (longer for a large package,
        # so that each restart gets some chunks through), until ten landed.
        spread = max(1.5, MIB / 400)
        while len(hit) < KILLS:
            time.sleep(rng.uniform(0.2, spread))
            victim = rng.choice(VICTIMS)
            hit.append((victim, _state(sender, package), _state(receiver, package)))
            cluster.kill(victim)
            time.sleep(rng.uniform(0.0, 0.5))
            cluster.start(victim)

        def delivered() -> bool:
            return _state(sender, package) == ("delivered", chunks)

        cluster.demo.wait(delivered, "Borealis learned Aurelia accepted it", timeout=120 + MIB / 4)
    finally:
        cluster.stop_all()
    mid_transfer = [h for h in hit if h[1] is not None and h[1][0] in ("queued", "sending")]
    print(f"kills: {len(hit)}, during the transfer: {len(mid_transfer)}; {hit}")
    assert len(hit) >= KILLS
    # Arrived once: one row, accepted, the file kept is the package sent, nothing left over.
    assert _state(receiver, package) == ("accepted", chunks)
    kept = tmp_path / "xa" / "evidence" / "store" / f"{package}.age"
    digest = hashlib.sha256()
    with open(kept, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    with open(package_file, "rb") as f:
        assert digest.hexdigest() == hashlib.file_digest(f, "sha256").hexdigest()
    assert not list((tmp_path / "xa" / "evidence" / "incoming").glob("*.part"))
    with receiver.engine.connect() as conn:
        received = conn.execute(
            select(func.count()).where(
                audit.c.action == "evidence.received", audit.c.target == package
            )
        ).scalar_one()
    with sender.engine.connect() as conn:
        settled = conn.execute(
            select(func.count()).where(
                audit.c.action == "evidence.delivered", audit.c.target == package
            )
        ).scalar_one()
    assert (received, settled) == (1, 1)  # decided once, learned once
    verified = cluster.demo.call("xa", "evidence", "verify", str(kept), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for store in (sender, receiver):
        with store.transaction() as conn:
            chain = audit_log.verify(conn)
        assert chain.ok, [str(b) for b in chain.breaks]
        store.dispose()
