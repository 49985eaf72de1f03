"""The drafting wizard through HTTP (web/drafting.py): a new draft, each step saved as typed
(nothing lost, not even a wrong date), lists of items, the live checks (pure: they neither
read nor write the store), the preview and the send, who may draft what, and the audited
read behind every page.

The node is XB's; the directory also holds XA's node with its languages and channels, so
the State select has a State to choose and the wizard knows what XA accepts."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hanoinet.convention import convention
from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import access, users
from hanoinet.services import cases as case_service
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit, events, outbox, requests
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
MISSING = "R-999999"
CONTINUE = "Continue anyway: the draft is saved"
FORMAT = "hanoinet.request/1"
PRESERVATION_STEPS = ("route", "matter", "facts", "data")
DESK_FORMS = [
    "preservation",
    "traffic_disclosure",
    "spontaneous_information",
    "emergency_disclosure",
    "law_enforcement_cooperation",
]
"""The forms whose channels include the 24/7 point of contact (cooperation.yaml), in the
data's order: what a duty officer drafts. Written out by hand."""

COMPLETE: dict[str, Any] = {
    "format": FORMAT,
    "kind": "preservation",
    "requesting_state": "XB",
    "requested_state": "XA",
    "requesting_authority": {"name": "Borealis Police (demo)", "contact": "+000 200 7247"},
    "offences": [{"article": "7", "conduct": ["access"]}],
    "facts_summary": "Unknown persons accessed the mail server of a hospital.",
    "data": [
        {
            "category": "traffic",
            "identifiers": ["203.0.113.7"],
            "custodian": "Aurelia Hosting (demo)",
            "relation_to_offence": "IP used for the access",
        }
    ],
    "necessity": "Logs are kept 7 days only.",
    "mla_to_follow": True,
    "urgency": "urgent",
    "language": "en",
    "channel": "point_of_contact",
}
"""A preservation request from XB to XA with no error: ready to send."""


# --- a node with a directory of two States, and people logged in ------------------------------


@dataclass
class User:
    name: str
    client: TestClient
    csrf: str

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
        return self.client.post(url, data={"csrf": self.csrf, **data} if csrf else data)


@dataclass
class Desk:
    store: Store
    app: Any

    def user(self, name: str, role: str, **client: Any) -> User:
        """A user whose first log-in was done through the service; the client carries the
        full session's cookie."""
        initial = users.create_user(self.store, name, role, actor="admin", at=T0)
        half = users.log_in(self.store, name, initial, at=T0)
        assert half.pending_totp is not None
        code = pyotp.TOTP(half.pending_totp).at(T0)
        full = users.set_up(self.store, half.token, PASSWORD, PASSWORD, code, at=T0)
        found = TestClient(self.app, follow_redirects=False, **client)
        found.cookies.set("hanoinet_session", full.token)
        return User(name, found, full.csrf)

    def anonymous(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)


def _entry(node: str, state: str, keys: KeySet, **kw: Any) -> d.NodeEntry:
    return d.NodeEntry(
        id=node,
        state=state,
        name=node,
        roles=("central_authority", "point_of_contact"),
        endpoint=f"http://{node}.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
        **kw,
    )


def make_desk(store: Store) -> Desk:
    mine = KeySet.generate(T0 - timedelta(days=1))
    theirs = KeySet.generate(T0 - timedelta(days=1))
    directory = d.Directory(
        version=1,
        issued_at=T0,
        valid_until=T0 + timedelta(days=30),
        nodes=(
            _entry(
                "xa-ca",
                "XA",
                theirs,
                languages=("en", "fr"),
                channels=("central_authority", "point_of_contact"),
            ),
            _entry("xb-ca", "XB", mine),
        ),
    )
    app = create_app(NodeContext("xb-ca", mine, directory, store), clock=lambda: T0)
    return Desk(store, app)


@pytest.fixture
def desk(store: Store) -> Desk:
    """A node on SQLite and on PostgreSQL."""
    return make_desk(store)


@pytest.fixture
def web_desk(tmp_path: Path, store_factory: Any) -> Iterator[Desk]:
    """A node on SQLite only, for what is about the pages, not the database."""
    with store_factory("sqlite", tmp_path) as store:
        yield make_desk(store)


# --- reading the store and the pages ----------------------------------------------------------


def stored(store: Store, request_id: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        text = conn.execute(
            select(requests.c.document).where(requests.c.id == request_id)
        ).scalar_one()
    found: dict[str, Any] = json.loads(text)
    return found


def request_row(store: Store, request_id: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(requests).where(requests.c.id == request_id)).one()


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_entries(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(audit_log.entries(conn))


def snapshot(store: Store) -> dict[str, Any]:
    """What a refused or pure command must leave as it was."""
    with store.engine.connect() as conn:
        rows = [
            tuple(r)
            for r in conn.execute(
                select(
                    requests.c.id,
                    requests.c.state,
                    requests.c.version,
                    requests.c.document,
                    requests.c.error_findings,
                ).order_by(requests.c.id)
            )
        ]
    return {
        "requests": rows,
        "events": count(store, events),
        "outbox": count(store, outbox),
        "audit": count(store, audit_log.audit),
    }


class Page(HTMLParser):
    """What the tests look at in a page: every element with its attributes, every link with
    its text, the error summary's links, each field's error message, each select's options."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: list[str] = []
        self.elements: dict[str, tuple[str, dict[str, str]]] = {}
        self.links: list[tuple[str, str]] = []
        self.summary: list[tuple[str, str]] = []
        self.summary_text = ""
        self.errors: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self._summary_depth = 0
        self._link: tuple[str, bool] | None = None
        self._link_text: list[str] = []
        self._error_for: str | None = None
        self._error_text: list[str] = []
        self._select: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.append(a["id"])
            self.elements[a["id"]] = (tag, a)
        classes = a.get("class", "").split()
        if tag == "div" and self._summary_depth:
            self._summary_depth += 1
        elif tag == "div" and "error-summary" in classes:
            self._summary_depth = 1
        if tag == "a":
            self._link, self._link_text = (a.get("href", ""), bool(self._summary_depth)), []
        if tag == "p" and "field-error" in classes:
            self._error_for, self._error_text = a["id"].removesuffix("-error"), []
        if tag == "select":
            self._select = a.get("id", "")
            self.options[self._select] = []
        if tag == "option" and self._select is not None:
            self.options[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._summary_depth:
            self._summary_depth -= 1
        if tag == "a" and self._link is not None:
            href, in_summary = self._link
            text = " ".join("".join(self._link_text).split())
            self.links.append((href, text))
            if in_summary:
                self.summary.append((href, text))
            self._link = None
        if tag == "p" and self._error_for is not None:
            text = " ".join("".join(self._error_text).split())
            self.errors[self._error_for] = text.removeprefix("Error:").strip()
            self._error_for = None
        if tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._summary_depth:
            self.summary_text += data
        if self._link is not None:
            self._link_text.append(data)
        if self._error_for is not None:
            self._error_text.append(data)

    def attrs(self, ident: str) -> dict[str, str]:
        assert ident in self.elements, f"no element with id {ident!r} in the page"
        return self.elements[ident][1]

    def named(self, name: str, tag: str = "input") -> list[dict[str, str]]:
        """The attributes of each ``tag`` element named ``name``, in the page's order."""
        return [a for t, a in self.tags if t == tag and a.get("name") == name]

    def marks(self) -> tuple[str, ...]:
        """The fields the page carries (its hidden ``_has.`` markers)."""
        return tuple(
            a["name"].removeprefix("_has.")
            for t, a in self.tags
            if t == "input" and a.get("name", "").startswith("_has.")
        )

    def dangling(self) -> list[str]:
        """Links of the error summary to this page (#id) that land on no element."""
        return [h for h, _ in self.summary if h.startswith("#") and h[1:] not in self.ids]


def text_of(page: str) -> str:
    """The page's text as a reader sees it: no tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def document_field(text: str) -> str:
    """The page's copy of the draft (the hidden ``_document`` the live checks post back)."""
    (found,) = Page(text).named("_document")
    return found["value"]


# --- driving the wizard -----------------------------------------------------------------------


def new_draft(user: User, kind: str = "preservation", state: str = "XA", title: str = "") -> str:
    made = user.post("/drafts/new", {"kind": kind, "requested_state": state, "title": title})
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/drafts/(R-\d{6})\?step=route", made.headers["location"])
    assert found, made.headers["location"]
    return found.group(1)


def save(
    user: User,
    ident: str,
    step: str,
    fields: dict[str, Any],
    *,
    go: str | None = "stay",
    marks: tuple[str, ...] | None = None,
    csrf: bool = True,
    **extra: str,
) -> Any:
    """Post one step as the page does: the ``_has.`` marker of each field on it (by default
    the fields posted) and the values typed."""
    names = marks if marks is not None else tuple(dict.fromkeys(k.split(".")[0] for k in fields))
    data: dict[str, Any] = {**{f"_has.{n}": "1" for n in names}, **fields, **extra}
    if go is not None:
        data["_go"] = go
    return user.post(f"/drafts/{ident}?step={step}", data, csrf=csrf)


def complete_draft(store: Store, actor: str, document: dict[str, Any] | None = None) -> str:
    return case_service.new_case(
        store,
        json.dumps(document or COMPLETE),
        direction="outgoing",
        actor=actor,
        at=T0,
    ).request_id


def send_by_service(store: Store, request_id: str, actor: str) -> None:
    """Check, a supervisor's approval (the node's default policy asks it of a requester's
    request), send."""
    for action, by in (("check", actor), ("approve", "sam"), ("send", actor)):
        case_service.act(store, request_id, action, actor=by, at=T0)


# --- the whole flow ---------------------------------------------------------------------------

AUTHORITY = 'Policía Nacional <Unidad Cibercrimen> & "Co"'
FACTS = "Someone entered the hospital's mail server.\r\nThe logs show 203.0.113.7."


def test_the_whole_flow_from_a_new_draft_to_a_sent_request(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    form = rita.get("/drafts/new")
    assert form.status_code == 200
    # not our own State, XB; Caldera and Dorado run no node: written to by e-mail or letter
    assert Page(form.text).options["requested_state"] == ["", "XA", "XC", "XD"]
    ident = new_draft(rita, title="Hospital mail server")
    assert stored(desk.store, ident) == {
        "format": FORMAT,
        "kind": "preservation",
        "requesting_state": "XB",
        "requested_state": "XA",
        "urgency": "routine",
        "channel": "point_of_contact",  # the form's first channel XA accepts
    }

    route = rita.get(f"/drafts/{ident}?step=route")
    assert route.status_code == 200
    route_page = Page(route.text)
    assert route_page.options["f-requested_state"] == ["", "XA", "XC", "XD"]
    assert route_page.options["f-language"][:3] == ["", "en", "fr"]  # what XA accepts first
    steps = {
        "route": {
            "requested_state": "XA",
            "legal_basis.instrument": "reciprocity",
            "legal_basis.name": "",
            "legal_basis.article": "",
            "urgency": "urgent",
            "emergency": "",
            "channel": "point_of_contact",
            "language": "fr",
            "oral": "yes",
            "deadline.date": "2026-12-31",
            "deadline.reason": "The logs rotate on 2027-01-01.",
        },
        "matter": {
            "requesting_authority.name": AUTHORITY,
            "requesting_authority.contact": "+000 200 7247",
            "authorities.conducting": "",
            "authorities.validating": "Juzgado de Instrucción n.º 3 (demo)",
            "contacts.name": "Inés Duarte (demo), +000 200 7000",
            "contacts.backup": "",
            "contacts.office_hours": "08:00-20:00",
            "contacts.time_zone": "America/Montevideo",
            "references.own_reference": "BOR-CCU-2026-118 (demo)",
            "references.date": "2026-12-06",
            "references.earlier_requests": "",
            "references.earlier_contacts": "24/7 ticket 5521 (demo)",
            "offences.0.article": "7",
            "offences.0.name": "Acceso ilícito",
            "offences.0.max_penalty_years": "4,5",
            "offences.0.conduct": ["access"],
            "offences.0.elements": ["infringing_security_measures", "dishonest_intent"],
        },
        "facts": {"facts_summary": FACTS, "necessity": "The logs are kept 7 days only."},
        "data": {
            "data.0.category": "traffic",
            "data.0.identifiers.0.kind": "ip",
            "data.0.identifiers.0.value": " 203.0.113.7 ",
            "data.0.identifiers.0.port": "51234",
            "data.0.identifiers.0.timestamp": "2026-12-05T23:10",
            "data.0.identifiers.0.time_zone": "UTC",
            "data.0.identifiers.0.service": "",
            "data.0.identifiers.1.kind": "",
            "data.0.identifiers.1.value": "  198.51.100.23  ",
            "data.0.identifiers.2.kind": "",
            "data.0.identifiers.2.value": "",
            "data.0.period.start": "2026-12-05",
            "data.0.period.end": "2026-12-06",
            "data.0.custodian": "Aurelia Hosting (demo)",
            "data.0.location": "Aurelia",
            "data.0.relation_to_offence": "The address used for the access",
            "mla_to_follow": "yes",
            "confidential": "yes",
            "no_user_notice": "",
            "related_request": "",
        },
    }
    following = [*(f"/drafts/{ident}?step={s}" for s in PRESERVATION_STEPS[1:]), "preview"]
    for (step, fields), then in zip(steps.items(), following, strict=True):
        shown = rita.get(f"/drafts/{ident}?step={step}")
        assert shown.status_code == 200
        marks = Page(shown.text).marks()  # the fields this page carries, as a browser posts
        assert {name.split(".")[0] for name in fields} == set(marks)
        saved = save(rita, ident, step, fields, go="next", marks=marks)
        assert saved.status_code == 303, Page(saved.text).errors
        expected = f"/drafts/{ident}/preview" if then == "preview" else then
        assert saved.headers["location"] == expected

    document = stored(desk.store, ident)
    assert document == {
        "format": FORMAT,
        "kind": "preservation",
        "requesting_state": "XB",
        "requested_state": "XA",
        "urgency": "urgent",
        "channel": "point_of_contact",
        "language": "fr",
        "oral": True,
        "deadline": {"date": "2026-12-31", "reason": "The logs rotate on 2027-01-01."},
        "legal_basis": {"instrument": "reciprocity"},
        "requesting_authority": {"name": AUTHORITY, "contact": "+000 200 7247"},
        "authorities": {"validating": "Juzgado de Instrucción n.º 3 (demo)"},
        "contacts": {
            "name": "Inés Duarte (demo), +000 200 7000",
            "office_hours": "08:00-20:00",
            "time_zone": "America/Montevideo",
        },
        "references": {
            "own_reference": "BOR-CCU-2026-118 (demo)",
            "date": "2026-12-06",
            "earlier_contacts": ["24/7 ticket 5521 (demo)"],
        },
        "offences": [
            {
                "article": "7",
                "name": "Acceso ilícito",
                "max_penalty_years": 4.5,
                "conduct": ["access"],
                "elements": ["infringing_security_measures", "dishonest_intent"],
            }
        ],
        "facts_summary": FACTS,
        "necessity": "The logs are kept 7 days only.",
        "data": [
            {
                "category": "traffic",
                "identifiers": [
                    {
                        "kind": "ip",
                        "value": "203.0.113.7",
                        "port": 51234,
                        "timestamp": "2026-12-05T23:10",
                        "time_zone": "UTC",
                    },
                    "198.51.100.23",
                ],
                "period": {"start": "2026-12-05", "end": "2026-12-06"},
                "custodian": "Aurelia Hosting (demo)",
                "location": "Aurelia",
                "relation_to_offence": "The address used for the access",
            }
        ],
        "mla_to_follow": True,
        "confidential": True,
        "no_user_notice": False,
    }
    assert request_row(desk.store, ident).state == "draft"

    preview = rita.get(f"/drafts/{ident}/preview")
    assert preview.status_code == 200
    text = text_of(preview.text)
    assert "Request for expedited preservation of stored electronic data" in text
    assert "Under the United Nations Convention against Cybercrime, article 42" in text
    for typed in (
        AUTHORITY,
        "+000 200 7247",
        "Juzgado de Instrucción n.º 3 (demo)",
        "BOR-CCU-2026-118 (demo)",
        "America/Montevideo",
        "Reciprocity",
        "Borealis (demo State) (XB)",
        "Aurelia (demo State) (XA)",
        "24/7 point of contact",
        "2026-12-31: The logs rotate on 2027-01-01.",
        "made orally, to be confirmed in writing",
        "art. 7 (Accessing the whole or any part of an ICT system); Acceso ilícito, up to 4.5 years",
        FACTS,
        "The logs are kept 7 days only.",
        "Traffic data",
        "IP address: 203.0.113.7:51234 · 2026-12-05T23:10:00 UTC",
        "Identifier: 198.51.100.23",
        "Period of the data: 2026-12-05 \u2013 2026-12-06",
        "Custodian: Aurelia Hosting (demo)",
        "A request for mutual legal assistance will follow",
        "The request is to be kept confidential",
    ):
        assert typed in text, typed
    assert "<Unidad Cibercrimen>" not in preview.text  # escaped, not markup
    assert "&lt;Unidad Cibercrimen&gt;" in preview.text
    assert "The user is not to be notified" not in text
    assert 'action="/drafts/' + ident + '/send"' in preview.text
    assert Page(preview.text).summary == []
    # a requester's request: the node's default policy asks a supervisor's approval first
    assert "Check and ask for approval" in text and "Send the request" not in text

    before = count(desk.store, outbox)
    asked = rita.post(f"/drafts/{ident}/send", {})
    assert (asked.status_code, asked.headers["location"]) == (303, f"/requests/{ident}")
    assert request_row(desk.store, ident).state == "checked"
    assert count(desk.store, outbox) == before
    waiting = text_of(rita.get(f"/requests/{ident}").text)
    assert "Awaiting a supervisor's approval (node policy)" in waiting
    assert "Not allowed now: a supervisor must approve the request before it is sent" in waiting
    sam = desk.user("sam", "supervisor")
    approved = sam.post(f"/requests/{ident}/act", {"action": "approve"})
    assert approved.status_code == 303
    assert "Approved by sam at" in text_of(rita.get(f"/requests/{ident}").text)
    assert "Send the request" in text_of(rita.get(f"/drafts/{ident}/preview").text)

    sent = rita.post(f"/drafts/{ident}/send", {})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/requests/{ident}"
    row = request_row(desk.store, ident)
    assert row.state == "sent"
    # sent without a new check, which would have asked for a new approval
    assert [e.action for e in audit_entries(desk.store) if e.target == ident][-3:] == [
        "check",
        "approve",
        "send",
    ]
    assert stored(desk.store, ident) == document  # sent as typed
    with desk.store.engine.connect() as conn:
        messages = list(conn.execute(select(outbox).where(outbox.c.request_id == ident)))
    assert count(desk.store, outbox) == before + 1
    (message,) = messages
    assert (message.type, message.status) == ("request", "pending")
    payload = json.loads(message.payload)
    assert (payload["action"], payload["request"], payload["document"]) == (
        "send",
        row.uid,
        document,
    )
    assert rita.get(f"/requests/{ident}").status_code == 200
    again = rita.get(f"/drafts/{ident}?step=route")
    assert (again.status_code, again.headers["location"]) == (303, f"/requests/{ident}")


def test_the_preview_of_an_offence_without_a_penalty_names_no_years(web_desk: Desk) -> None:
    rita = web_desk.user("rita", "requester")
    ident = complete_draft(web_desk.store, "rita")  # offence: art. 7, no penalty typed
    preview = rita.get(f"/drafts/{ident}/preview")
    assert preview.status_code == 200
    text = text_of(preview.text)
    assert "art. 7 (Accessing the whole or any part of an ICT system)" in text
    assert "years" not in text


# --- bad input on every form, nothing lost ----------------------------------------------------


def test_a_new_draft_with_nothing_chosen_is_refused_at_each_field(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    refused = rita.post("/drafts/new", {"kind": "", "requested_state": "", "title": "Mine"})
    assert refused.status_code == 400
    page = Page(refused.text)
    assert page.errors == {
        "kind": "Choose the form of cooperation",
        "requested_state": "Choose the requested State",
    }
    first_form = next(iter(convention().forms))
    assert page.summary == [
        (f"#kind-{first_form}", "Choose the form of cooperation"),
        ("#requested_state", "Choose the requested State"),
    ]
    assert page.dangling() == []
    assert page.attrs("title")["value"] == "Mine"  # what was typed is kept
    assert page.attrs("requested_state").get("aria-invalid") == "true"
    assert count(desk.store, requests) == 0


def test_a_new_draft_to_our_own_state_is_refused(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    refused = rita.post(
        "/drafts/new",
        {"kind": "stored_data", "requested_state": "XB", "title": "To ourselves"},
    )
    assert refused.status_code == 400
    page = Page(refused.text)
    assert page.errors == {"requested_state": "Choose another State than your own"}
    assert page.summary == [("#requested_state", "Choose another State than your own")]
    assert page.dangling() == []
    assert "checked" in page.attrs("kind-stored_data")  # the form chosen is kept
    assert page.attrs("title")["value"] == "To ourselves"
    assert count(desk.store, requests) == 0


def test_a_new_draft_without_the_form_token_is_refused(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    for token in ({}, {"csrf": "forged"}):
        refused = rita.post(
            "/drafts/new", {**token, "kind": "preservation", "requested_state": "XA"}, csrf=False
        )
        assert refused.status_code == 400
        assert "This form had expired. Please try again." in Page(refused.text).summary_text
    assert count(desk.store, requests) == 0


def test_a_wrong_date_is_kept_as_typed_and_shown_to_be_corrected(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    refused = save(
        rita,
        ident,
        "route",
        {"deadline.date": "31/12/2026", "deadline.reason": "Trial"},
        go="next",
    )
    assert refused.status_code == 400
    assert stored(desk.store, ident)["deadline"] == {"date": "31/12/2026", "reason": "Trial"}
    page = Page(refused.text)
    field = page.attrs("f-deadline-date")
    assert (field["type"], field["value"]) == ("text", "31/12/2026")  # kept as typed
    assert field["aria-invalid"] == "true"
    assert page.errors["f-deadline-date"] == "Enter a real date, such as 2026-12-31"
    assert ("#f-deadline-date", "Enter a real date, such as 2026-12-31") in page.summary
    assert page.dangling() == []
    assert (f"/drafts/{ident}?step=matter", CONTINUE) in page.links
    # the step page shows it the same way later; a real date is echoed with the month in
    # words (a browser's date picker would show it in its own numeric order, 12/31/2026)
    later = rita.get(f"/drafts/{ident}?step=route").text
    assert (Page(later).attrs("f-deadline-date")["value"]) == "31/12/2026"
    assert 'class="date-in-words"' not in later
    assert save(rita, ident, "route", {"deadline.date": "2026-12-31"}).status_code == 303
    shown = rita.get(f"/drafts/{ident}?step=route").text
    fixed = Page(shown).attrs("f-deadline-date")
    assert (fixed["type"], fixed["value"]) == ("text", "2026-12-31")
    assert '<span class="date-in-words">December 31, 2026</span>' in shown
    assert "Year-month-day, e.g. 2026-12-31" in text_of(shown)


def test_a_penalty_typed_wrong_is_kept_and_reported_at_its_field(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    refused = save(
        rita,
        ident,
        "matter",
        {"offences.0.name": "Piratage", "offences.0.max_penalty_years": "abc"},
        go="next",
    )
    assert refused.status_code == 400
    assert stored(desk.store, ident)["offences"] == [
        {"name": "Piratage", "max_penalty_years": "abc"}
    ]
    page = Page(refused.text)
    field = page.attrs("f-offences-0-max_penalty_years")
    assert field["value"] == "abc"
    assert page.errors["f-offences-0-max_penalty_years"] == "Enter the number of years, such as 5"
    assert (
        "#f-offences-0-max_penalty_years",
        "Enter the number of years, such as 5",
    ) in page.summary
    assert page.dangling() == []
    assert (f"/drafts/{ident}?step=facts", CONTINUE) in page.links


@pytest.mark.parametrize("typed", ["nan", "inf", "1e400"])
def test_a_penalty_that_is_no_finite_number_leaves_the_draft_usable(desk: Desk, typed: str) -> None:
    rita = desk.user("rita", "requester", raise_server_exceptions=False)
    ident = new_draft(rita)
    saved = save(rita, ident, "matter", {"offences.0.max_penalty_years": typed}, go="next")
    assert saved.status_code in (303, 400)
    assert rita.get(f"/drafts/{ident}?step=matter").status_code == 200
    assert rita.get(f"/requests/{ident}").status_code == 200


def test_every_error_summary_link_lands_on_a_field_of_the_page(web_desk: Desk) -> None:
    """Every form, every step, continued with nothing typed: each link of the error summary
    and of the checks beside it points at an id the page has, and the page offers to
    continue anyway. (About the pages, so on SQLite only: saving is tested on both databases
    above.)"""
    carl = web_desk.user("carl", "central_authority_officer")
    refused_somewhere = 0
    for kind in convention().forms:
        ident = new_draft(carl, kind)
        first = Page(carl.get(f"/drafts/{ident}?step=route").text)
        prefix = f"/drafts/{ident}?step="
        others = [h.removeprefix(prefix) for h, _ in first.links if h.startswith(prefix)]
        for step in dict.fromkeys(["route", *(o for o in others if "#" not in o)]):
            shown = Page(carl.get(f"/drafts/{ident}?step={step}").text)
            answer = save(carl, ident, step, {}, go="next", marks=shown.marks())
            page = Page(answer.text)
            if answer.status_code == 303:
                assert page.summary == []
                continue
            refused_somewhere += 1
            assert answer.status_code == 400, (kind, step)
            assert page.summary, (kind, step)
            assert page.dangling() == [], (kind, step)
            live = re.search(r'<div id="live">(.*?)</aside>', answer.text, re.S)
            assert live is not None
            here = [h[1:] for h, _ in Page(live.group(1)).links if h.startswith("#")]
            assert here and not set(here) - set(page.ids), (kind, step)
            assert CONTINUE in [text for _, text in page.links], (kind, step)
    assert refused_somewhere >= len(convention().forms) * 2


def test_a_save_without_the_form_token_writes_nothing_and_keeps_what_was_typed(
    desk: Desk,
) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    before = snapshot(desk.store)
    refused = save(
        rita,
        ident,
        "facts",
        {"facts_summary": "Typed, then the session's token changed."},
        csrf=False,
    )
    assert refused.status_code == 400
    after = snapshot(desk.store)
    assert after["requests"] == before["requests"]
    assert (after["events"], after["outbox"]) == (before["events"], before["outbox"])
    assert "edit" not in [e.action for e in audit_entries(desk.store)]
    page = Page(refused.text)
    assert "Typed, then the session's token changed." in text_of(refused.text)
    assert page.attrs("f-facts_summary")  # the field is there to submit again


def test_a_text_past_its_limit_is_not_saved_and_the_page_names_the_field(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    before = snapshot(desk.store)
    refused = save(rita, ident, "facts", {"facts_summary": "x" * 50_001})
    assert refused.status_code == 422
    assert snapshot(desk.store)["requests"] == before["requests"]
    assert "edit" not in [e.action for e in audit_entries(desk.store)]
    shown = text_of(refused.text)
    assert "Not saved: a text or a list is longer than a request may hold" in shown
    assert "/facts_summary has 50,001 characters; at most 50,000 are accepted" in shown
    page = Page(refused.text)
    # there to shorten and save again; the browser stops typing at the schema's limit
    assert page.attrs("f-facts_summary")["maxlength"] == "50000"


def test_a_save_without_the_form_token_says_why(web_desk: Desk) -> None:
    rita = web_desk.user("rita", "requester")
    ident = new_draft(rita)
    refused = save(rita, ident, "facts", {"facts_summary": "x", "csrf": "forged"})
    assert refused.status_code == 400
    assert "This form had expired" in Page(refused.text).summary_text


# --- lists, check boxes, and what a page does not carry ---------------------------------------

LIST_CASES = {
    "offences": (
        "matter",
        lambda n: {
            f"offences.{n}.article": "",
            f"offences.{n}.name": f"Offence number {n}",
            f"offences.{n}.max_penalty_years": str(4 + n),
        },
        lambda n: {"name": f"Offence number {n}", "max_penalty_years": 4 + n},
        lambda n: {
            f"offences.{n}.article": "",
            f"offences.{n}.name": "",
            f"offences.{n}.max_penalty_years": " ",
        },
    ),
    "data": (
        "data",
        lambda n: {
            f"data.{n}.category": "subscriber",
            f"data.{n}.identifiers.0.kind": "email",
            f"data.{n}.identifiers.0.value": f"user{n}@example.org",
            f"data.{n}.identifiers.1.value": f"user{n}b@example.org",
            f"data.{n}.custodian": f"Provider {n}",
            f"data.{n}.location": "",
            f"data.{n}.relation_to_offence": "",
        },
        lambda n: {
            "category": "subscriber",
            "identifiers": [
                {"kind": "email", "value": f"user{n}@example.org"},
                f"user{n}b@example.org",
            ],
            "custodian": f"Provider {n}",
        },
        lambda n: {
            f"data.{n}.category": "",
            f"data.{n}.identifiers.0.kind": "",
            f"data.{n}.identifiers.0.value": " ",
            f"data.{n}.custodian": "",
            f"data.{n}.location": "  ",
            f"data.{n}.relation_to_offence": "",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(LIST_CASES))
def test_items_are_added_removed_and_an_all_blank_one_is_dropped(desk: Desk, name: str) -> None:
    step, typed, kept, blank = LIST_CASES[name]
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)

    added = save(rita, ident, step, typed(0), go=None, _add=name)
    assert added.status_code == 303
    assert added.headers["location"] == f"/drafts/{ident}?step={step}&add={name}#f-{name}"
    assert stored(desk.store, ident)[name] == [kept(0)]
    page = Page(rita.get(added.headers["location"]).text)
    assert f"f-{name}-1" in page.ids  # a second, blank item to fill
    second = f"f-{name}-1-custodian" if name == "data" else f"f-{name}-1-name"
    assert page.attrs(second)["value"] == ""
    one_item = Page(rita.get(f"/drafts/{ident}?step={step}").text)
    assert f"f-{name}-1" not in one_item.ids  # the blank one was never saved

    three = save(rita, ident, step, {**typed(0), **typed(1), **blank(2)})
    assert three.status_code == 303
    assert stored(desk.store, ident)[name] == [kept(0), kept(1)]  # the blank one dropped

    shown = Page(rita.get(f"/drafts/{ident}?step={step}").text)
    assert [b["value"] for b in shown.named("_remove", "button")] == [f"{name}.0", f"{name}.1"]
    removed = save(rita, ident, step, {**typed(0), **typed(1)}, go=None, _remove=f"{name}.0")
    assert removed.status_code == 303
    assert removed.headers["location"] == f"/drafts/{ident}?step={step}"
    assert stored(desk.store, ident)[name] == [kept(1)]

    emptied = save(rita, ident, step, blank(0))
    assert emptied.status_code == 303
    assert name not in stored(desk.store, ident)  # no item left: no field


def test_conduct_of_another_article_is_dropped_when_the_article_changes(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    first = {
        "offences.0.article": "7",
        "offences.0.conduct": ["access"],
        "offences.0.elements": ["infringing_security_measures", "dishonest_intent"],
    }
    assert save(rita, ident, "matter", first).status_code == 303
    assert stored(desk.store, ident)["offences"] == [
        {
            "article": "7",
            "conduct": ["access"],
            "elements": ["infringing_security_measures", "dishonest_intent"],
        }
    ]
    # the article changes to 8 (illegal interception); the boxes ticked under 7 are posted too
    changed = {**first, "offences.0.article": "8"}
    changed["offences.0.conduct"] = ["access", "intercept"]
    assert save(rita, ident, "matter", changed).status_code == 303
    assert stored(desk.store, ident)["offences"] == [
        {"article": "8", "conduct": ["intercept"], "elements": ["dishonest_intent"]}
    ]
    page = Page(rita.get(f"/drafts/{ident}?step=matter").text)
    assert "f-offences-0-conduct-intercept" in page.ids
    assert "f-offences-0-conduct-access" not in page.ids
    # no article at all: no conduct to tick, none kept
    national = {
        "offences.0.article": "",
        "offences.0.name": "Computer trespass",
        "offences.0.conduct": ["intercept"],
        "offences.0.elements": ["dishonest_intent"],
    }
    assert save(rita, ident, "matter", national).status_code == 303
    assert stored(desk.store, ident)["offences"] == [{"name": "Computer trespass"}]


def test_unchecked_boxes_save_as_false(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    ticked = {"confidential": "yes", "no_user_notice": "yes", "mla_to_follow": "no"}
    assert save(rita, ident, "data", ticked).status_code == 303
    document = stored(desk.store, ident)
    assert (document["confidential"], document["no_user_notice"]) == (True, True)
    assert document["mla_to_follow"] is False  # "No" is an answer, not a blank
    page = Page(rita.get(f"/drafts/{ident}?step=data").text)
    assert "checked" in page.attrs("f-confidential")
    assert "checked" in page.attrs("f-mla_to_follow-no")

    # the boxes unticked: a browser posts nothing for them, only the page's markers
    cleared = save(
        rita,
        ident,
        "data",
        {"mla_to_follow": ""},
        marks=("confidential", "no_user_notice", "mla_to_follow"),
    )
    assert cleared.status_code == 303
    document = stored(desk.store, ident)
    assert (document["confidential"], document["no_user_notice"]) == (False, False)
    assert "mla_to_follow" not in document  # "Not said yet"
    assert save(rita, ident, "route", {}, marks=("oral",)).status_code == 303
    assert stored(desk.store, ident)["oral"] is False


def test_fields_not_on_the_posted_page_are_untouched(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    first = save(rita, ident, "data", {"confidential": "yes", "mla_to_follow": "yes"})
    assert first.status_code == 303
    assert save(rita, ident, "facts", {"facts_summary": "The facts."}).status_code == 303
    before = stored(desk.store, ident)

    # the data page as another form of it might post: data only, no marker for the boxes
    partial = save(
        rita,
        ident,
        "data",
        {"data.0.category": "content", "data.0.custodian": "Mail provider"},
        marks=("data",),
    )
    assert partial.status_code == 303
    after = stored(desk.store, ident)
    assert after["data"] == [{"category": "content", "custodian": "Mail provider"}]
    assert {k: v for k, v in after.items() if k != "data"} == before

    # a field of another step posted here, even with its marker, is not this page's
    stray = save(
        rita,
        ident,
        "data",
        {"facts_summary": "Overwritten?", "requesting_authority.name": "Someone"},
    )
    assert stray.status_code == 303
    assert stored(desk.store, ident) == after


# --- the live checks --------------------------------------------------------------------------


def _live_counts(fragment: str) -> tuple[int, int]:
    found = re.search(r"(\d+) errors?, (\d+) warnings?", text_of(fragment))
    assert found, fragment[:300]
    return int(found.group(1)), int(found.group(2))


def test_the_live_check_answers_findings_and_writes_nothing(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    shown = rita.get(f"/drafts/{ident}?step=matter")
    base = document_field(shown.text)
    assert json.loads(base) == stored(desk.store, ident)
    before, entries = snapshot(desk.store), len(audit_entries(desk.store))

    url = f"/drafts/{ident}/check?step=matter"
    blank = rita.post(url, {"_document": base, "_has.requesting_authority": "1"})
    typed = rita.post(
        url,
        {
            "_document": base,
            "_has.requesting_authority": "1",
            "requesting_authority.name": "Borealis Police",
        },
    )
    for answer in (blank, typed):
        assert answer.status_code == 200
        assert "<html" not in answer.text  # a fragment for htmx, not a page
        assert "On this step" in answer.text
        assert "Elsewhere in the request" in answer.text
        # an article key the data has not verified carries its mark here too (issue 23)
        assert re.search(
            r"art\.\s*<bdi dir=\"ltr\">42\(2\)\(b\)</bdi></a>\s*<span class=\"tag urgent\">para\. number unconfirmed",
            answer.text,
        ), answer.text[:2000]
    blank_links = [h for h, _ in Page(blank.text).links]
    typed_links = [h for h, _ in Page(typed.text).links]
    assert "#f-requesting_authority-name" in blank_links
    assert "#f-requesting_authority-name" not in typed_links  # typed: no longer missing
    assert "#f-requesting_authority-contact" in typed_links
    errors_blank, warnings_blank = _live_counts(blank.text)
    assert _live_counts(typed.text) == (errors_blank - 1, warnings_blank)
    # a finding of another step links to that step's page
    assert f"/drafts/{ident}?step=facts#f-facts_summary" in typed_links

    assert snapshot(desk.store) == before
    assert len(audit_entries(desk.store)) == entries


def test_the_live_check_refuses_a_missing_form_token_and_an_anonymous_user(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    url = f"/drafts/{ident}/check?step=matter"
    document = json.dumps(stored(desk.store, ident))
    sam = desk.user("sam", "supervisor")
    before = snapshot(desk.store)
    assert rita.post(url, {"_document": document}, csrf=False).status_code == 400
    forged = {"csrf": "forged", "_document": document}
    assert rita.post(url, forged, csrf=False).status_code == 400
    anonymous = desk.anonymous().post(url, data={"_document": document, "csrf": rita.csrf})
    assert anonymous.status_code == 401
    assert sam.post(url, {"_document": document}).status_code == 403
    assert snapshot(desk.store) == before


@pytest.mark.parametrize(
    "document",
    [
        "",
        "not json",
        "[]",
        "null",
        "5",
        '"preservation"',
        '{"kind": "wiretap"}',
        '{"format": 1}',
        '{"kind": "preservation", "facts_summary": ' + "[" * 100_000,  # never parsed: no 500
    ],
)
def test_the_live_check_refuses_a_document_that_is_not_a_request(
    web_desk: Desk, document: str
) -> None:
    rita = web_desk.user("rita", "requester")
    answer = rita.post("/drafts/R-000001/check?step=route", {"_document": document})
    assert answer.status_code == 400
    assert answer.text == "The page is out of date; reload it."


@pytest.mark.parametrize("document", ['{"kind": ["preservation"]}', '{"kind": {}}'])
def test_the_live_check_refuses_a_kind_that_is_not_a_string(web_desk: Desk, document: str) -> None:
    rita = web_desk.user("rita", "requester", raise_server_exceptions=False)
    answer = rita.post("/drafts/R-000001/check?step=route", {"_document": document})
    assert answer.status_code == 400


# --- who drafts what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "node_admin"])
def test_roles_that_do_not_draft_are_refused(desk: Desk, role: str) -> None:
    user = desk.user("someone", role)
    form = user.get("/drafts/new")
    assert form.status_code == 403
    assert "Your role does not draft requests" in form.text
    made = user.post("/drafts/new", {"kind": "preservation", "requested_state": "XA"})
    assert made.status_code == 403
    assert count(desk.store, requests) == 0
    ident = complete_draft(desk.store, "rita")
    for url in (f"/drafts/{ident}?step=route", f"/drafts/{ident}/preview"):
        assert user.get(url).status_code == 403
    assert user.post(f"/drafts/{ident}/send", {}).status_code == 403
    assert request_row(desk.store, ident).state == "draft"


def test_anonymous_is_sent_to_log_in(web_desk: Desk) -> None:
    answer = web_desk.anonymous().get("/drafts/new")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=%2Fdrafts%2Fnew")


def _kinds_offered(text: str) -> list[str]:
    return [a["value"] for a in Page(text).named("kind") if a.get("type") == "radio"]


def test_a_duty_officer_drafts_only_the_24_7_forms(desk: Desk) -> None:
    assert sorted(DESK_FORMS) == sorted(access.desk_kinds())
    dora = desk.user("dora", "duty_officer")
    form = dora.get("/drafts/new")
    assert form.status_code == 200
    assert _kinds_offered(form.text) == DESK_FORMS
    refused = dora.post("/drafts/new", {"kind": "mla_general", "requested_state": "XA"})
    assert refused.status_code == 400
    page = Page(refused.text)
    assert page.errors == {"kind": "Choose the form of cooperation"}
    assert page.dangling() == []
    assert count(desk.store, requests) == 0
    ident = new_draft(dora, "emergency_disclosure")
    assert stored(desk.store, ident)["urgency"] == "emergency"
    assert dora.get(f"/drafts/{ident}?step=route").status_code == 200

    rita = desk.user("rita", "requester")
    assert _kinds_offered(rita.get("/drafts/new").text) == list(convention().forms)


def test_a_requester_cannot_open_another_users_draft(desk: Desk) -> None:
    rex = desk.user("rex", "requester")
    theirs = new_draft(rex)
    assert save(rex, theirs, "facts", {"facts_summary": "Rex's facts."}).status_code == 303
    rita = desk.user("rita", "requester")
    before = snapshot(desk.store)
    for suffix in ("", "?step=matter", "/preview"):
        other, missing = (
            rita.get(f"/drafts/{theirs}{suffix}"),
            rita.get(f"/drafts/{MISSING}{suffix}"),
        )
        assert other.status_code == missing.status_code == 404
        # byte for byte the same page, but for the id in the address (echoed by the
        # language form's "next" field, which the reader typed anyway)
        assert other.text.replace(theirs, MISSING) == missing.text
        assert other.text.count(theirs) == missing.text.count(MISSING) <= 1
        assert "No such draft" in other.text
        assert "Rex's facts." not in other.text
    saved = save(rita, theirs, "facts", {"facts_summary": "Rita's facts."})
    sent = rita.post(f"/drafts/{theirs}/send", {})
    assert saved.status_code == sent.status_code == 404
    after = snapshot(desk.store)
    assert (after["requests"], after["events"], after["outbox"]) == (
        before["requests"],
        before["events"],
        before["outbox"],
    )
    assert stored(desk.store, theirs)["facts_summary"] == "Rex's facts."


def test_a_sent_request_is_no_longer_a_draft(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = complete_draft(desk.store, "rita")
    send_by_service(desk.store, ident, "rita")
    for url in (f"/drafts/{ident}", f"/drafts/{ident}?step=facts", f"/drafts/{ident}/preview"):
        answer = rita.get(url)
        assert (answer.status_code, answer.headers["location"]) == (303, f"/requests/{ident}")


def test_saving_a_draft_sent_meanwhile_answers_409_and_changes_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent by another tab between the page's read of the draft and its save."""
    rita = desk.user("rita", "requester")
    ident = complete_draft(desk.store, "rita")
    revise = case_service.revise

    def sent_first(*args: Any, **kw: Any) -> Any:
        send_by_service(desk.store, ident, "rita")
        return revise(*args, **kw)

    monkeypatch.setattr(case_service, "revise", sent_first)
    saved = save(rita, ident, "facts", {"facts_summary": "Changed too late."}, go="next")
    assert saved.status_code == 409
    assert "the request is no longer a draft" in saved.text
    monkeypatch.undo()
    row = request_row(desk.store, ident)
    assert (row.state, json.loads(row.document)) == ("sent", COMPLETE)
    assert [e.action for e in audit_entries(desk.store) if e.target == ident][-3:] == [
        "check",
        "approve",
        "send",
    ]


def test_saving_a_step_page_opened_before_the_send_answers_409(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = complete_draft(desk.store, "rita")
    assert rita.get(f"/drafts/{ident}?step=facts").status_code == 200
    send_by_service(desk.store, ident, "rita")  # in another tab
    saved = save(rita, ident, "facts", {"facts_summary": "Typed in the first tab."}, go="next")
    assert stored(desk.store, ident) == COMPLETE
    assert saved.status_code == 409


# --- the preview's send -----------------------------------------------------------------------


def test_a_draft_with_errors_offers_no_send_and_a_forced_send_leaves_it_a_draft(
    desk: Desk,
) -> None:
    rita = desk.user("rita", "requester")
    incomplete = {k: v for k, v in COMPLETE.items() if k != "necessity"}
    ident = complete_draft(desk.store, "rita", incomplete)
    preview = rita.get(f"/drafts/{ident}/preview")
    assert preview.status_code == 200
    assert f'action="/drafts/{ident}/send"' not in preview.text
    assert "Correct the errors above to send the request" in preview.text
    page = Page(preview.text)
    assert (
        f"/drafts/{ident}?step=facts#f-necessity",
        "Missing: The necessity of the preservation (42(2)(e))",
    ) in page.summary

    before = snapshot(desk.store)
    forced = rita.post(f"/drafts/{ident}/send", {})
    assert forced.status_code == 400
    forced_page = Page(forced.text)
    assert "hanoinet check" in forced_page.summary_text  # the lifecycle's refusal, shown
    assert (f"/drafts/{ident}?step=facts#f-necessity", page.summary[0][1]) in forced_page.summary
    after = snapshot(desk.store)
    assert (after["requests"], after["events"], after["outbox"]) == (
        before["requests"],
        before["events"],
        before["outbox"],
    )
    assert request_row(desk.store, ident).state == "draft"


def test_the_send_refuses_a_missing_form_token(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = complete_draft(desk.store, "rita")
    before = snapshot(desk.store)
    for data in ({}, {"csrf": "forged"}):
        refused = rita.post(f"/drafts/{ident}/send", data, csrf=False)
        assert refused.status_code == 400
        assert "This form had expired. Please try again." in Page(refused.text).summary_text
    after = snapshot(desk.store)
    assert (after["requests"], after["events"], after["outbox"]) == (
        before["requests"],
        before["events"],
        before["outbox"],
    )
    assert request_row(desk.store, ident).state == "draft"


# --- every page reads the draft through the audited show --------------------------------------


def test_every_step_page_and_the_preview_is_an_audited_read(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = complete_draft(desk.store, "rita")
    case_id = request_row(desk.store, ident).case_id
    urls = [*(f"/drafts/{ident}?step={s}" for s in PRESERVATION_STEPS), f"/drafts/{ident}/preview"]
    for url in urls:
        before = len(audit_entries(desk.store))
        assert rita.get(url).status_code == 200, url
        new_entries = audit_entries(desk.store)[before:]
        assert [(e.action, e.actor, e.target, e.legal_basis) for e in new_entries] == [
            ("read", "rita", case_id, "42")
        ], url
        assert json.loads(new_entries[0].detail) == {"requests": [ident]}
    with desk.store.engine.connect() as conn:
        assert audit_log.verify(conn).ok


def test_the_legal_basis_is_asked_where_the_request_goes_and_satisfies_art_65(
    desk: Desk,
) -> None:
    """While the Convention is not in force between the two States (65), the wizard asks what
    else the request rests on; a treaty named there answers the warning."""
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    page = Page(rita.get(f"/drafts/{ident}?step=route").text)
    assert page.attrs("f-legal_basis-instrument")
    url = f"/drafts/{ident}/check?step=route"
    before = rita.post(url, {"_document": json.dumps(stored(desk.store, ident))})
    assert "rely on another legal basis" in text_of(before.text)
    assert "#f-legal_basis-instrument" in [h for h, _ in Page(before.text).links]
    saved = save(
        rita,
        ident,
        "route",
        {
            "legal_basis.instrument": "treaty",
            "legal_basis.name": "Aurelia-Borealis Treaty on Mutual Legal Assistance (demo)",
            "legal_basis.article": "art. 3",
        },
    )
    assert saved.status_code == 303
    assert stored(desk.store, ident)["legal_basis"] == {
        "instrument": "treaty",
        "name": "Aurelia-Borealis Treaty on Mutual Legal Assistance (demo)",
        "article": "art. 3",
    }
    after = rita.post(url, {"_document": json.dumps(stored(desk.store, ident))})
    said = text_of(after.text)
    assert "rely on another legal basis" not in said
    assert "the request rests on the treaty Aurelia-Borealis Treaty" in said


def test_contacts_and_references_are_asked_with_the_requesting_authority(desk: Desk) -> None:
    rita = desk.user("rita", "requester")
    ident = new_draft(rita)
    page = Page(rita.get(f"/drafts/{ident}?step=matter").text)
    for ident_ in (
        "f-contacts-name",
        "f-contacts-time_zone",
        "f-references-own_reference",
        "f-references-date",
        "f-references-earlier_requests",
    ):
        assert page.attrs(ident_), ident_
    saved = save(
        rita,
        ident,
        "matter",
        {
            "contacts.name": "Ana Lima (demo), +000 1 555",
            "contacts.time_zone": "Europe/Paris",
            "references.own_reference": "AUR-2026-0042 (demo)",
            "references.date": "2026-12-01",
            "references.earlier_requests": "R-000007\nAUR-2026-0040 (demo)",
        },
    )
    assert saved.status_code == 303
    document = stored(desk.store, ident)
    assert document["contacts"] == {
        "name": "Ana Lima (demo), +000 1 555",
        "time_zone": "Europe/Paris",
    }
    assert document["references"] == {
        "own_reference": "AUR-2026-0042 (demo)",
        "date": "2026-12-01",
        "earlier_requests": ["R-000007", "AUR-2026-0040 (demo)"],
    }


def test_a_request_to_a_state_without_a_node_is_sent_by_the_means_chosen(
    web_desk: Desk,
) -> None:
    """Dorado (XD) runs no node: the preview asks how the request goes; the diplomatic
    channel records the dispatch with its reference, and the case page lists the letter with
    the formal document it carried, downloaded through an audited read (issue 24)."""
    dora = web_desk.user("dora", "duty_officer")
    ident = complete_draft(web_desk.store, "dora", {**COMPLETE, "requested_state": "XD"})
    preview = dora.get(f"/drafts/{ident}/preview")
    assert preview.status_code == 200
    text = text_of(preview.text)
    assert "How the request goes" in text and "runs no node in the directory" in text
    assert "By e-mail to 247@policia.dorado.example" in text
    assert "This node has no mail server set" in text  # e-mail offered only with one
    page = Page(preview.text)
    assert page.named("means")[0].get("disabled") is not None
    unchosen = dora.post(f"/drafts/{ident}/send", {})
    assert unchosen.status_code == 400 and "Choose how the request goes" in unchosen.text
    assert request_row(web_desk.store, ident).state in ("draft", "checked")
    no_reference = dora.post(f"/drafts/{ident}/send", {"means": "diplomatic"})
    assert no_reference.status_code == 400 and "needs its reference" in no_reference.text
    assert request_row(web_desk.store, ident).state == "checked"  # checked, not sent
    sent = dora.post(
        f"/drafts/{ident}/send", {"means": "diplomatic", "reference": "Note verbale 9/2026"}
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/requests/{ident}"
    row = request_row(web_desk.store, ident)
    assert (row.state, row.means) == ("sent", "diplomatic")
    case = dora.get(f"/requests/{ident}")
    letters = text_of(case.text)
    assert "Letters and e-mails" in letters and "Note verbale 9/2026" in letters
    assert "Dispatch recorded" in letters
    link = re.search(rf'href="(/requests/{ident}/attachments/\d+)">request-{ident}.pdf', case.text)
    assert link, case.text
    pdf = dora.get(link.group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"].startswith("attachment")
    with web_desk.store.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit.c.action))]
    assert "dispatch.sent" in actions and "attachment.read" in actions


def test_an_approved_request_to_a_state_without_a_node_is_sent_from_its_case_page(
    web_desk: Desk,
) -> None:
    """A requester's request waits for a supervisor's approval (node policy); once approved,
    its case page asks how it goes to Dorado, which runs no node (issue 24)."""
    rita = web_desk.user("rita", "requester")
    web_desk.user("sam", "supervisor")
    ident = complete_draft(web_desk.store, "rita", {**COMPLETE, "requested_state": "XD"})
    asked = rita.post(f"/drafts/{ident}/send", {})
    assert asked.status_code == 303 and request_row(web_desk.store, ident).state == "checked"
    case_service.act(web_desk.store, ident, "approve", actor="sam", at=T0)
    page = rita.get(f"/requests/{ident}")
    assert "How the request goes" in text_of(page.text)
    assert 'name="means" value="courier"' in page.text
    sam = web_desk.user("sam2", "supervisor")  # reads and approves; does not send
    refused = sam.post(
        f"/requests/{ident}/act", {"action": "send", "means": "courier", "reference": "W 1"}
    )
    assert refused.status_code == 403
    assert request_row(web_desk.store, ident).state == "checked"
    unchosen = rita.post(f"/requests/{ident}/act", {"action": "send"})
    assert unchosen.status_code == 400 and "Choose how the request goes" in unchosen.text
    assert 'href="#f-means"' in unchosen.text
    assert request_row(web_desk.store, ident).state == "checked"
    sent = rita.post(
        f"/requests/{ident}/act",
        {"action": "send", "means": "courier", "reference": "Waybill 1Z999 (demo)"},
    )
    assert sent.status_code == 303, sent.text
    row = request_row(web_desk.store, ident)
    assert (row.state, row.means) == ("sent", "courier")
    assert count(web_desk.store, outbox) == 0


def test_what_a_state_without_a_node_sent_is_recorded_from_the_case_page(
    web_desk: Desk,
) -> None:
    """Its letter moves the request as its node's message would, the scan kept with it; a file
    that is not what its name says, or a date that is none, changes nothing (issue 24)."""
    from hanoinet.services.outside import send_outside

    carl = web_desk.user("carl", "central_authority_officer")
    ident = complete_draft(web_desk.store, "carl", {**COMPLETE, "requested_state": "XD"})
    case_service.act(web_desk.store, ident, "check", actor="carl", at=T0)
    ctx = web_desk.app.state.web.ctx
    send_outside(ctx, ident, means="post", reference="RR 7", actor="carl", at=T0)
    page = carl.get(f"/requests/{ident}")
    assert "Record what the other State sent" in text_of(page.text)
    assert 'enctype="multipart/form-data"' in page.text
    assert Page(page.text).options[f"letter-action-{ident}"][:1] == ["acknowledge"]

    def record(content: bytes, name: str = "ack.pdf", **fields: str) -> Any:
        data = {"csrf": carl.csrf, "action": "acknowledge", "means": "post", **fields}
        return carl.client.post(
            f"/requests/{ident}/letters",
            data=data,
            files={"scan": (name, content, "application/octet-stream")},
        )

    fake = record(b"<html>no</html>")
    assert fake.status_code == 400 and "ack.pdf is not a PDF" in fake.text
    no_date = record(b"%PDF-1.7 scan", received_on="the 24th")
    assert no_date.status_code == 400 and "Enter a real date" in no_date.text
    assert request_row(web_desk.store, ident).state == "sent"
    done = record(b"%PDF-1.7 scan", received_on="2026-11-24", reference="DOR/77")
    assert done.status_code == 303, done.text
    assert request_row(web_desk.store, ident).state == "acknowledged"
    letters = text_of(carl.get(f"/requests/{ident}").text)
    assert "Received: Acknowledge" in letters and "DOR/77" in letters and "ack.pdf" in letters


def test_a_step_on_a_request_outside_the_network_is_sent_as_a_letter_from_the_case_page(
    web_desk: Desk,
) -> None:
    """A status enquiry to Dorado waits as a letter to send: printed from the case page, then
    recorded as posted with its reference (issue 24). A letter with no reference, or one sent
    already, is refused in words; nothing changes."""
    from hanoinet.services.outside import dispatches_of, send_outside

    carl = web_desk.user("carl", "central_authority_officer")
    ident = complete_draft(web_desk.store, "carl", {**COMPLETE, "requested_state": "XD"})
    case_service.act(web_desk.store, ident, "check", actor="carl", at=T0)
    ctx = web_desk.app.state.web.ctx
    send_outside(ctx, ident, means="post", reference="RR 7", actor="carl", at=T0)
    asked = carl.post(f"/requests/{ident}/act", {"action": "status_enquiry"})
    assert asked.status_code == 303, asked.text
    [_, owed] = dispatches_of(web_desk.store, ident)
    assert (owed.action, owed.status) == ("status_enquiry", "to_send")
    page = carl.get(f"/requests/{ident}")
    shown = text_of(page.text)
    assert "To send" in shown and "Send the letter: Ask for the status" in shown
    assert Page(page.text).options[f"send-{owed.id}-means"] == [
        "post",
        "courier",
        "diplomatic",
    ]  # no mail server
    printed = carl.client.get(f"/requests/{ident}/letters/{owed.id}/document")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF-")
    assert printed.headers["content-disposition"].startswith("attachment")
    url = f"/requests/{ident}/letters/{owed.id}/send"
    unnamed = carl.post(url, {"means": "post"})
    assert unnamed.status_code == 400 and "Give the letter's reference" in text_of(unnamed.text)
    assert "--reference" not in unnamed.text
    assert dispatches_of(web_desk.store, ident)[1].status == "to_send"
    posted = carl.post(url, {"means": "post", "reference": "RR 8"})
    assert posted.status_code == 303, posted.text
    [_, sent] = dispatches_of(web_desk.store, ident)
    assert (sent.status, sent.reference) == ("recorded", "RR 8")
    assert [f.filename for f in sent.files] == [f"letter-{ident}-status_enquiry.pdf"]
    again = carl.post(url, {"means": "post", "reference": "RR 9"})
    assert again.status_code == 400 and "the letter went already" in again.text
    assert "hanoinet case" not in again.text
    missing = carl.post(
        f"/requests/{ident}/letters/99999/send", {"means": "post", "reference": "X"}
    )
    assert missing.status_code == 404 and "There is no such letter to send" in missing.text
    huge = carl.post(f"/requests/{ident}/letters/{10**22}/send", {"means": "post"})
    assert huge.status_code == 404 and "There is no such letter to send" in huge.text


def test_a_letter_from_a_state_without_a_node_is_typed_in_and_registered_as_received(
    web_desk: Desk,
) -> None:
    """Dorado's request came by the diplomatic bag: the officer starts a draft "sent by
    letter" from Dorado, types it in the wizard, and registers it from the preview with the
    scanned note; it is then the request received, on the same id (issue 24 item 4). A
    scan that is not what it says, or no way it came, changes nothing."""
    from hanoinet.services.outside import dispatches_of

    carl = web_desk.user("carl", "central_authority_officer")
    rita = web_desk.user("rita", "requester")
    assert "letter_from" not in Page(rita.get("/drafts/new").text).options  # not her work
    options = Page(carl.get("/drafts/new").text).options["letter_from"]
    assert options == ["", "XC", "XD"]  # those that run no node here and published where
    wrong = carl.post("/drafts/new", {"kind": "preservation", "letter_from": "XA"})
    assert wrong.status_code == 400 and "Choose a State that runs no node" in wrong.text
    made = carl.post("/drafts/new", {"kind": "preservation", "letter_from": "XD"})
    assert made.status_code == 303
    ident = re.search(r"/drafts/(R-\d+)", made.headers["location"]).group(1)  # type: ignore[union-attr]
    started = json.loads(request_row(web_desk.store, ident).document)
    assert (started["requesting_state"], started["requested_state"]) == ("XD", "XB")
    # typed in as the wizard would (every step), then previewed: registered, not sent
    case_service.edit(
        web_desk.store, ident,
        json.dumps({**COMPLETE, "requesting_state": "XD", "requested_state": "XB",
                    "requesting_authority": {"name": "Fiscalía de Dorado (demo)"}}),
        actor="carl", at=T0,
    )  # fmt: skip
    preview = carl.get(f"/drafts/{ident}/preview")
    shown = text_of(preview.text)
    assert "Register it as received" in shown and "Send the request" not in shown

    def register(content: bytes, name: str = "note.pdf", **fields: str) -> Any:
        data = {"csrf": carl.csrf, "means": "diplomatic", "received_on": "2026-11-23", **fields}
        return carl.client.post(
            f"/drafts/{ident}/register",
            data=data,
            files={"scan": (name, content, "application/octet-stream")},
        )

    fake = register(b"<html>no</html>")
    assert fake.status_code == 400 and "It cannot be registered as it is" in text_of(fake.text)
    # ... nor sent from the wizard as this node's own request
    sent = carl.post(f"/drafts/{ident}/send", {})
    assert sent.status_code == 400 and "register it as received" in text_of(sent.text)
    assert request_row(web_desk.store, ident).state == "draft"
    unsaid = register(b"%PDF-1.7 note", means="")
    assert unsaid.status_code == 400 and "Choose how the letter came" in unsaid.text
    assert request_row(web_desk.store, ident).direction == "outgoing"
    done = register(b"%PDF-1.7 note", reference="NV 45/2026 (demo)")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/requests/{ident}?done=receive"
    row = request_row(web_desk.store, ident)
    assert (row.direction, row.state, row.means) == ("incoming", "received", "diplomatic")
    [came] = dispatches_of(web_desk.store, ident)
    assert (came.direction, came.action, came.reference) == ("in", "receive", "NV 45/2026 (demo)")
    assert [f.filename for f in came.files] == ["note.pdf"]
    # It is worked as any received request: acknowledged, and Dorado owed a letter.
    acked = carl.post(f"/requests/{ident}/act", {"action": "acknowledge"})
    assert acked.status_code == 303
    assert [(x.direction, x.action, x.status) for x in dispatches_of(web_desk.store, ident)] == [
        ("in", "receive", "received"),
        ("out", "acknowledge", "to_send"),
    ]
    register(b"%PDF-1.7 note")  # no longer a draft: shown as it is, nothing registered again
    assert request_row(web_desk.store, ident).state == "acknowledged"
    assert len(dispatches_of(web_desk.store, ident)) == 2
