"""The evidence section of the case page (web/templates/_evidence.html) and its fragment route
(GET /requests/{id}/evidence): each request's packages in words, the progress of a transfer
under way (polled by htmx, and not any more once it is done), the refusal's problems, the use
conditions with their article links and unconfirmed marks, the recorded permissions; on
SQLite and PostgreSQL, with rows written straight into the evidence tables. Who may read the
fragment, role by role: tests/web/test_authorization.py."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from hanoinet.evidence.conditions import conditions_for
from hanoinet.evidence.package import CHECKS
from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import evidence as evidence_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit, evidence, evidence_permissions, requests
from hanoinet.web.app import create_app
from hanoinet.web.vocabulary import CHECK_NAMES

from ..services.test_transfer import _send, world  # noqa: F401  (the fixture)

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PASSWORD = "correct horse battery staple"
UNCONFIRMED = "para. number unconfirmed"


@dataclass
class Desk:
    store: Store
    app: Any
    received: str
    """A request XA sent this node (XB): this node sends the evidence."""
    sent: str
    """A request this node sent XA: the evidence comes in."""

    def reader(self, username: str, role: str, locale: str = "en") -> TestClient:
        initial = users.create_user(self.store, username, role, actor="admin", at=T0)
        half = users.log_in(self.store, username, initial, at=T0)
        assert half.pending_totp is not None
        code = pyotp.TOTP(half.pending_totp).at(T0)
        full = users.set_up(self.store, half.token, PASSWORD, PASSWORD, code, at=T0)
        users.set_preferences(self.store, username, locale=locale, time_zone="UTC", at=T0)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set("hanoinet_session", full.token)
        return client


def _request(store: Store, direction: str, actor: str) -> str:
    document = (EXAMPLES / "mla-xa-xb.json").read_text("utf-8")
    created = case_service.new_case(
        store, document, direction=direction, actor=actor, at=T0, title="Hospital intrusion"
    )
    return created.request_id


def _conditions(reference: str, *, imposed: tuple[str, ...] = ()) -> str:
    made = conditions_for(
        request_uid="urn:uuid:00000000-0000-4000-8000-000000000001",
        reference=reference,
        matter="Intrusion into a hospital's systems",
        confidential=True,
        imposed=imposed,
    ).model_dump(mode="json")
    return json.dumps(made)


def put_package(
    store: Store,
    package: str,
    request_id: str,
    direction: str,
    state: str,
    *,
    size: int = 1_500_000,
    chunks: int = 10,
    next_chunk: int = 0,
    conditions: str | None = None,
    reason: list[dict[str, str]] | None = None,
    at: datetime = T0,
) -> None:
    with store.transaction() as conn:
        conn.execute(
            insert(evidence).values(
                id=package,
                request_id=request_id,
                direction=direction,
                peer_node="xa-ca",
                state=state,
                size=size,
                sha256="0" * 64,
                chunk_size=-(-size // chunks),
                chunks=chunks,
                next_chunk=next_chunk,
                offer="offer.jws.token",
                path=f"{package}.age",
                conditions=conditions,
                reason=json.dumps(reason) if reason else None,
                created_at=at,
                updated_at=at,
            )
        )


def put_permission(store: Store, package: str, kind: str, scope: str, reference: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            insert(evidence_permissions).values(
                package_id=package,
                kind=kind,
                scope=scope,
                reference=reference,
                recorded_by="carl",
                recorded_at=T0 + timedelta(hours=2),
            )
        )


def set_package(store: Store, package: str, **values: Any) -> None:
    with store.transaction() as conn:
        conn.execute(update(evidence).where(evidence.c.id == package).values(**values))


@pytest.fixture
def desk(store: Store) -> Desk:
    keys = KeySet.generate(T0 - timedelta(days=1))
    entry = d.NodeEntry(
        id="xb-ca",
        state="XB",
        name="xb-ca",
        roles=("central_authority", "point_of_contact"),
        endpoint="http://xb-ca.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=T0, valid_until=T0 + timedelta(days=30), nodes=(entry,)
    )
    clock = {"now": T0 + timedelta(minutes=5)}
    app = create_app(NodeContext("xb-ca", keys, directory, store), clock=lambda: clock["now"])
    received = _request(store, "incoming", "node:xa-ca")
    sent = _request(store, "outgoing", "carl")
    # Evidence this node sends for the request it received: one on its way, one delivered.
    put_package(store, "EV-xb-ca-000001", received, "outgoing", "sending", next_chunk=3)
    put_package(
        store,
        "EV-xb-ca-000002",
        received,
        "outgoing",
        "delivered",
        size=12_345_678_901,
        chunks=1472,
        next_chunk=1472,
        conditions=_conditions(received),
        at=T0 - timedelta(hours=1),
    )
    # Evidence coming in for the request it sent: accepted with permissions, accepted
    # without any, refused.
    put_package(
        store,
        "EV-xa-ca-000001",
        sent,
        "incoming",
        "accepted",
        chunks=2,
        next_chunk=2,
        conditions=_conditions(sent, imposed=("Not to be shown to the press before the trial",)),
    )
    put_permission(store, "EV-xa-ca-000001", "consent", "Proceedings 2027/44 (fraud)", "XA-44/1")
    put_permission(store, "EV-xa-ca-000001", "authorization", "Europol", "XA-44/2")
    put_package(
        store,
        "EV-xa-ca-000002",
        sent,
        "incoming",
        "accepted",
        size=999,
        chunks=1,
        next_chunk=1,
        conditions=_conditions(sent),
        at=T0 - timedelta(minutes=30),
    )
    put_package(
        store,
        "EV-xa-ca-000003",
        sent,
        "incoming",
        "refused",
        chunks=4,
        next_chunk=4,
        reason=[
            {
                "code": "damaged",
                "where": "EV-xa-ca-000003",
                "message": "the chunks kept do not make the offered package",
            }
        ],
        at=T0 - timedelta(hours=2),
    )
    return Desk(store, app, received, sent)


# --- reading the section ---------------------------------------------------------------------------


def section(html: str, request_id: str) -> str:
    """The evidence section of one request, as served."""
    found = re.search(
        rf'<section class="evidence" id="evidence-{request_id}".*?</section>', html, re.S
    )
    assert found, f"no evidence section for {request_id}"
    return found.group(0)


def packages(html: str) -> dict[str, str]:
    """Package id -> its part of the section."""
    parts = re.findall(
        r'<article class="package" aria-labelledby="pkg-([^"]+)">(.*?)</article>', html, re.S
    )
    return dict(parts)


def text(html: str) -> str:
    """What a reader reads: inline tags removed, the others a space, white space folded."""
    inline = re.sub(r"</?(?:bdi|code|span|strong|a|data)\b[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())


def polls(html: str) -> bool:
    opening = html.split(">", 1)[0]
    return 'hx-trigger="every 2s"' in opening and "hx-get=" in opening


def article_links(html: str) -> list[tuple[str, bool]]:
    """Each article link, and whether the unconfirmed mark follows it."""
    return [
        (key, mark == UNCONFIRMED)
        for key, mark in re.findall(
            r'<a class="article" href="/convention/\d+#k-([^"]+)">art\. <bdi dir="ltr">[^<]+</bdi></a>'
            r'(?: <span class="tag urgent">([^<]+)</span>)?',
            html,
        )
    ]


def test_the_section_lists_the_packages_sent_with_the_transfer_under_way(desk: Desk) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    page = carl.get(f"/requests/{desk.received}")
    assert page.status_code == 200
    part = section(page.text, desk.received)
    found = packages(part)
    assert list(found) == ["EV-xb-ca-000001", "EV-xb-ca-000002"]  # the newest change first
    moving, done = found["EV-xb-ca-000001"], found["EV-xb-ca-000002"]
    assert "Direction Sent to xa-ca" in text(moving)
    assert "Status Sending" in text(moving)
    assert "Size 1.5 MB" in text(moving)
    assert '<progress value="3" max="10"' in moving
    assert "3 of 10 chunks" in text(moving)
    assert "Use conditions" not in moving  # shown once the receiver verified it
    assert "Status Delivered: verified by the receiving node" in text(done)
    assert "Size 12.3 GB" in text(done)
    assert "<progress" not in done and "chunks" not in text(done)
    # The conditions travel with what was sent; the permissions are the receiver's to record.
    assert "Only for the proceedings of the request" in text(done)
    assert "Confidentiality" in text(done)
    assert "Permissions recorded" not in done
    # While one package is on its way the section asks for itself every 2 seconds.
    assert polls(part)
    assert f'hx-get="/requests/{desk.received}/evidence"' in part
    assert 'hx-swap="outerHTML"' in part


def test_received_packages_show_their_conditions_permissions_and_refusals(desk: Desk) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    part = section(carl.get(f"/requests/{desk.sent}").text, desk.sent)
    assert not polls(part)  # nothing in transfer
    found = packages(part)
    assert list(found) == ["EV-xa-ca-000001", "EV-xa-ca-000002", "EV-xa-ca-000003"]
    permitted, plain, refused = found.values()
    for html in found.values():
        assert "Direction Received from xa-ca" in text(html)
        assert "<progress" not in html
    assert "Status Accepted: verified on arrival" in text(permitted)
    assert "Size 999 bytes" in text(plain)
    # The conditions, each with its article linked as findings link theirs, and the mark
    # of a key whose paragraph numbering hanoinet has not checked.
    assert article_links(part.split("Permissions recorded")[0]) == [
        ("40(19)", True),
        ("36(3)", True),
        ("40(20)", True),
        ("36(1)", True),
    ]
    assert "Not to be shown to the press before the trial" in text(permitted)
    assert "Condition imposed by the sending State" in text(permitted)
    # The permissions recorded on this node, each with its article, scope, reference, who, when.
    rows = re.findall(r"<tr>(.*?)</tr>", permitted.split("<tbody>")[1], re.S)
    assert [text(r) for r in rows] == [
        "Consent to use in another matter art. 40(19) para. number unconfirmed "
        "Proceedings 2027/44 (fraud) XA-44/1 carl November 24, 2026, 5:00:00 AM",
        "Authorization of an onward transfer art. 36(3) para. number unconfirmed "
        "Europol XA-44/2 carl November 24, 2026, 5:00:00 AM",
    ]
    assert "Permissions recorded" in plain and "<table" not in plain
    assert "No consent or authorization recorded: the evidence may be used" in text(plain)
    # A refused package says why, and has no conditions or permissions to show.
    assert "Status Refused: it did not verify" in text(refused)
    assert "Why it was refused" in refused
    assert "the chunks kept do not make the offered package (damaged: EV-xa-ca-000003)" in text(
        refused
    )
    assert "Use conditions" not in refused and "Permissions recorded" not in refused


def test_a_verified_key_is_shown_without_the_unconfirmed_mark(desk: Desk) -> None:
    """The mark follows each condition's ``verified`` as the package recorded it."""
    made = json.loads(_conditions(desk.sent))
    made["conditions"][0]["verified"] = True
    set_package(desk.store, "EV-xa-ca-000002", conditions=json.dumps(made))
    carl = desk.reader("carl", "central_authority_officer")
    plain = packages(section(carl.get(f"/requests/{desk.sent}").text, desk.sent))["EV-xa-ca-000002"]
    assert article_links(plain) == [("40(19)", False), ("36(3)", True), ("40(20)", True)]


def test_a_request_without_evidence_says_so(desk: Desk) -> None:
    other = _request(desk.store, "incoming", "node:xa-ca")
    carl = desk.reader("carl", "central_authority_officer")
    part = section(carl.get(f"/requests/{other}").text, other)
    assert "No evidence package for this request." in part
    assert packages(part) == {} and not polls(part)


# --- the live part -----------------------------------------------------------------------------------


def test_the_section_is_polled_while_a_transfer_is_under_way_and_not_after(desk: Desk) -> None:
    carl = desk.reader("carl", "central_authority_officer")
    url = f"/requests/{desk.received}/evidence"
    first = carl.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert "<html" not in first.text and "<h1>" not in first.text  # the section alone
    assert first.text.strip().startswith(f'<section class="evidence" id="evidence-{desk.received}"')
    assert first.text.strip().endswith("</section>")
    assert polls(first.text)
    assert section(carl.get(f"/requests/{desk.received}").text, desk.received) == section(
        first.text, desk.received
    )
    # The chunks move on: the next answer shows where the transfer stands now.
    set_package(desk.store, "EV-xb-ca-000001", next_chunk=7)
    moved = packages(carl.get(url).text)["EV-xb-ca-000001"]
    assert '<progress value="7" max="10"' in moved and "7 of 10 chunks" in text(moved)
    # Delivered: the answer no longer asks for itself, so htmx stops polling.
    set_package(desk.store, "EV-xb-ca-000001", state="delivered", next_chunk=10)
    done = carl.get(url)
    assert done.status_code == 200 and not polls(done.text)
    assert "hx-get" not in done.text and "updates itself" not in done.text
    assert "<progress" not in done.text
    # An incoming transfer counts as well.
    set_package(desk.store, "EV-xa-ca-000002", state="receiving", next_chunk=0)
    receiving = carl.get(f"/requests/{desk.sent}/evidence")
    assert polls(receiving.text)
    one = packages(receiving.text)["EV-xa-ca-000002"]
    assert '<progress value="0" max="1"' in one
    assert "0 of 1 chunk" in text(one) and "chunks" not in text(one)  # its plural


def test_the_fragment_is_not_audited_and_writes_nothing(desk: Desk) -> None:
    """Metadata only, refreshed every 2 seconds: the case page's read is the audited one."""
    carl = desk.reader("carl", "central_authority_officer")
    with desk.store.engine.connect() as conn:
        before = list(audit_log.entries(conn))
    for _ in range(3):
        answer = carl.get(f"/requests/{desk.received}/evidence")
        assert answer.status_code == 200
        # No content of the request: the speciality condition's matter is left out.
        assert "Intrusion into a hospital" not in answer.text
    with desk.store.engine.connect() as conn:
        assert list(audit_log.entries(conn)) == before
    assert carl.get(f"/requests/{desk.received}").status_code == 200
    with desk.store.engine.connect() as conn:
        after = list(audit_log.entries(conn))
    assert [(e.action, e.actor) for e in after[len(before) :]] == [("read", "carl")]


def test_the_fragment_answers_like_the_case_page_for_who_may_not_see(desk: Desk) -> None:
    """A requester sees only the cases it opened: the request received from XA answers
    like a missing one; without a session, 401 (htmx asks without following redirects)."""
    rita = desk.reader("rita", "requester")
    assert rita.get(f"/requests/{desk.received}").status_code == 404
    hidden = rita.get(f"/requests/{desk.received}/evidence")
    missing = rita.get("/requests/R-999999/evidence")
    assert (hidden.status_code, hidden.text) == (missing.status_code, missing.text) == (404, "")
    assert "EV-xb-ca" not in hidden.text
    ada = desk.reader("ada", "node_admin")  # no case content for the node administrator
    assert ada.get(f"/requests/{desk.received}").status_code == 403
    assert ada.get(f"/requests/{desk.received}/evidence").status_code == 403
    anonymous = TestClient(desk.app, follow_redirects=False)
    assert anonymous.get(f"/requests/{desk.received}/evidence").status_code == 401
    # The case id answers for its first request, as the case page does.
    carl = desk.reader("carl", "central_authority_officer")
    with desk.store.engine.connect() as conn:
        case_id = conn.execute(
            select(requests.c.case_id).where(requests.c.id == desk.received)
        ).scalar_one()
    by_case = carl.get(f"/requests/{case_id}/evidence")
    assert by_case.status_code == 200 and f'id="evidence-{desk.received}"' in by_case.text


# --- in the reader's language --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "size", "chunks", "evidence"),
    [
        ("fr", "1,5\u202fMo", "3 sur 10 fragments", "Éléments de preuve"),
        ("ar", "1.5 م.ب", "3 من أصل 10 أجزاء", "الأدلة"),
        ("ru", "1,5 МБ", "3 из 10 фрагментов", "Доказательства"),
    ],
)
def test_sizes_counts_and_words_come_in_the_readers_language(
    desk: Desk, lang: str, size: str, chunks: str, evidence: str
) -> None:
    reader = desk.reader(f"reader-{lang}", "central_authority_officer", locale=lang)
    part = section(reader.get(f"/requests/{desk.received}").text, desk.received)
    moving = packages(part)["EV-xb-ca-000001"]
    assert size in moving
    assert chunks in text(moving)
    assert evidence in part
    assert "Sending" not in text(moving)  # the state's name is translated too


def test_a_stalled_transfer_says_since_when_and_why_in_the_readers_language(desk: Desk) -> None:
    """Issue 26 item 1: a transfer the worker could not move for longer than the alarm
    (HANOINET_TRANSFER_ALARM_MINUTES, 30 by default) is marked not delivered, stalled since
    its last progress, with its failed attempts, the next one and the last failure."""
    put_package(
        desk.store, "EV-xb-ca-000009", desk.received, "outgoing", "queued",
        at=T0 - timedelta(hours=1),
    )  # fmt: skip
    set_package(
        desk.store, "EV-xb-ca-000009", attempts=4, next_attempt_at=T0 + timedelta(minutes=10),
        last_error="EV-xb-ca-000009: the connection to xa-ca failed 3 times (refused)",
    )  # fmt: skip
    carl = desk.reader("carl", "central_authority_officer")
    found = packages(section(carl.get(f"/requests/{desk.received}").text, desk.received))
    stalled, moving = text(found["EV-xb-ca-000009"]), text(found["EV-xb-ca-000001"])
    assert "Status Queued: the node sends it" in stalled
    assert "Not delivered Stalled since November 24, 2026, 2:00:00 AM" in stalled, stalled
    assert "Last attempt 4 failed attempts; the node tries again at" in stalled
    assert "failed 3 times (refused)" in stalled
    assert "0 of 10 chunks" in stalled
    assert "Stalled" not in moving and "Last attempt" not in moving  # it moved 5 minutes ago
    desk.app.state.web.transfer_alarm = timedelta(hours=2)  # a node with a longer alarm
    found = packages(section(carl.get(f"/requests/{desk.received}").text, desk.received))
    assert "Stalled" not in text(found["EV-xb-ca-000009"])
    assert "Last attempt" in text(found["EV-xb-ca-000009"])  # the failures are shown anyway
    desk.app.state.web.transfer_alarm = timedelta(minutes=30)
    reader = desk.reader("amal", "central_authority_officer", locale="ar")
    found = packages(section(reader.get(f"/requests/{desk.received}").text, desk.received))
    arabic = text(found["EV-xb-ca-000009"])
    assert "متوقف منذ" in arabic and "في الانتظار: ترسله العقدة" in arabic
    assert "4 محاولات فاشلة" in arabic or "٤ محاولات فاشلة" in arabic, arabic


# ---- a real package on the case page: files, checks, custody, verify again, export ---------
# The two nodes of tests/services/test_transfer.py: XB packed evidence answering XA's request
# (opened by lara) and sent it; XA (this page's node) verified and accepted it.


@dataclass
class Held:
    world: dict[str, Any]
    app: Any
    package: str
    request_id: str
    files: dict[str, bytes]

    def reader(self, username: str, role: str, locale: str = "en") -> tuple[TestClient, str]:
        """A person of that role logged in on XA's node, and their form token."""
        store = self.world["ctx"]["xa-ca"].store
        at = self.world_time
        initial = users.create_user(store, username, role, actor="admin", at=at)
        half = users.log_in(store, username, initial, at=at)
        assert half.pending_totp is not None
        code = pyotp.TOTP(half.pending_totp).at(at)
        full = users.set_up(store, half.token, PASSWORD, PASSWORD, code, at=at)
        users.set_preferences(store, username, locale=locale, time_zone="UTC", at=at)
        client = TestClient(self.app, follow_redirects=False)
        client.cookies.set("hanoinet_session", full.token)
        return client, full.csrf

    @property
    def world_time(self) -> datetime:
        return datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def audited(self, action: str) -> list[Any]:
        with self.world["ctx"]["xa-ca"].store.transaction() as conn:
            return conn.execute(
                select(audit).where(audit.c.action == action).order_by(audit.c.seq)
            ).all()


SQLITE_ONLY = pytest.mark.parametrize("world", ["sqlite"], indirect=True)
"""Packing, sending and CASE validation take seconds: one database here (the transfer itself
runs on both in tests/services/test_transfer.py)."""


@pytest.fixture
def held(world: dict[str, Any]) -> Held:  # noqa: F811
    sent = _send(world)
    assert sent.state == "delivered"
    collected = world["tmp"] / "collected"
    return Held(
        world,
        world["apps"]["http://xa-ca.test"].app,
        sent.package,
        world["xa_request"],
        {f"data/collected/{p.name}": p.read_bytes() for p in collected.iterdir()},
    )


def _section(html: str, package: str) -> str:
    return html.split(f'id="pkg-{package}"', 1)[1].split("</article>", 1)[0]


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_the_eight_checks_on_the_page_are_the_eight_of_evidence_verify() -> None:
    assert tuple(CHECK_NAMES) == CHECKS and len(CHECKS) == 8


@SQLITE_ONLY
def test_verify_again_shows_the_files_the_checks_and_the_custody_and_is_audited(
    held: Held,
) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    # verified on arrival: the node's own verification is on the page at once
    before = _section(carl.get(f"/requests/{held.request_id}").text, held.package)
    assert "by node:xa-ca" in _plain(before)
    assert len(re.findall(r'<tr class="check-passed">', before)) == 8
    assert f'action="/evidence/{held.package}/verify"' in before
    set_package(held.world["ctx"]["xa-ca"].store, held.package, verification=None)
    unverified = _section(carl.get(f"/requests/{held.request_id}").text, held.package)
    assert "Not verified on this page yet" in unverified and 'class="files"' not in unverified

    answer = carl.post(f"/evidence/{held.package}/verify", data={"csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/requests/{held.request_id}#pkg-{held.package}"
    [entry] = held.audited("evidence.verify")
    assert (entry.actor, entry.target) == ("carl", held.package)
    assert json.loads(entry.detail) == {"verified": True, "failed": []}

    section = _section(carl.get(f"/requests/{held.request_id}").text, held.package)
    text = _plain(section)
    assert "Verified" in text and "by carl" in text
    rows = re.findall(r'<tr class="check-(\w+)"><th scope="row">([^<]+)</th>', section)
    assert rows == [("passed", CHECK_NAMES[c]) for c in CHECKS]
    for name, data in held.files.items():
        digest = hashlib.sha256(data).hexdigest()
        assert f'<code class="hash"><bdi dir="ltr">{digest}</bdi></code>' in section
        assert f"<bdi>{name}</bdi>" in section and f'<data value="{len(data)}">' in section
    assert "2 files" in text
    custody = section.split('class="timeline"', 1)[1]
    steps = re.findall(r"<li><strong>([^<]+)</strong>", custody)
    assert steps[:2] == ["Collected", "Packed"]
    assert "Received and verified" in steps and steps[-1] == "Verified again"
    assert "unit (demo)" in custody  # who collected it, from the CASE/UCO record
    assert "Verify again" in section


@SQLITE_ONLY
def test_a_package_that_no_longer_verifies_says_which_check_failed(held: Held) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    stored = held.world["folders"]["xa-ca"] / "store" / f"{held.package}.age"
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    assert carl.post(f"/evidence/{held.package}/verify", data={"csrf": csrf}).status_code == 303
    section = _section(carl.get(f"/requests/{held.request_id}").text, held.package)
    assert "Not verified" in _plain(section)
    rows = dict(
        (name, status)
        for status, name in re.findall(
            r'<tr class="check-(\w+)"><th scope="row">([^<]+)</th>', section
        )
    )
    assert rows[CHECK_NAMES["decrypt"]] == "failed"
    assert rows[CHECK_NAMES["signature"]] == "not_checked"
    assert '<table class="files"' not in section  # nothing unverified is listed as a file
    [entry] = held.audited("evidence.verify")
    assert json.loads(entry.detail) == {"verified": False, "failed": ["decrypt"]}


def _tar_members(body: bytes) -> dict[str, bytes]:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(body), mode="r") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@SQLITE_ONLY
def test_export_for_the_request_is_the_verified_bag_audited_first(held: Held) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    section = _section(carl.get(f"/requests/{held.request_id}").text, held.package)
    assert f'action="/evidence/{held.package}/export"' in section
    answer = carl.post(
        f"/evidence/{held.package}/export", data={"csrf": csrf, "purpose": "request"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-tar"
    assert f'filename="{held.package}-export.tar"' in answer.headers["content-disposition"]
    members = _tar_members(answer.content)
    for name, data in held.files.items():
        assert members[f"{held.package}/{name}"] == data
    assert f"{held.package}/manifest-sha256.txt" in members
    assert f"{held.package}/custody.jsonld" in members
    [entry] = held.audited("evidence.export")
    assert (entry.actor, entry.target) == ("carl", held.package)
    assert json.loads(entry.detail)["purpose"] == "request"
    # the folder the bag was opened into is gone once sent
    folder = held.world["folders"]["xa-ca"]
    assert not list(folder.glob(".web-export-*"))


@SQLITE_ONLY
def test_export_for_another_matter_needs_the_recorded_consent(held: Held) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    form = {"csrf": csrf, "purpose": "other_matter", "scope": "Proceedings 2027/44 (fraud)"}
    refused = carl.post(f"/evidence/{held.package}/export", data=form)
    assert refused.status_code == 403
    assert "40(19)" in refused.text and "prior consent" in refused.text
    assert held.audited("evidence.export") == []
    assert not list(held.world["folders"]["xa-ca"].glob(".web-export-*"))
    onward = carl.post(
        f"/evidence/{held.package}/export",
        data={"csrf": csrf, "purpose": "onward_transfer", "scope": "Europol"},
    )
    assert onward.status_code == 403 and "36(3)" in onward.text
    assert held.audited("evidence.export") == []

    evidence_service.permit(
        held.world["ctx"]["xa-ca"].store,
        held.package,
        "consent",
        "Proceedings 2027/44 (fraud)",
        "XB-consent-7",
        actor="carl",
        at=held.world_time,
    )
    allowed = carl.post(f"/evidence/{held.package}/export", data=form)
    assert allowed.status_code == 200 and allowed.content
    [entry] = held.audited("evidence.export")
    detail = json.loads(entry.detail)
    assert (detail["purpose"], detail["permission"]) == ("other_matter", "XB-consent-7")


@SQLITE_ONLY
def test_who_may_verify_and_export(held: Held) -> None:
    sue, sue_csrf = held.reader("sue", "supervisor")
    section = _section(sue.get(f"/requests/{held.request_id}").text, held.package)
    assert f'action="/evidence/{held.package}/verify"' in section
    assert f'action="/evidence/{held.package}/export"' not in section
    refused = sue.post(
        f"/evidence/{held.package}/export", data={"csrf": sue_csrf, "purpose": "request"}
    )
    assert refused.status_code == 403

    # a requester who did not open the case sees nothing of it, the package included
    rita, rita_csrf = held.reader("rita", "requester")
    assert rita.get(f"/requests/{held.request_id}").status_code == 404
    for action in ("verify", "export"):
        answer = rita.post(f"/evidence/{held.package}/{action}", data={"csrf": rita_csrf})
        assert answer.status_code == 404
        assert "No such case or request" in answer.text
    nadia, nadia_csrf = held.reader("nadia", "node_admin")
    answer = nadia.post(f"/evidence/{held.package}/verify", data={"csrf": nadia_csrf})
    assert answer.status_code == 403
    # without the form's token, nothing is done
    carl, _csrf = held.reader("carl", "central_authority_officer")
    assert carl.post(f"/evidence/{held.package}/export", data={}).status_code == 400
    assert held.audited("evidence.export") == [] and held.audited("evidence.verify") == []
    assert (
        TestClient(held.app, follow_redirects=False)
        .post(f"/evidence/{held.package}/verify")
        .status_code
        == 303
    )  # to the log-in


@SQLITE_ONLY
def test_the_polled_section_with_a_kept_verification_is_an_audited_read(held: Held) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    store = held.world["ctx"]["xa-ca"].store
    set_package(store, held.package, verification=None)
    carl.get(f"/requests/{held.request_id}/evidence")
    assert held.audited("evidence.list") == []  # metadata only: not audited
    carl.post(f"/evidence/{held.package}/verify", data={"csrf": csrf})
    fragment = carl.get(f"/requests/{held.request_id}/evidence").text
    assert "unit (demo)" in fragment
    [entry] = held.audited("evidence.list")
    assert (entry.actor, entry.target) == ("carl", held.request_id)


@SQLITE_ONLY
def test_the_evidence_section_in_arabic_keeps_hashes_and_ids_left_to_right(held: Held) -> None:
    from hanoinet.web.render import translations

    amal, csrf = held.reader("amal", "central_authority_officer", locale="ar")
    amal.post(f"/evidence/{held.package}/verify", data={"csrf": csrf})
    html = amal.get(f"/requests/{held.request_id}").text
    section = _section(html, held.package)
    t = translations("ar").ugettext
    assert t("Verification on this node") in section and t("Chain of custody") in section
    for check in CHECKS:
        assert f'<th scope="row">{t(CHECK_NAMES[check])}</th>' in section
    digest = hashlib.sha256(held.files["data/collected/subscriber.csv"]).hexdigest()
    assert f'<bdi dir="ltr">{digest}</bdi>' in section
    assert f'<code><bdi dir="ltr">{held.package}</bdi></code>' in html
    # dates in ISO 8601, never CLDR's numeric day/month/year
    assert '<bdi dir="ltr">2026-12-02 09:00 UTC</bdi>' in section


def test_a_refused_export_on_the_page_shows_no_command_line(held: Held) -> None:
    carl, csrf = held.reader("carl", "central_authority_officer")
    form = {"csrf": csrf, "purpose": "onward_transfer", "scope": "Europol"}
    refused = carl.post(f"/evidence/{held.package}/export", data=form)
    assert refused.status_code == 403 and "Record it first" in refused.text
    main = refused.text.split("<main")[1]
    assert (
        "hanoinet evidence" not in main and "--authorize" not in main and "--reference" not in main
    )


def test_a_new_state_is_announced_once_in_the_live_region_outside_the_section(desk: Desk) -> None:
    """Issue 26 item 5: a screen reader hears that a transfer ended, not every chunk. The case
    page keeps a live region outside the polled section; each poll says the states it showed,
    and only a package whose state changed since is announced (by an out-of-band swap into that
    region: the section itself is replaced each time, which readers do not announce)."""
    carl = desk.reader("carl", "central_authority_officer")
    page = carl.get(f"/requests/{desk.received}").text
    live = f'<p id="evidence-{desk.received}-live" class="visually-hidden" role="status"></p>'
    assert live in page
    part = section(page, desk.received)
    states = "EV-xb-ca-000001=sending,EV-xb-ca-000002=delivered"
    assert f'hx-vals=\'{{"seen": "{states}"}}\'' in part
    url = f"/requests/{desk.received}/evidence"
    set_package(desk.store, "EV-xb-ca-000001", next_chunk=7)
    quiet = carl.get(url, params={"seen": states}).text
    assert "hx-swap-oob" not in quiet  # only the chunks moved: nothing to announce
    set_package(desk.store, "EV-xb-ca-000001", state="delivered", next_chunk=10)
    said = carl.get(url, params={"seen": states}).text
    oob = said.split("<section", 1)[0]
    assert f'<p id="evidence-{desk.received}-live" hx-swap-oob="innerHTML">' in oob
    assert "EV-xb-ca-000001" in oob and "Delivered" in oob
    assert "EV-xb-ca-000002" not in oob  # unchanged: not said again
    assert "hx-swap-oob" not in carl.get(url, params={"seen": "x" * 5000}).text
