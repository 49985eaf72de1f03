"""Evidence between two nodes: chunked, acknowledged, resumable, verified before it is accepted.

Two nodes with their own databases (SQLite files, or PostgreSQL schemas): XA sent a
request to XB; XB packs the evidence answering it and sends it in chunks of 64 KiB over
XA's real HTTP routes (TestClient). Faults are injected in the transport: a dropped
connection, a corrupted chunk, a replayed chunk, a restart of either node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hanoinet.errors import TransferBusy, TransferInterrupted, TransferRefused
from hanoinet.evidence import package as pkg
from hanoinet.evidence.custody import Collection
from hanoinet.evidence.receipt import verify_receipt
from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import evidence as evidence_service
from hanoinet.services import federation as fed
from hanoinet.services import transfer
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store
from hanoinet.store.schema import audit, evidence, outbox, requests
from hanoinet.web.app import create_app

from .test_federation import InProcess

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).parents[2] / "src/hanoinet/demo_data/mla-xa-xb.json"
CHUNK = 64 << 10
UID = "6f1c2b3a-0000-4000-8000-00000000e001"


class Client:
    """The HTTP transport's two calls, over a TestClient; ``faults`` break it on purpose."""

    def __init__(self, apps: dict[str, TestClient]) -> None:
        self.apps = apps
        self.faults: list[Any] = []
        self.puts: list[int] = []

    def _answer(self, response: Any) -> dict[str, Any]:
        data: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise TransferRefused(str(data["code"]), str(data["detail"]), response.status_code)
        return data

    def offer(self, endpoint: str, token: str) -> dict[str, Any]:
        client = self.apps[endpoint]
        return self._answer(
            client.post(
                "/api/v1/evidence/offers",
                content=token,
                headers={"content-type": "application/jose"},
            )
        )

    def chunk(
        self, endpoint: str, package: str, n: int, data: bytes, *, last: bool
    ) -> dict[str, Any]:
        for fault in list(self.faults):
            data = fault(n, data)
        self.puts.append(n)
        client = self.apps[endpoint]
        return self._answer(client.put(f"/api/v1/evidence/{package}/chunks/{n}", content=data))


def _entry(node_id: str, state: str, keys: KeySet) -> d.NodeEntry:
    return d.NodeEntry(
        id=node_id,
        state=state,
        name=f"{node_id} (demo)",
        roles=("central_authority",),
        endpoint=f"http://{node_id}.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, store_factory: Any
) -> Iterator[dict[str, Any]]:
    yield from _world(request.param, tmp_path, store_factory)


def _world(
    database: str, tmp_path: Path, store_factory: Any, xa: str = "xa-ca", xb: str = "xb-ca"
) -> Iterator[dict[str, Any]]:
    """Aurelia's node ``xa`` sent a request to Borealis's node ``xb``, which packed evidence
    answering it (each node with its own database)."""
    from contextlib import ExitStack

    keys = {n: KeySet.generate(T0 - timedelta(days=1)) for n in (xa, xb)}
    directory = d.Directory(
        version=1,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=365),
        nodes=(_entry(xa, "XA", keys[xa]), _entry(xb, "XB", keys[xb])),
    )
    with ExitStack() as stack:
        stores = {n: stack.enter_context(store_factory(database, tmp_path, n)) for n in keys}
        ctx = {n: fed.NodeContext(n, keys[n], directory, stores[n]) for n in keys}
        document = json.loads(EXAMPLE.read_text())
        with stores[xa].transaction() as conn:
            mine = case_service.create_in(
                conn,
                document,
                [],
                direction="outgoing",
                actor="lara",
                at=T0,
                uid=UID,
                peer_node=xb,
            )
        with stores[xb].transaction() as conn:
            theirs = case_service.create_in(
                conn,
                document,
                [],
                direction="incoming",
                actor=f"node:{xa}",
                at=T0,
                uid=UID,
                peer_node=xa,
                peer_ref=mine.request_id,
            )
        folders = {n: tmp_path / n / "evidence" for n in keys}
        apps = {
            f"http://{n}.test": TestClient(
                create_app(ctx[n], clock=lambda: T0, evidence_dir=folders[n])
            )
            for n in keys
        }
        files = tmp_path / "collected"
        files.mkdir()
        (files / "mailbox.mbox").write_bytes(os.urandom(300_000))
        (files / "subscriber.csv").write_text("account,created\ndemo,2024-01-01\n")
        packed = evidence_service.pack(
            ctx[xb],
            "",
            theirs.request_id,
            [files],
            tmp_path / "EV.age",
            collection=Collection("unit (demo)", T0 - timedelta(hours=1)),
            actor="bo",
            at=T0,
        )
        yield {
            "ctx": ctx,
            "client": Client(apps),
            "folders": folders,
            "packed": packed,
            "tmp": tmp_path,
            "xa_request": mine.request_id,
            "apps": apps,
        }


def _offer(world: dict[str, Any], *, post: bool = False) -> str:
    made = transfer.offer(
        world["ctx"]["xb-ca"], world["packed"].package.path, actor="bo", at=T0, chunk_size=CHUNK
    )
    if post:
        world["client"].offer("http://xa-ca.test", made.token)
    return made.package


def _send(world: dict[str, Any], **kw: Any) -> transfer.Sent:
    """Send the package, then let the receiver's worker verify it and its signed decision
    travel back (issue 26 item 2): what the sender knows at the end."""
    first = transfer.send(
        world["ctx"]["xb-ca"],
        world["client"],
        _offer(world),
        actor="bo",
        clock=lambda: T0,
        pause=lambda s: None,
        **kw,
    )
    return _decided(world, first)


def _decided(world: dict[str, Any], first: transfer.Sent) -> transfer.Sent:
    if first.state != "verifying":
        return first
    receiver = world["ctx"]["xa-ca"]
    [answer] = transfer.verify_waiting(receiver, world["folders"]["xa-ca"], clock=lambda: T0)
    assert answer.state in ("accepted", "refused")
    transport = InProcess()
    transport.clients = world["apps"]
    delivered = fed.deliver_batch(receiver, transport, now=T0)
    assert [d.status for d in delivered] == ["delivered"], delivered
    row = _row(world, "xb-ca", first.package)
    problems = tuple(json.loads(row.reason)) if row.reason else ()
    return replace(first, state=row.state, problems=problems)


def _row(world: dict[str, Any], node: str, package: str) -> Any:
    with world["ctx"][node].store.transaction() as conn:
        return conn.execute(select(evidence).where(evidence.c.id == package)).one()


def test_a_package_arrives_in_chunks_and_is_accepted_after_verification(
    world: dict[str, Any],
) -> None:
    seen: list[tuple[int, int]] = []
    sent = _send(world, progress=lambda done, total: seen.append((done, total)))
    assert sent.state == "delivered" and sent.chunks == -(
        -world["packed"].package.package_bytes // CHUNK
    )
    assert sent.sent == sent.chunks and sent.resent == 0 and sent.resumed_at == 0
    assert seen[-1] == (sent.chunks, sent.chunks) and len(seen) == sent.chunks
    received = _row(world, "xa-ca", sent.package)
    assert received.state == "accepted" and received.request_id == world["xa_request"]
    stored = world["folders"]["xa-ca"] / received.path
    assert (
        stored.read_bytes() == world["packed"].package.path.read_bytes()
    )  # kept encrypted, as sent
    assert not list((world["folders"]["xa-ca"] / "incoming").iterdir())
    kinds = [c["kind"] for c in json.loads(received.conditions)["conditions"]]
    assert "speciality" in kinds and "onward_transfer" in kinds
    assert _row(world, "xb-ca", sent.package).state == "delivered"
    for node in ("xa-ca", "xb-ca"):
        with world["ctx"][node].store.transaction() as conn:
            assert audit_log.verify(conn).ok
            actions = {
                r.action for r in conn.execute(select(audit).where(audit.c.target == sent.package))
            }
        assert actions == (
            {"evidence.offered", "evidence.received"}
            if node == "xa-ca"
            else {"evidence.offer", "evidence.delivered"}
        )


def test_a_dropped_connection_resumes_where_the_receiver_stands(world: dict[str, Any]) -> None:
    def drop_at_3(n: int, data: bytes) -> bytes:
        if n == 3:
            raise OSError("connection reset by peer")
        return data

    world["client"].faults.append(drop_at_3)
    with pytest.raises(TransferInterrupted, match="the node tries again later"):
        _send(world, attempts=2)
    package = world["packed"].package.package_id
    assert _row(world, "xa-ca", package).next_chunk == 3
    # the failure is counted on the sender's transfer, with its reason and a backoff, and the
    # lease given up: the worker takes it from there
    mine = _row(world, "xb-ca", package)
    assert (mine.state, mine.next_chunk, mine.attempts) == ("sending", 3, 1)
    assert "connection reset by peer" in mine.last_error
    assert mine.next_attempt_at is not None and mine.lease_owner is None
    world["client"].faults.clear()
    world["client"].puts.clear()
    sent = _send(world)
    assert sent.resumed_at == 3 and world["client"].puts[0] == 3 and sent.state == "delivered"


def test_a_restart_of_both_nodes_loses_no_chunk(world: dict[str, Any]) -> None:
    def stop_at_5(n: int, data: bytes) -> bytes:
        if n == 5:
            raise OSError("the receiving node restarted")
        return data

    world["client"].faults.append(stop_at_5)
    with pytest.raises(TransferInterrupted):
        _send(world, attempts=1)
    # new processes: new contexts and apps over the same databases and folders
    old = world["ctx"]
    world["ctx"] = {n: fed.NodeContext(n, c.keys, c.directory, c.store) for n, c in old.items()}
    apps = {
        f"http://{n}.test": TestClient(
            create_app(world["ctx"][n], clock=lambda: T0, evidence_dir=world["folders"][n])
        )
        for n in old
    }
    world["client"] = Client(apps)
    sent = _send(world)
    assert sent.resumed_at == 5 and sent.sent == sent.chunks - 5 and sent.state == "delivered"


def test_a_corrupted_chunk_is_refused_and_sent_again(world: dict[str, Any]) -> None:
    hits = {"n": 0}

    def corrupt_chunk_2_once(n: int, data: bytes) -> bytes:
        if n == 2 and hits["n"] == 0:
            hits["n"] += 1
            return data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        return data

    world["client"].faults.append(corrupt_chunk_2_once)
    sent = _send(world)
    assert sent.state == "delivered" and sent.resent == 1
    assert world["client"].puts.count(2) == 2


def test_a_replayed_chunk_is_acknowledged_and_not_written(world: dict[str, Any]) -> None:
    package = _offer(world, post=True)
    client, endpoint = world["client"], "http://xa-ca.test"
    data = world["packed"].package.path.read_bytes()
    first = client.chunk(endpoint, package, 0, data[:CHUNK], last=False)
    again = client.chunk(endpoint, package, 0, data[:CHUNK], last=False)
    assert first["next_chunk"] == 1 and again["next_chunk"] == 1 and again["duplicate"] is True
    with pytest.raises(TransferRefused) as wrong:
        client.chunk(endpoint, package, 0, b"x" * CHUNK, last=False)  # a chunk of something else
    assert wrong.value.reason == transfer.NO_SUCH_TRANSFER
    with pytest.raises(TransferRefused) as ahead:
        client.chunk(endpoint, package, 2, data[2 * CHUNK : 3 * CHUNK], last=False)
    assert ahead.value.reason == "out_of_order" and ahead.value.status == 409


def test_a_stranger_cannot_tell_a_package_that_exists_from_one_that_does_not(
    world: dict[str, Any],
) -> None:
    """Chunks from one without the data: a package offered here, one accepted already, one
    never offered, a chunk number past the end: the same status, code and text each time."""
    package = _offer(world, post=True)
    client, endpoint = world["client"], "http://xa-ca.test"
    answers = set()
    for ident, n in ((package, 0), (package, 1), (package, 10**6), ("EV-xb-ca-424242", 0)):
        with pytest.raises(TransferRefused) as refused:
            client.chunk(endpoint, ident, n, b"x" * CHUNK, last=False)
        answers.add((refused.value.status, refused.value.reason, refused.value.message))
    assert answers == {(404, transfer.NO_SUCH_TRANSFER, next(iter(answers))[2])}
    assert "offer the package" in next(iter(answers))[2]
    # the sender, who holds the data, is told where the transfer stands
    _send(world)
    data = world["packed"].package.path.read_bytes()
    again = client.chunk(endpoint, package, 0, data[:CHUNK], last=False)
    assert again["state"] == "accepted" and again["duplicate"] is True
    with pytest.raises(TransferRefused) as refused:
        client.chunk(endpoint, package, 0, b"x" * CHUNK, last=False)
    assert (refused.value.status, refused.value.reason) == (404, transfer.NO_SUCH_TRANSFER)


def test_a_truncated_transfer_is_not_accepted_until_complete(world: dict[str, Any]) -> None:
    package = _offer(world, post=True)
    client = world["client"]
    data = world["packed"].package.path.read_bytes()
    client.chunk("http://xa-ca.test", package, 0, data[:CHUNK], last=False)
    row = _row(world, "xa-ca", package)
    assert row.state == "receiving" and row.next_chunk == 1
    assert not (world["folders"]["xa-ca"] / row.path).exists()


def test_a_package_that_fails_verification_is_refused_and_deleted(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """XB signs an offer for a file that is not the package it packed (a re-encrypted,
    altered copy): every chunk matches the offer, but the package does not verify."""
    import io
    import tarfile

    import pyrage

    from hanoinet.evidence import agekeys
    from hanoinet.services.evidence import identities

    ctx_b = world["ctx"]["xb-ca"]
    path = world["packed"].package.path
    plain = pyrage.decrypt(path.read_bytes(), identities(ctx_b.keys))
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(plain)) as src,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst,
    ):
        for m in src:
            f = src.extractfile(m)
            body = f.read() if f else b""
            if m.name.endswith("subscriber.csv"):
                body = body.replace(b"demo", b"DEMO")
            m.size = len(body)
            dst.addfile(m, io.BytesIO(body))
    recipients = [
        agekeys.recipient(e.private)
        for e in (world["ctx"]["xa-ca"].keys.active("enc", T0), ctx_b.keys.active("enc", T0))
    ]
    path.write_bytes(pyrage.encrypt(out.getvalue(), recipients))
    with pytest.raises(Exception, match="does not verify"):
        transfer.offer(ctx_b, path, actor="bo", at=T0)  # the sender refuses to send it
    # a sender that skips its own check: the receiver still refuses, and keeps nothing
    from hanoinet.evidence.offer import make_offer

    sig = ctx_b.keys.active("sig", T0)
    made = make_offer(
        path,
        package=world["packed"].package.package_id,
        request=UID,
        sender="xb-ca",
        recipient="xa-ca",
        kid=sig.kid,
        key=sig.key,
        at=T0,
        chunk_size=CHUNK,
    )
    client = world["client"]
    answer = client.offer("http://xa-ca.test", made.token)
    data = path.read_bytes()
    for n in range(answer["chunks"]):
        answer = client.chunk(
            "http://xa-ca.test",
            made.package,
            n,
            data[n * CHUNK : (n + 1) * CHUNK],
            last=n == made.chunks - 1,
        )
    assert answer["state"] == "verifying"  # answered at once; the worker decides
    [decided] = transfer.verify_waiting(
        world["ctx"]["xa-ca"], world["folders"]["xa-ca"], clock=lambda: T0
    )
    assert decided.state == "refused"
    assert {p["code"] for p in decided.problems} == {"hash_mismatch"}
    row = _row(world, "xa-ca", made.package)
    assert row.state == "refused" and row.conditions is None
    assert not list((world["folders"]["xa-ca"] / "incoming").iterdir())
    assert not (world["folders"]["xa-ca"] / "store").exists()


def test_an_offer_signed_by_no_node_of_the_directory_is_refused(world: dict[str, Any]) -> None:
    from hanoinet.evidence.offer import make_offer
    from hanoinet.exchange import crypto

    stranger = crypto.generate_signing_key()
    made = make_offer(
        world["packed"].package.path,
        package="EV-xb-ca-000001",
        request=UID,
        sender="xb-ca",
        recipient="xa-ca",
        kid="stranger",
        key=stranger,
        at=T0,
    )
    with pytest.raises(TransferRefused) as refused:
        world["client"].offer("http://xa-ca.test", made.token)
    assert refused.value.reason == "unknown_signer"


def test_an_offer_for_a_request_never_sent_is_refused(world: dict[str, Any]) -> None:
    from hanoinet.evidence.offer import make_offer

    sig = world["ctx"]["xb-ca"].keys.active("sig", T0)
    made = make_offer(
        world["packed"].package.path,
        package="EV-xb-ca-000009",
        request="00000000-0000-4000-8000-000000000000",
        sender="xb-ca",
        recipient="xa-ca",
        kid=sig.kid,
        key=sig.key,
        at=T0,
    )
    with pytest.raises(TransferRefused) as refused:
        world["client"].offer("http://xa-ca.test", made.token)
    assert refused.value.reason == "unknown_request" and refused.value.status == 404


def test_a_second_sender_getting_ahead_is_followed_not_fatal(world: dict[str, Any]) -> None:
    """Two `evidence send` at once: the chunk one sends was already kept from the other, so
    it is acknowledged as a replay, and the sender goes on from where the receiver stands."""
    package = _offer(world, post=True)
    data = world["packed"].package.path.read_bytes()
    client = world["client"]
    state = {"done": False}

    def the_other_sender_gets_ahead(n: int, body: bytes) -> bytes:
        if n == 0 and not state["done"]:
            state["done"] = True
            for k in (0, 1):  # meanwhile the other process kept chunks 0 and 1
                client.apps["http://xa-ca.test"].put(
                    f"/api/v1/evidence/{package}/chunks/{k}",
                    content=data[k * CHUNK : (k + 1) * CHUNK],
                )
        return body

    client.faults.append(the_other_sender_gets_ahead)
    sent = _send(world)
    assert sent.state == "delivered"
    assert client.puts[:2] == [0, 2]  # chunk 0 was a replay (acknowledged), then on from 2


def test_a_package_file_moved_after_the_offer_is_named(world: dict[str, Any]) -> None:
    package = _offer(world)
    path = world["packed"].package.path
    path.rename(path.with_name("moved.age"))
    with pytest.raises(Exception, match="no longer there") as caught:
        transfer.send(
            world["ctx"]["xb-ca"],
            world["client"],
            package,
            actor="bo",
            clock=lambda: T0,
            pause=lambda s: None,
        )
    assert str(path) in str(caught.value)


def test_an_offer_whose_package_id_is_a_path_is_refused(world: dict[str, Any]) -> None:
    """The package id names files on the receiving node: a node of the directory that signs
    an offer for "../../x" gets nothing written outside the evidence folder."""
    from hanoinet.evidence.offer import make_offer

    sig = world["ctx"]["xb-ca"].keys.active("sig", T0)
    for bad in ("../../escape-000001", "EV-../../x-000001", "EV-a/b-000001"):
        made = make_offer(
            world["packed"].package.path,
            package=bad,
            request=UID,
            sender="xb-ca",
            recipient="xa-ca",
            kid=sig.kid,
            key=sig.key,
            at=T0,
        )
        with pytest.raises(TransferRefused) as refused:
            world["client"].offer("http://xa-ca.test", made.token)
        assert refused.value.reason == "malformed", bad
    assert not (world["tmp"] / "escape-000001.age.part").exists()


def test_a_node_cannot_number_a_package_as_another_node(world: dict[str, Any]) -> None:
    """XB may not deliver a package named as XA's (or anyone else's): the ids would clash."""
    from hanoinet.evidence.offer import make_offer

    sig = world["ctx"]["xb-ca"].keys.active("sig", T0)
    made = make_offer(
        world["packed"].package.path,
        package="EV-xa-ca-000001",
        request=UID,
        sender="xb-ca",
        recipient="xa-ca",
        kid=sig.kid,
        key=sig.key,
        at=T0,
    )
    with pytest.raises(TransferRefused) as refused:
        world["client"].offer("http://xa-ca.test", made.token)
    assert (
        refused.value.reason == "malformed"
        and "not a package numbered by xb-ca" in refused.value.message
    )


def test_a_receiver_that_died_after_the_last_chunk_decides_when_asked_again(
    world: dict[str, Any],
) -> None:
    """kill -9 between keeping the last chunk and deciding: the row says every chunk is
    there and nothing was decided. The next offer or chunk decides instead of hanging."""
    package = _offer(world, post=True)
    data = world["packed"].package.path.read_bytes()
    chunks = -(-len(data) // CHUNK)
    folder = world["folders"]["xa-ca"]
    part = folder / "incoming" / f"{package}.age.part"
    part.write_bytes(data)  # what the chunks had written
    with world["ctx"]["xa-ca"].store.transaction() as conn:
        from sqlalchemy import update

        conn.execute(update(evidence).where(evidence.c.id == package).values(next_chunk=chunks))
    sent = _send(world)
    assert sent.state == "delivered" and sent.sent == 0
    assert _row(world, "xa-ca", package).state == "accepted"


def test_a_package_that_breaks_the_checker_is_refused_not_stuck(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hanoinet.evidence import package as pkg

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    package = world["packed"].package.package_id
    made = transfer.offer(
        world["ctx"]["xb-ca"], world["packed"].package.path, actor="bo", at=T0, chunk_size=CHUNK
    )
    monkeypatch.setattr(pkg, "verify", broken)  # the receiver's check fails, the sender's passed
    sent = _decided(
        world,
        transfer.send(
            world["ctx"]["xb-ca"],
            world["client"],
            made.package,
            actor="bo",
            clock=lambda: T0,
            pause=lambda s: None,
        ),
    )
    assert sent.state == "refused" and {p["code"] for p in sent.problems} == {"damaged"}
    assert _row(world, "xa-ca", package).state == "refused"
    assert not list((world["folders"]["xa-ca"] / "incoming").iterdir())


def test_two_first_offers_at_once_open_one_transfer(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other offer opened the transfer between this one's look-up and its insert."""
    made = transfer.offer(
        world["ctx"]["xb-ca"], world["packed"].package.path, actor="bo", at=T0, chunk_size=CHUNK
    )
    real = transfer._open_transfer

    def racing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the other request, first
        return real(*args, **kwargs)  # this one: the row is there now

    monkeypatch.setattr(transfer, "_open_transfer", racing)
    answer = transfer.receive_offer(
        world["ctx"]["xa-ca"], world["folders"]["xa-ca"], made.token, at=T0
    )
    assert answer.state == "receiving" and answer.next_chunk == 0 and answer.chunks == made.chunks


def test_the_package_names_both_states_references(world: dict[str, Any]) -> None:
    """Borealis knows Aurelia's number for the request: its package says both, signed."""
    xb = world["ctx"]["xb-ca"]
    own = pkg.verify(
        world["packed"].package.path,
        trust=pkg.Trust({}, directory=xb.directory),
        identities=evidence_service.identities(xb.keys),
        validate_case=False,
    )
    assert own.ok and own.claims is not None
    assert (own.claims["reference"], own.claims["peer_reference"]) == (
        world["packed"].request_id,
        world["xa_request"],
    )


def test_two_server_processes_sharing_the_database_and_the_evidence_path_receive_one_transfer(
    world: dict[str, Any],
) -> None:
    """Several hosts (issue 25 item 5): a second server of the receiving node, with its own
    connection pool and app but the same database and the same evidence path, takes every
    other chunk of one transfer; the package is assembled and accepted. Nothing is kept per
    process (docs/deploy.md)."""
    xa = world["ctx"]["xa-ca"]
    url = xa.store.engine.url.render_as_string(hide_password=False)
    second_store = open_store(url, migrate=False)  # another process's pool
    try:
        second = fed.NodeContext("xa-ca", xa.keys, xa.directory, second_store)
        servers = [
            world["apps"]["http://xa-ca.test"],
            TestClient(
                create_app(second, clock=lambda: T0, evidence_dir=world["folders"]["xa-ca"])
            ),
        ]
        served: list[int] = []

        class RoundRobin(Client):
            def chunk(
                self, endpoint: str, package: str, n: int, data: bytes, *, last: bool
            ) -> dict[str, Any]:
                served.append(n % 2)
                self.apps[endpoint] = servers[n % 2]
                return super().chunk(endpoint, package, n, data, last=last)

        client = RoundRobin(dict(world["apps"]))
        sent = _decided(world, transfer.send(
            world["ctx"]["xb-ca"], client, _offer(world), actor="bo", clock=lambda: T0,
            pause=lambda s: None,
        ))  # fmt: skip
    finally:
        second_store.dispose()
    assert sent.state == "delivered" and set(served) == {0, 1}
    received = _row(world, "xa-ca", sent.package)
    assert received.state == "accepted"
    stored = world["folders"]["xa-ca"] / received.path
    assert stored.read_bytes() == world["packed"].package.path.read_bytes()


LONGEST = {n: f"{n}-" + "n" * (d.NODE_ID_MAX - 3) for n in ("xa", "xb")}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_longest_node_ids_fit_every_column(
    database: str, tmp_path: Path, store_factory: Any
) -> None:
    """Issue 26 item 5: with the longest node ids a directory allows, a package goes from one
    node to the other, is permitted, verified, read and exported, and every id made from the
    node ids (the package id in the audit log's target, the peers, the senders) fits its column
    on PostgreSQL, which enforces the lengths SQLite ignores."""
    xa, xb = LONGEST["xa"], LONGEST["xb"]
    assert len(xa) == d.NODE_ID_MAX
    made = _world(database, tmp_path, store_factory, xa=xa, xb=xb)
    world = next(made)
    try:
        ctx = world["ctx"]
        offered = transfer.offer(
            ctx[xb], world["packed"].package.path, actor="bo", at=T0, chunk_size=CHUNK
        )
        assert offered.package == f"EV-{xb}-000001"
        sent = transfer.send(
            ctx[xb], world["client"], offered.package, actor="bo", clock=lambda: T0,
            pause=lambda s: None,
        )  # fmt: skip
        assert sent.state == "verifying"
        folder = world["folders"][xa]
        [decided] = transfer.verify_waiting(ctx[xa], folder, clock=lambda: T0)
        assert decided.state == "accepted"
        transport = InProcess()
        transport.clients = world["apps"]
        assert [x.status for x in fed.deliver_batch(ctx[xa], transport, now=T0)] == ["delivered"]
        assert _row(world, xb, sent.package).state == "delivered"  # the decision came back
        evidence_service.permit(
            ctx[xa].store, sent.package, "consent", "Case 9/2026 (demo)", "NV 3/2026",
            actor="lara", at=T0,
        )  # fmt: skip
        evidence_service.verify_held(ctx[xa], folder, sent.package, actor="lara", at=T0)
        evidence_service.read_custody(ctx[xa], folder, sent.package, actor="lara", at=T0)
        evidence_service.export(
            ctx[xa], folder, sent.package, tmp_path / "out", actor="lara", at=T0
        )
        with ctx[xa].store.transaction() as conn:
            targets = (
                conn.execute(select(audit.c.action).where(audit.c.target == sent.package))
                .scalars()
                .all()
            )
        assert {
            "evidence.offered", "evidence.received", "evidence.consent", "evidence.verify",
            "evidence.custody", "evidence.export",
        } <= set(targets)  # fmt: skip
        assert _row(world, xa, sent.package).peer_node == xb
    finally:
        made.close()


def test_the_receiver_answers_at_once_and_one_worker_at_a_time_verifies(
    world: dict[str, Any],
) -> None:
    """Issue 26 item 2: after the last chunk the answer is "verifying", whatever the size;
    a worker leases the package to verify it, another waits for the lease to end (a worker
    that died), and the sender settles from the signed decision, or from its next offer."""
    first = transfer.send(
        world["ctx"]["xb-ca"], world["client"], _offer(world), actor="bo", clock=lambda: T0,
        pause=lambda s: None,
    )  # fmt: skip
    assert first.state == "verifying"
    assert _row(world, "xb-ca", first.package).state == "verifying"
    receiver, folder = world["ctx"]["xa-ca"], world["folders"]["xa-ca"]
    row = _row(world, "xa-ca", first.package)
    assert row.state == "verifying" and row.next_chunk == row.chunks
    from hanoinet.services import operations

    waited = operations.gauges(
        receiver, now=T0 + timedelta(hours=1), alarm=timedelta(minutes=15), targets={}
    )
    assert waited.verifying_oldest_seconds == 3600.0  # the operator sees it wait
    assert waited.evidence[("incoming", "verifying")] == 1
    with receiver.store.transaction() as conn:  # a worker took it and died
        conn.execute(
            update(evidence)
            .where(evidence.c.id == first.package)
            .values(lease_until=T0 + timedelta(minutes=5))
        )
    assert transfer.verify_waiting(receiver, folder, clock=lambda: T0) == []  # leased: left alone
    later = T0 + timedelta(minutes=6)
    [decided] = transfer.verify_waiting(receiver, folder, clock=lambda: later)
    assert decided.state == "accepted"
    assert transfer.verify_waiting(receiver, folder, clock=lambda: later) == []  # decided once
    again = transfer.send(
        world["ctx"]["xb-ca"], world["client"], first.package, actor="bo",
        clock=lambda: later, pause=lambda s: None,
    )  # fmt: skip
    assert again.state == "delivered"  # the offer's answer says so, before any message
    with world["ctx"]["xa-ca"].store.transaction() as conn:
        sent = conn.execute(select(outbox.c.type).where(outbox.c.type == "evidence")).all()
    assert len(sent) == 1  # the decision is on its way too


def test_a_decision_from_another_node_than_the_receiver_is_not_applied(
    world: dict[str, Any],
) -> None:
    first = transfer.send(
        world["ctx"]["xb-ca"], world["client"], _offer(world), actor="bo", clock=lambda: T0,
        pause=lambda s: None,
    )  # fmt: skip
    sender = world["ctx"]["xb-ca"]
    with sender.store.transaction() as conn:
        row = conn.execute(select(requests).where(requests.c.uid == UID)).one()
        body = {"package": first.package, "state": "accepted", "problems": []}
        assert transfer.receive_decision(conn, sender, "xc-ca", body, row, T0) == (
            "unapplied",
            f"no package {first.package} was sent to xc-ca for this request",
            None,
        )
        bad = {"package": first.package, "state": "lost", "problems": []}
        assert transfer.receive_decision(conn, sender, "xa-ca", bad, row, T0)[0] == "unapplied"
    assert _row(world, "xb-ca", first.package).state == "verifying"


def test_a_worker_whose_lease_was_taken_over_decides_nothing_and_touches_no_file(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A's verification outlives its lease; worker B takes the package over and
    accepts it. A's decision is then not recorded, and A neither moves nor deletes the file
    B kept (only the lease's owner touches files, inside its decision's transaction)."""
    first = transfer.send(
        world["ctx"]["xb-ca"], world["client"], _offer(world), actor="bo", clock=lambda: T0,
        pause=lambda s: None,
    )  # fmt: skip
    receiver, folder = world["ctx"]["xa-ca"], world["folders"]["xa-ca"]
    real = transfer._check_whole
    later = T0 + transfer.VERIFY_LEASE + timedelta(minutes=1)
    taken: list[transfer.Answer] = []
    calls: list[str] = []

    def slow_then_broken(*args: Any, **kwargs: Any) -> Any:
        calls.append("check")
        if len(calls) == 1:  # worker A, mid-way: its lease ends and worker B does the whole job
            taken.extend(transfer.verify_waiting(receiver, folder, clock=lambda: later))
            return (
                [{"code": "damaged", "where": first.package, "message": "A's late view"}],
                None,
                None,
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(transfer, "_check_whole", slow_then_broken)
    [a] = transfer.verify_waiting(receiver, folder, clock=lambda: T0)
    assert [b.state for b in taken] == ["accepted"]
    assert a.state == "accepted"  # B's decision stands
    row = _row(world, "xa-ca", first.package)
    assert row.state == "accepted" and row.lease_owner is None
    assert (folder / row.path).read_bytes() == world["packed"].package.path.read_bytes()
    with receiver.store.transaction() as conn:
        decisions = conn.execute(select(outbox.c.id).where(outbox.c.type == "evidence")).all()
    assert len(decisions) == 1


def test_a_failure_of_this_node_while_verifying_leaves_the_package_waiting(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database or the disk fails during verification: the package is not refused (its
    chunks are kept), and the next worker whose lease it gets verifies it."""
    first = transfer.send(
        world["ctx"]["xb-ca"], world["client"], _offer(world), actor="bo", clock=lambda: T0,
        pause=lambda s: None,
    )  # fmt: skip
    receiver, folder = world["ctx"]["xa-ca"], world["folders"]["xa-ca"]

    def disk_error(*args: Any, **kwargs: Any) -> Any:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patched:
        patched.setattr(transfer, "_check_whole", disk_error)
        with pytest.raises(OSError):
            transfer.verify_waiting(receiver, folder, clock=lambda: T0)
    assert _row(world, "xa-ca", first.package).state == "verifying"
    assert list((folder / "incoming").iterdir())  # nothing deleted
    later = T0 + transfer.VERIFY_LEASE + timedelta(seconds=1)
    [decided] = transfer.verify_waiting(receiver, folder, clock=lambda: later)
    assert decided.state == "accepted"


# ---- issue 26 item 1: transfers the worker owns ------------------------------------------


def test_an_offered_package_is_queued_and_the_worker_sends_it_under_a_lease(
    world: dict[str, Any],
) -> None:
    """Offered, the transfer is queued; one sender at a time claims it (the oldest due first),
    a failure is counted with its reason and put off (backoff), and the transfer resumes at the
    receiver's count when it is due again; progress forgives the failures counted."""
    sender = world["ctx"]["xb-ca"]
    package = _offer(world)
    assert _row(world, "xb-ca", package).state == "queued"
    assert [h.state for h in evidence_service.holdings(sender.store, now=T0)] == ["queued"]
    assert transfer.claim_due(sender, owner="a" * 32, now=T0) == package
    assert transfer.claim_due(sender, owner="b" * 32, now=T0) is None  # leased to a
    with pytest.raises(TransferBusy):  # evidence send --wait while the worker sends it
        transfer.send(sender, world["client"], package, actor="bo", clock=lambda: T0)

    def drop_at_4(n: int, data: bytes) -> bytes:
        if n == 4:
            raise OSError("connection refused")
        return data

    world["client"].faults.append(drop_at_4)
    with pytest.raises(TransferInterrupted):
        transfer.send(
            sender, world["client"], package, actor="worker", clock=lambda: T0, owner="a" * 32,
            attempts=2, pause=lambda s: None,
        )  # fmt: skip
    row = _row(world, "xb-ca", package)
    assert (row.state, row.next_chunk, row.attempts, row.lease_owner) == ("sending", 4, 1, None)
    assert "connection refused" in row.last_error
    assert transfer.claim_due(sender, owner="c" * 32, now=T0) is None  # backing off
    later = case_service.aware(row.next_attempt_at)
    assert later > T0
    world["client"].faults.clear()
    world["client"].puts.clear()
    assert transfer.claim_due(sender, owner="c" * 32, now=later) == package
    sent = transfer.send(
        sender, world["client"], package, actor="worker", clock=lambda: later, owner="c" * 32,
        pause=lambda s: None,
    )  # fmt: skip
    assert (sent.state, sent.resumed_at, world["client"].puts[0]) == ("verifying", 4, 4)
    row = _row(world, "xb-ca", package)
    assert (row.attempts, row.last_error, row.next_attempt_at, row.lease_owner) == (
        0, None, None, None,
    )  # fmt: skip
    assert transfer.claim_due(sender, owner="d" * 32, now=later) is None  # nothing left to send


def test_a_sender_that_died_is_taken_over_once_its_lease_ends(world: dict[str, Any]) -> None:
    """A worker killed mid-transfer holds its lease until it ends; then another takes the
    transfer over from the receiver's count, and the late one, if it wakes, stops at once."""
    sender = world["ctx"]["xb-ca"]
    package = _offer(world)
    lease = timedelta(seconds=60)

    def die_at_2(n: int, data: bytes) -> bytes:
        if n == 2:
            raise KeyboardInterrupt  # the process is gone: nothing after this runs
        return data

    assert transfer.claim_due(sender, owner="a" * 32, lease=lease, now=T0) == package
    world["client"].faults.append(die_at_2)
    with pytest.raises(KeyboardInterrupt):
        transfer._send(
            sender, world["client"], _row(world, "xb-ca", package), "a" * 32, "worker",
            lambda: T0, None, 5, lambda s: None, lease, lambda: False,
        )  # fmt: skip
    world["client"].faults.clear()
    assert _row(world, "xb-ca", package).lease_owner == "a" * 32  # a died holding it
    assert transfer.claim_due(sender, owner="b" * 32, lease=lease, now=T0 + lease / 2) is None
    taken = T0 + lease + timedelta(seconds=1)
    assert transfer.claim_due(sender, owner="b" * 32, lease=lease, now=taken) == package
    late = transfer.send(  # a wakes up: its lease is gone, it sends nothing more
        sender, world["client"], package, actor="worker", clock=lambda: taken, owner="a" * 32,
    )  # fmt: skip
    assert late.state == "sending" and late.sent == 0
    sent = transfer.send(
        sender, world["client"], package, actor="worker", clock=lambda: taken, owner="b" * 32,
    )  # fmt: skip
    assert sent.state == "verifying" and sent.resumed_at == 2
    assert _decided(world, sent).state == "delivered"


def test_a_transfer_that_does_not_move_is_stalled_and_raises_the_alarm(
    world: dict[str, Any],
) -> None:
    sender = world["ctx"]["xb-ca"]
    package = _offer(world)
    alarm = timedelta(minutes=30)
    assert transfer.stalled(sender.store, now=T0 + alarm, after=alarm) == []
    later = T0 + alarm + timedelta(seconds=1)
    [late] = transfer.stalled(sender.store, now=later, after=alarm)
    assert late["package"] == package and late["since"] == T0.isoformat()
    [held] = evidence_service.holdings(sender.store, now=later, stall_after=alarm)
    assert held.stalled_since == T0 and held.as_dict()["stalled_since"] == T0.isoformat()
    from hanoinet.services import operations

    gauges = operations.gauges(sender, now=later, alarm=alarm, targets={})
    assert gauges.unmoved_oldest_seconds == alarm.total_seconds() + 1
    sent = transfer.send(
        sender, world["client"], package, actor="worker", clock=lambda: later, pause=lambda s: None
    )
    assert sent.state == "verifying"
    assert transfer.stalled(sender.store, now=later + alarm * 2, after=alarm) == []
    [held] = evidence_service.holdings(sender.store, now=later + alarm * 2, stall_after=alarm)
    assert held.stalled_since is None  # verifying: it no longer waits for chunks


class Refusing:
    """A receiving node that refuses every offer with one code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def offer(self, endpoint: str, token: str) -> dict[str, Any]:
        raise TransferRefused(self.code, f"refused: {self.code}", 409)

    def chunk(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("no chunk after a refused offer")


def test_an_offer_the_receiver_will_never_take_ends_refused_another_is_tried_again(
    world: dict[str, Any],
) -> None:
    sender = world["ctx"]["xb-ca"]
    package = _offer(world)
    with pytest.raises(TransferRefused):  # may change: the receiver learns the key later
        transfer.send(sender, Refusing("key_not_valid"), package, actor="w", clock=lambda: T0)
    row = _row(world, "xb-ca", package)
    assert (row.state, row.attempts) == ("queued", 1) and "key_not_valid" in row.last_error
    sent = transfer.send(sender, Refusing("conflict"), package, actor="w", clock=lambda: T0)
    assert sent.state == "refused"
    assert sent.problems == (
        {"code": "conflict", "where": "xa-ca", "message": "refused: conflict"},
    )
    row = _row(world, "xb-ca", package)
    assert (row.state, row.attempts, row.last_error) == ("refused", 0, None)
    assert transfer.claim_due(sender, owner="a" * 32, now=T0 + timedelta(hours=1)) is None


# ---- issue 26 item 4: time anchors ---------------------------------------------------------


def test_the_receiver_signs_a_receipt_both_nodes_keep_and_verification_uses(
    world: dict[str, Any],
) -> None:
    """Accepted, the package gets the receiving node's signed receipt (when its last chunk
    arrived, for its content and signature); it travels in the decision, both nodes keep it,
    and a verification on either node is anchored to it."""
    sent = _send(world)
    assert sent.state == "delivered"
    package = sent.package
    theirs, mine = _row(world, "xa-ca", package), _row(world, "xb-ca", package)
    assert theirs.receipt and mine.receipt == theirs.receipt
    anchor = verify_receipt(mine.receipt, world["ctx"]["xb-ca"].directory)
    assert (anchor.by, anchor.package, anchor.at) == ("xa-ca", package, T0)
    for node, folder in (("xa-ca", world["folders"]["xa-ca"]), ("xb-ca", None)):
        held = evidence_service.verify_held(
            world["ctx"][node], folder or world["tmp"], package, actor="carl", at=T0
        )
        assert held.state in ("accepted", "delivered") and held.verification is not None
        signature = next(c for c in held.verification["checks"] if c["check"] == "signature")
        assert "received by xa-ca at" in signature["detail"]
    shown = evidence_service.receipt(world["ctx"]["xb-ca"].store, package, actor="bo", at=T0)
    assert shown["receiver"] == "xa-ca" and shown["receipt"] == mine.receipt
    with world["ctx"]["xb-ca"].store.transaction() as conn:
        read = conn.execute(
            select(audit.c.actor).where(
                audit.c.action == "evidence.receipt", audit.c.target == package
            )
        ).all()
    assert [r.actor for r in read] == ["bo"]  # handing it over is an audited read


def test_a_decision_whose_receipt_does_not_verify_is_not_applied(world: dict[str, Any]) -> None:
    first = transfer.send(
        world["ctx"]["xb-ca"], world["client"], _offer(world), actor="bo", clock=lambda: T0,
        pause=lambda s: None,
    )  # fmt: skip
    receiver = world["ctx"]["xa-ca"]
    transfer.verify_waiting(receiver, world["folders"]["xa-ca"], clock=lambda: T0)
    with receiver.store.transaction() as conn:
        payload = json.loads(
            conn.execute(select(outbox.c.payload).where(outbox.c.type == "evidence")).scalar_one()
        )
    head, body, signature = payload["receipt"].split(".")
    tampered = payload | {"receipt": f"{head}.{body}.{signature[:-4]}AAAA"}
    sender = world["ctx"]["xb-ca"]
    with sender.store.transaction() as conn:
        row = conn.execute(select(requests).where(requests.c.uid == UID)).one()
        status, reason, _ = transfer.receive_decision(conn, sender, "xa-ca", tampered, row, T0)
    assert status == "unapplied" and "does not verify" in str(reason)
    assert _row(world, "xb-ca", first.package).state == "verifying"
    with sender.store.transaction() as conn:
        status, reason, _ = transfer.receive_decision(conn, sender, "xa-ca", payload, row, T0)
    assert status == "applied" and _row(world, "xb-ca", first.package).receipt


def test_40_27_conditions_agreed_in_consultation_travel_with_the_evidence(
    world: dict[str, Any],
) -> None:
    """Borealis consulted proposing conditions, Aurelia accepted them (recorded on Borealis's
    node from its message): the next package carries them as use conditions of kind
    ``agreed``, citing 40(27), as written."""
    xb = world["ctx"]["xb-ca"]
    request = world["packed"].request_id
    proposed = "Used only in the Aurelia proceedings against the two suspects named."
    case_service.act(
        xb.store, request, "consult", actor="bo", at=T0,
        params={"reason": "Can the use be limited?", "conditions": proposed},
    )  # fmt: skip
    case_service.act(
        xb.store, request, "accept_conditions", actor="node:xa-ca", at=T0, from_peer=True,
        params={"conditions": proposed},
    )  # fmt: skip
    files = world["tmp"] / "collected"
    again = evidence_service.pack(
        xb, "", request, [files], world["tmp"] / "EV2.age",
        collection=Collection("unit (demo)", T0 - timedelta(hours=1)), actor="bo", at=T0,
    )  # fmt: skip
    verified = pkg.verify(
        again.package.path,
        trust=pkg.Trust({}, directory=xb.directory),
        identities=evidence_service.identities(xb.keys),
        validate_case=False,
    )
    assert verified.ok and verified.conditions is not None
    agreed = verified.conditions.of("agreed")
    assert agreed is not None and (agreed.text, agreed.article) == (proposed, "40(27)")
    first = pkg.verify(
        world["packed"].package.path,
        trust=pkg.Trust({}, directory=xb.directory),
        identities=evidence_service.identities(xb.keys),
        validate_case=False,
    )
    assert first.conditions is not None and first.conditions.of("agreed") is None
