"""Related requests across the two States' numbering (services/references.py): on the node
that wrote ``related_request`` it is one of its own requests; on the node that received it,
the request of the same peer and direction whose ``peer_ref`` it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from hanoinet.services import cases as case_service
from hanoinet.services import references
from hanoinet.services.references import Related
from hanoinet.store import Store
from hanoinet.store.schema import requests

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _open(
    store: Store, example: str, direction: Any, actor: str = "officer", **changes: Any
) -> str:
    document = {**json.loads((EXAMPLES / f"{example}-xa-xb.json").read_text()), **changes}
    created = case_service.new_case(
        store, json.dumps(document), direction=direction, actor=actor, at=T0
    )
    return created.request_id


def _peer(store: Store, request_id: str, node: str, ref: str | None) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(requests).where(requests.c.id == request_id).values(peer_node=node, peer_ref=ref)
        )


def test_on_the_node_that_wrote_it_the_related_request_is_its_own(store: Store) -> None:
    preservation = _open(store, "preservation", "outgoing")
    mla = _open(store, "mla", "outgoing", related_request=preservation)
    free_text = _open(store, "mla", "outgoing", related_request="the preservation of May")
    found = references.related(store, [preservation, mla, free_text])
    assert found[mla] == Related(follows=preservation)
    assert found[preservation] == Related(followed_by=[mla])
    assert found[free_text] == Related()  # not a reference: left to the document's reader


def test_on_the_receiving_node_it_is_found_by_the_peers_reference(store: Store) -> None:
    preservation = _open(store, "preservation", "incoming")
    _peer(store, preservation, "xa-ca", "R-000005")
    mla = _open(store, "mla", "incoming", related_request="R-000005")
    _peer(store, mla, "xa-ca", "R-000009")
    # The same number from another peer, and in the other direction, is another request.
    stranger = _open(store, "mla", "incoming", related_request="R-000005")
    _peer(store, stranger, "xc-ca", "R-000005")
    ours = _open(store, "mla", "outgoing", related_request="R-000005")
    # Another number, which SQL LIKE would take for the same on SQLite (case).
    unknown = _open(store, "mla", "incoming", related_request="r-000005")
    _peer(store, unknown, "xa-ca", "R-000010")
    found = references.related(store, [preservation, mla, stranger, ours, unknown])
    assert found[mla] == Related(follows=preservation)
    assert found[preservation] == Related(followed_by=[mla])
    assert found[stranger] == Related(follows_theirs="R-000005")
    assert found[ours] == Related()
    assert found[unknown] == Related(follows_theirs="r-000005")


def test_a_reader_is_shown_only_the_requests_it_may_see(store: Store) -> None:
    from hanoinet.services.access import Principal

    preservation = _open(store, "preservation", "outgoing", actor="rita")
    mla = _open(store, "mla", "outgoing", actor="otto", related_request=preservation)
    rita, otto = Principal("rita", "requester"), Principal("otto", "requester")
    # Each requester sees the case it opened, not the other's: no id of it is shown.
    assert references.related(store, [preservation], principal=rita) == {preservation: Related()}
    assert references.related(store, [mla], principal=otto) == {mla: Related()}
    assert references.related(store, [mla]) == {mla: Related(follows=preservation)}
