"""Readiness and the figures an operations team scrapes (issue 25 item 3): each check fails
for its own reason and says it; the gauges count what the database holds, on both
databases, with no case content and no user name."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from hanoinet.errors import LoginRefused
from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.token import Token, TokenSettings, open_token
from hanoinet.services import operations, users
from hanoinet.services.federation import NodeContext

from ..conftest import SPARE_TOKEN
from . import test_federation
from .test_federation import T0, _deliver, _send

world = test_federation.world
ALARM = timedelta(minutes=15)


def _checks(found: operations.Readiness) -> dict[str, str]:
    return {c.name: c.status for c in found.checks}


def test_a_node_in_order_is_ready(world: dict[str, Any]) -> None:
    found = operations.readiness(world["ctx"]["xa-ca"], now=T0, alarm=ALARM)
    assert found.ready and _checks(found) == {
        "database": "ok",
        "directory": "ok",
        "keys": "ok",
        "outbox": "ok",
    }
    assert found.as_dict()["outbox"] == {"pending": 0, "oldest_age_seconds": None}


def test_each_check_fails_or_warns_for_its_own_reason(world: dict[str, Any]) -> None:
    ctx: NodeContext = world["ctx"]["xa-ca"]
    expired = operations.readiness(ctx, now=T0 + timedelta(days=400), alarm=ALARM)
    assert not expired.ready and _checks(expired)["directory"] == "failed"
    soon = operations.readiness(ctx, now=T0 + timedelta(days=360), alarm=ALARM)
    assert _checks(soon)["directory"] == "warning" and "expires in" in soon.checks[1].detail
    stranger = replace(ctx, node_id="zz-ca")  # keys the directory does not list
    unlisted = operations.readiness(stranger, now=T0, alarm=ALARM)
    assert not unlisted.ready and _checks(unlisted)["keys"] == "failed"
    _send(world)  # nothing delivers it: it waits in the outbox
    late = operations.readiness(ctx, now=T0 + timedelta(hours=1), alarm=ALARM)
    assert late.ready  # served: taking the server out would not bring the peer back
    assert _checks(late)["outbox"] == "warning"
    assert late.outbox_pending == 1 and late.outbox_oldest_seconds == 3600
    assert "NOT DELIVERED" in next(c for c in late.checks if c.name == "outbox").detail


def test_the_gauges_count_what_the_database_holds(world: dict[str, Any]) -> None:
    xa, xb = world["ctx"]["xa-ca"], world["ctx"]["xb-ca"]
    _send(world)
    users.create_user(xa.store, "carl", "central_authority_officer", actor="a", at=T0)
    with pytest.raises(LoginRefused):
        users.log_in(xa.store, "carl", "wrong password", at=T0)
    before = operations.gauges(
        xa, now=T0 + timedelta(hours=1), alarm=ALARM, targets={"urgent": timedelta(hours=1)}
    )
    assert before.outbox == {"pending": 1} and before.not_delivered == 1
    assert before.outbox_oldest_seconds == 3600
    assert before.audit.get("login_failed") == 1
    _deliver(world, "xa-ca", T0 + timedelta(hours=1))
    after = operations.gauges(xa, now=T0 + timedelta(hours=1), alarm=ALARM, targets={})
    assert after.outbox == {"delivered": 1} and after.not_delivered == 0
    received = operations.gauges(
        xb,
        now=T0 + timedelta(days=1),
        alarm=ALARM,
        targets=dict.fromkeys(("routine", "urgent", "emergency"), timedelta(hours=4)),
    )
    assert sum(n for (kind, status), n in received.inbox.items() if status == "applied") >= 1
    assert received.desk_late == 1  # the request received, not acknowledged a day later


def test_keys_in_a_token_are_ready_only_while_the_token_answers(
    world: dict[str, Any], softhsm: TokenSettings
) -> None:
    ctx: NodeContext = world["ctx"]["xa-ca"]
    keys = KeySet.generate(T0 - timedelta(days=1), open_token(softhsm))
    roles = ("central_authority", "point_of_contact")
    directory = d.Directory(
        version=2,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=365),
        nodes=(test_federation._entry("xa-ca", "XA", keys, roles),),
    )
    held = operations.readiness(replace(ctx, keys=keys, directory=directory), now=T0, alarm=ALARM)
    assert _checks(held)["keys"] == "ok"
    silent = Token(TokenSettings(softhsm.module, SPARE_TOKEN, "not-its-pin"))
    cut = KeySet(tuple(replace(e, hsm=silent if e.token else None) for e in keys.entries))
    found = operations.readiness(replace(ctx, keys=cut, directory=directory), now=T0, alarm=ALARM)
    assert not found.ready and _checks(found)["keys"] == "failed"
    detail = next(c.detail for c in found.checks if c.name == "keys")
    assert "the token does not answer for key" in detail and keys.active("sig", T0).kid in detail
