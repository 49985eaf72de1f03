"""The 24/7 desk's queue (services/desk.py): what the node owes, read from the store."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from hanoinet.services import cases as service
from hanoinet.services import desk
from hanoinet.services.access import Principal
from hanoinet.store import Store

from .test_cases import DOC, STORED_DATA, T0, new


def _duties(store: Store, request_id: str, at: Any) -> list[str]:
    queue = desk.queue(
        store,
        principal=Principal("dora", "duty_officer"),
        at=at,
        ack_targets={"urgent": timedelta(hours=1)},
    )
    item = next(i for i in queue.incoming if i.r.id == request_id)
    return [d.action for d in item.duties]


def test_42_the_desk_asks_for_the_release_once_the_request_held_for_is_decided(
    store: Store,
) -> None:
    preservation = new(store, {**DOC, "urgency": "urgent"}, direction="incoming").request_id
    service.act(store, preservation, "record_preserved", actor="dora", at=T0)
    mla = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    service.act(
        store, preservation, "link_mla", actor="dora", at=T0, params={"related": mla},
        from_peer=True,
    )  # fmt: skip
    assert _duties(store, preservation, T0) == []  # held: nothing owed while it is decided
    for action in ("acknowledge", "start_execution", "execute"):
        service.act(store, mla, action, actor="dora", at=T0)
    assert _duties(store, preservation, T0) == ["release"]
