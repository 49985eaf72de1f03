"""Using received evidence as its conditions allow: consent (40(19)), authorization (36(3)),
the consent that arrived on the case as a signed message, and the audit of every export.

The two nodes and the package are those of test_transfer.py: XB packed evidence answering
XA's request and sent it; XA accepted it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hanoinet.cases.lifecycle import Event
from hanoinet.errors import InvalidInput, TransitionRefused
from hanoinet.services import cases as case_service
from hanoinet.services import evidence as service
from hanoinet.store.schema import audit

from .test_transfer import T0, _send, world  # noqa: F401  (the fixture)


@pytest.fixture
def received(world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    sent = _send(world)
    assert sent.state == "delivered"
    return {**world, "package": sent.package}


def _export(w: dict[str, Any], to: Path, **kw: Any) -> service.Exported:
    return service.export(
        w["ctx"]["xa-ca"], w["folders"]["xa-ca"], w["package"], to, actor="lara", at=T0, **kw
    )


def test_the_request_s_own_use_needs_no_permission_and_is_audited(
    received: dict[str, Any], tmp_path: Path
) -> None:
    done = _export(received, tmp_path / "use")
    assert (done.folder / "data/collected/subscriber.csv").exists()
    assert done.purpose == "request" and done.permission is None
    with received["ctx"]["xa-ca"].store.transaction() as conn:
        rows = conn.execute(select(audit).where(audit.c.action == "evidence.export")).all()
    assert [r.target for r in rows] == [received["package"]]


def test_another_matter_needs_the_consent_then_is_allowed(
    received: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(TransitionRefused) as refused:
        _export(received, tmp_path / "other", purpose="other_matter", scope="Case 99/2027")
    assert refused.value.article == "40(19)" and "para. number unconfirmed" in refused.value.message
    assert not (tmp_path / "other").exists()
    store = received["ctx"]["xa-ca"].store
    service.permit(
        store,
        received["package"],
        "consent",
        "Case 99/2027",
        "XB MoJ 2026/881",
        actor="lara",
        at=T0,
    )
    with pytest.raises(TransitionRefused):  # a consent for one matter is not one for another
        _export(received, tmp_path / "third", purpose="other_matter", scope="Case 100/2027")
    done = _export(received, tmp_path / "other", purpose="other_matter", scope="  case 99/2027 ")
    assert done.permission is not None and done.permission["reference"] == "XB MoJ 2026/881"


def test_an_onward_transfer_needs_the_authorization(
    received: dict[str, Any], tmp_path: Path
) -> None:
    store = received["ctx"]["xa-ca"].store
    service.permit(
        store, received["package"], "consent", "XC", "not an authorization", actor="lara", at=T0
    )
    with pytest.raises(TransitionRefused) as refused:
        _export(received, tmp_path / "xc", purpose="onward_transfer", scope="XC")
    assert refused.value.article == "36(3)"
    service.permit(
        store, received["package"], "authorization", "XC", "XB MoJ 2026/900", actor="lara", at=T0
    )
    assert (
        _export(received, tmp_path / "xc", purpose="onward_transfer", scope="XC").permission
        is not None
    )


def test_the_consent_message_on_the_case_is_a_reference_for_the_matter_it_names(
    received: dict[str, Any],
) -> None:
    """Issue 26 item 5: a consent (40(19)) names the matter it covers, and the permission
    recorded from it is for that matter, not for any other."""
    store = received["ctx"]["xa-ca"].store
    with pytest.raises(TransitionRefused, match="no consent"):
        service.consent_from_case(store, received["package"], None)
    with store.transaction() as conn:
        case_service.insert_event(
            conn,
            received["xa_request"],
            Event(
                "give_consent",
                T0 + timedelta(hours=1),
                "node:xb-ca",
                "requested",
                "40(19)",
                "executed",
                "executed",
                {"reason": "granted by the minister", "matter": "Case 99/2027 (fraud)"},
            ),
        )
    reference, matter = service.consent_from_case(store, received["package"], None)
    assert "give_consent on R-000001" in reference and "granted by the minister" in reference
    assert matter == "Case 99/2027 (fraud)"
    again = service.consent_from_case(store, received["package"], "case 99/2027  (FRAUD)")
    assert again == (reference, matter)  # the same matter, however it is typed
    with pytest.raises(TransitionRefused, match=r"covers Case 99/2027 \(fraud\), not 'Case 1'"):
        service.consent_from_case(store, received["package"], "Case 1")


def test_only_accepted_incoming_evidence_can_be_permitted_or_exported(
    received: dict[str, Any], tmp_path: Path
) -> None:
    sender = received["ctx"]["xb-ca"]
    with pytest.raises(InvalidInput, match="only evidence this node received"):
        service.permit(sender.store, received["package"], "consent", "X", "Y", actor="bo", at=T0)
    with pytest.raises(InvalidInput, match="needs what it allows"):
        service.permit(
            received["ctx"]["xa-ca"].store,
            received["package"],
            "consent",
            " ",
            "Y",
            actor="lara",
            at=T0,
        )


def test_an_export_is_recorded_before_it_is_written_and_a_failure_after_it(
    received: dict[str, Any], tmp_path: Path
) -> None:
    from hanoinet.store.schema import evidence

    store = received["ctx"]["xa-ca"].store
    with store.transaction() as conn:
        stored = conn.execute(
            select(evidence.c.path).where(evidence.c.id == received["package"])
        ).scalar_one()
    path = received["folders"]["xa-ca"] / stored
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # damaged at rest
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="did not verify as it was opened"):
        _export(received, tmp_path / "use")
    assert not (tmp_path / "use").exists()
    with store.transaction() as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(audit).where(audit.c.target == received["package"]).order_by(audit.c.seq)
            )
        ]
    assert actions[-2:] == ["evidence.export", "evidence.export_failed"]
