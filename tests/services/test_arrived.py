"""Evidence from a State that runs no node (issue 24 item 3): what came on a USB stick by
courier becomes an evidence package of the receiving node, with its receipt in the chain of
custody, the request's use conditions, and the same verification, listing and export as a
package a peer sent; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hanoinet.errors import InvalidInput, UnknownCase
from hanoinet.evidence import custody
from hanoinet.evidence import package as pkg
from hanoinet.services import arrived
from hanoinet.services import cases as case_service
from hanoinet.services import evidence as evidence_service
from hanoinet.services.outside import record_by_hand, send_outside
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit, evidence

from . import test_federation
from .test_federation import EXAMPLE, T0

world = test_federation.world  # two nodes, XA and XB; Dorado (XD) runs none
ARRIVED = T0 + dt.timedelta(days=20)
LETTER = custody.Collection(
    collected_by="Cybercrime Unit, Policía Nacional de Dorado (demo)",
    collected_at=T0 + dt.timedelta(days=12),
    method="Production order served on the provider",
    source="Dorado Hosting S.A. (demo)",
)


def _sent_to_dorado(store: Any) -> str:
    document = json.loads(EXAMPLE.read_text()) | {"requested_state": "XD", "confidential": True}
    made = case_service.new_case(
        store, json.dumps(document), direction="outgoing", actor="o", at=T0
    )
    case_service.act(store, made.request_id, "check", actor="o", at=T0)
    return made.request_id


def _media(tmp_path: Path) -> Path:
    stick = tmp_path / "usb-stick"
    (stick / "logs").mkdir(parents=True)
    (stick / "logs" / "access-2026-11.log").write_text("203.0.113.7 - - [20/Nov/2026] GET /\n")
    (stick / "subscriber.csv").write_text("account,name\nuser42,(demo)\n")
    return stick


def _import(world: dict[str, Any], ident: str, paths: list[Path], **kwargs: Any) -> Any:
    ctx = world["ctx"]["xa-ca"]
    options: dict[str, Any] = {
        "arrived_by": "courier",
        "arrived_at": ARRIVED,
        "collection": LETTER,
        "medium": "USB stick, serial 4C530001",
        "reference": "DOR/CCU/2026/77",
        "actor": "clerk",
        "at": ARRIVED + dt.timedelta(hours=3),
    }
    return arrived.import_evidence(ctx, "", world["folder"], ident, paths, **(options | kwargs))


@pytest.fixture
def outside(world: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """XA has sent a request to Dorado by post; Dorado acknowledged it by letter."""
    ctx = world["ctx"]["xa-ca"]
    ident = _sent_to_dorado(ctx.store)
    send_outside(ctx, ident, means="post", reference="RR 1", actor="o", at=T0)
    record_by_hand(
        ctx.store, ident, "acknowledge", means="post", occurred_at=T0, scans=[],
        actor="clerk", at=T0 + dt.timedelta(days=3),
    )  # fmt: skip
    return world | {"ident": ident, "folder": tmp_path / "evidence", "media": _media(tmp_path)}


def test_evidence_on_media_becomes_a_package_with_its_receipt_in_the_custody(
    outside: dict[str, Any], tmp_path: Path
) -> None:
    ctx, ident = outside["ctx"]["xa-ca"], outside["ident"]
    done = _import(outside, ident, [outside["media"]])
    assert (done.request_id, done.state, done.files) == (ident, "XD", 2)
    assert done.path == outside["folder"] / "store" / f"{done.package_id}.age"
    assert not list(done.path.parent.glob(".import-*"))  # nothing staged is left
    # The chain of custody: the collection as the letter declares it, the receipt, packaging.
    steps = [(s["action"], s["performer"]) for s in done.custody]
    assert steps == [
        ("collection", LETTER.collected_by),
        ("receipt", "clerk"),
        ("packaging", "clerk"),
    ]
    receipt = done.custody[1]
    assert receipt["at"] == "2026-12-14T03:00:00Z"  # when it arrived, not when it was kept
    assert receipt["description"] == (
        "Received from Dorado (demo State) (XD) by courier on USB stick, serial 4C530001; "
        "reference: DOR/CCU/2026/77"
    )
    # Kept as a package this node received and accepted, its conditions those of the request.
    [held] = evidence_service.holdings(ctx.store, request_id=ident)
    assert (held.direction, held.state, held.peer_node) == ("incoming", "accepted", "XD")
    assert held.conditions is not None and held.conditions["reference"] == ident
    kinds = [c["kind"] for c in held.conditions["conditions"]]
    assert sorted(kinds) == ["confidentiality", "onward_transfer", "speciality"]
    # The same checks as any package: verified again, every check passed ...
    again = evidence_service.verify_held(
        ctx, outside["folder"], done.package_id, actor="auditor", at=ARRIVED
    )
    assert again.verification is not None and again.verification["verified"] is True
    # ... offline, with only the directory, and opened for the request's own use.
    offline = pkg.verify(
        done.path,
        trust=pkg.Trust({}, directory=outside["directory"]),
        identities=evidence_service.identities(ctx.keys),
    )
    assert offline.ok and (offline.claims or {})["recipient"] == "xa-ca"
    exported = evidence_service.export(
        ctx, outside["folder"], done.package_id, tmp_path / "out", actor="clerk", at=ARRIVED
    )
    opened = exported.folder / "data" / "usb-stick"
    assert (opened / "logs" / "access-2026-11.log").read_text().startswith("203.0.113.7")
    with ctx.store.transaction() as conn:
        entry = conn.execute(select(audit).where(audit.c.action == "evidence.imported")).one()
        assert audit_log.verify(conn).ok
    detail = json.loads(entry.detail)
    assert (entry.actor, entry.target) == ("clerk", done.package_id)
    assert (detail["by"], detail["from_state"], detail["files"]) == ("courier", "XD", 2)


def test_a_condition_the_letter_imposes_travels_with_the_package(
    outside: dict[str, Any],
) -> None:
    condition = "Not to be disclosed to third parties without Dorado's prior consent (demo)"
    done = _import(outside, outside["ident"], [outside["media"]], imposed=(condition,))
    [held] = evidence_service.holdings(outside["ctx"]["xa-ca"].store, request_id=done.request_id)
    assert held.conditions is not None
    imposed = [c for c in held.conditions["conditions"] if c["kind"] == "imposed"]
    assert [(c["article"], c["text"]) for c in imposed] == [("36(1)", condition)]


def _nothing_kept(outside: dict[str, Any]) -> None:
    store = outside["ctx"]["xa-ca"].store
    with store.engine.connect() as conn:
        assert conn.execute(select(evidence)).all() == []
        assert not conn.execute(select(audit).where(audit.c.action == "evidence.imported")).all()
    store_folder = outside["folder"] / "store"
    assert not store_folder.exists() or not any(store_folder.iterdir())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arrived_by": "pigeon"}, "--by pigeon: use one of post, courier"),
        ({"arrived_at": T0 + dt.timedelta(days=400)}, "is in the future"),
        ({"arrived_at": T0 - dt.timedelta(days=30)}, "is before"),
        (
            {"collection": custody.Collection(collected_by=" ", collected_at=T0)},
            "--collected-by is empty",
        ),
        ({"imposed": (" ",)}, "--condition is empty"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_kept(
    outside: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _import(outside, outside["ident"], [outside["media"]], **change)
    _nothing_kept(outside)


def test_missing_files_are_named(outside: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no-such-stick"):
        _import(outside, outside["ident"], [tmp_path / "no-such-stick"])
    _nothing_kept(outside)


def test_only_a_request_sent_outside_the_network_and_still_open_takes_it(
    outside: dict[str, Any],
) -> None:
    store = outside["ctx"]["xa-ca"].store
    networked = case_service.new_case(
        store, EXAMPLE.read_text(), direction="outgoing", actor="o", at=T0
    ).request_id
    with pytest.raises(InvalidInput, match="not a request this node sent to a State that runs no"):
        _import(outside, networked, [outside["media"]])
    with pytest.raises(UnknownCase):
        _import(outside, "R-999999", [outside["media"]])
    case_service.act(store, outside["ident"], "withdraw", actor="o", at=ARRIVED)
    with pytest.raises(InvalidInput, match="is withdrawn"):
        _import(outside, outside["ident"], [outside["media"]])
    _nothing_kept(outside)


def test_a_failure_once_packed_leaves_neither_a_file_nor_a_record(
    outside: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(arrived.audit_log, "append", broken)
    with pytest.raises(RuntimeError, match="the disk is full"):
        _import(outside, outside["ident"], [outside["media"]])
    _nothing_kept(outside)
    assert not list((outside["folder"] / "store").glob("*"))
