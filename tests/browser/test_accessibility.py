"""Every page of the web desk passes axe-core with no violation at all, of any impact, in English
and in Arabic (right to left). One node on loopback, served by uvicorn, seeded with requests in
several states both ways, evidence, findings and clocks, and a user of each role; one Debian
chromium driven by Playwright. Each page is saved as test-artifacts/screenshots/a11y-<page>-<lang>.png.

No axe rule is disabled: the statistics page's Chart.js canvases are images with a text
alternative and the same figures in a table beside them, which axe accepts as they are."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
from argon2 import PasswordHasher
from axe_playwright_python.base import AXE_FILE_PATH
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store, open_store
from hanoinet.store.schema import evidence
from hanoinet.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PASSWORD = "correct horse battery staple"
LANGUAGES = ("en", "ar")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)


# --- the node and what it holds -----------------------------------------------------------------


def _document(name: str, *, outgoing: bool = False, **changes: Any) -> str:
    document = json.loads((EXAMPLES / f"{name}-xa-xb.json").read_text("utf-8"))
    if outgoing:  # the same request, sent by this node (Borealis) to Aurelia
        document["requesting_state"], document["requested_state"] = "XB", "XA"
    return json.dumps({**document, **changes})


def _package(
    store: Store, package: str, request_id: str, direction: str, state: str, at: datetime, **kw: Any
) -> None:
    size = kw.pop("size", 1_500_000)
    chunks = kw.pop("chunks", 10)
    with store.transaction() as conn:
        conn.execute(
            evidence.insert().values(
                id=package,
                request_id=request_id,
                direction=direction,
                peer_node="xa-ca",
                state=state,
                size=size,
                sha256="0" * 64,
                chunk_size=-(-size // chunks),
                chunks=chunks,
                next_chunk=kw.pop("next_chunk", chunks),
                offer="offer.jws.token",
                path=f"{package}.age",
                created_at=at,
                updated_at=at,
                **kw,
            )
        )


def _seed(store: Store, at: datetime) -> dict[str, str]:
    """Requests in several states, both ways, with evidence, findings and clocks; the ids."""

    def new(text: str, direction: Any, when: datetime = at, actor: str = "node:xa-ca") -> str:
        made = case_service.new_case(store, text, direction=direction, actor=actor, at=when)
        return made.request_id

    def act(ident: str, *actions: str, **params: str) -> None:
        for action in actions:
            case_service.act(store, ident, action, actor="carl", at=at, params=params or None)

    ids = {}
    # An emergency received three hours ago and not acknowledged: overdue on the desk.
    ids["emergency"] = new(_document("emergency"), "incoming", at - timedelta(hours=3))
    # A preservation acknowledged and preserved: its expiry clock runs.
    ids["preservation"] = new(_document("preservation"), "incoming")
    act(ids["preservation"], "acknowledge", "record_preserved")
    # An MLA request under consultation (a refusal can be tried on it), evidence going out.
    ids["mla"] = new(_document("mla"), "incoming")
    act(ids["mla"], "acknowledge")
    act(ids["mla"], "consult", reason="Partial assistance?")
    _package(store, "EV-xb-ca-000001", ids["mla"], "outgoing", "sending", at, next_chunk=3)
    # A request received with a field missing: the checks' findings show.
    ids["findings"] = new(_document("mla", purpose=None, facts_summary=""), "incoming")
    # An MLA request this node sent: evidence coming in, one accepted, one refused.
    ids["sent"] = new(_document("mla", outgoing=True), "outgoing", actor="carl")
    act(ids["sent"], "check", "send")
    _package(store, "EV-xa-ca-000001", ids["sent"], "incoming", "accepted", at)
    _package(
        store,
        "EV-xa-ca-000002",
        ids["sent"],
        "incoming",
        "refused",
        at,
        reason=json.dumps(
            [{"code": "damaged", "where": "EV-xa-ca-000002", "message": "a chunk is damaged"}]
        ),
    )
    # Drafts: one just begun as the new-request page begins it, one complete for the preview.
    begun = {"format": "hanoinet.request/1", "kind": "preservation", "urgency": "routine"}
    begun |= {"requesting_state": "XB", "requested_state": "XA"}
    ids["draft"] = new(json.dumps(begun), "outgoing", actor="carl")
    ids["complete"] = new(_document("preservation", outgoing=True), "outgoing", actor="carl")
    return ids


def _log_in(store: Store, username: str, role: str, at: datetime, *, set_up: bool = True) -> str:
    """A user of ``role`` and the cookie of their session (only half open without ``set_up``)."""
    initial = users.create_user(store, username, role, actor="admin", at=at)
    half = users.log_in(store, username, initial, at=at)
    if not set_up:
        return half.token
    assert half.pending_totp is not None
    code = pyotp.TOTP(half.pending_totp).at(at)
    return users.set_up(store, half.token, PASSWORD, PASSWORD, code, at=at).token


@dataclass
class Site:
    url: str
    ids: dict[str, str]
    pages: dict[str, Page]
    """Who visits: ``anonymous``, ``setup`` (a first log-in half done) and one per role; one
    tab each, in a context of its own, navigated from visit to visit (a new tab per visit and
    axe-core sent into each page cost about 0.6 s a visit)."""


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, serving: Any, free_port: Callable[[], int]
) -> Iterator[Site]:
    monkey = pytest.MonkeyPatch()  # argon2id at its cheapest: the set-up only
    monkey.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    at = datetime.now(UTC) - timedelta(minutes=5)
    keys = KeySet.generate(at - timedelta(days=1))
    port = free_port()
    entry = d.NodeEntry(
        id="xb-ca",
        state="XB",
        name="Borealis central authority (illustrative)",
        roles=("central_authority", "point_of_contact"),
        endpoint=f"http://127.0.0.1:{port}",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=at - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=at, valid_until=at + timedelta(days=30), nodes=(entry,)
    )
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'hanoinet.db'}")
    ids = _seed(store, at)
    cookies = {
        "setup": _log_in(store, "nina", "duty_officer", at, set_up=False),
        "duty": _log_in(store, "dora", "duty_officer", at),
        "officer": _log_in(store, "carl", "central_authority_officer", at),
        "supervisor": _log_in(store, "sam", "supervisor", at),
        "admin": _log_in(store, "ada", "node_admin", at),
        "requester": _log_in(store, "rita", "requester", at),
    }
    monkey.undo()
    url = f"http://127.0.0.1:{port}"
    try:
        with (
            serving(create_app(NodeContext("xb-ca", keys, directory, store)), port),
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            pages = {"anonymous": _tab(browser, url, None)}
            pages |= {who: _tab(browser, url, cookie) for who, cookie in cookies.items()}
            try:
                yield Site(url, ids, pages)
            finally:
                browser.close()
    finally:
        store.dispose()


def _tab(browser: Browser, url: str, cookie: str | None) -> Page:
    """A tab of its own context, with axe-core loaded into every page it opens (by the
    browser, as each document starts: the page's content security policy does not apply)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_init_script(path=AXE_FILE_PATH)
    if cookie is not None:
        context.add_cookies([{"name": "hanoinet_session", "value": cookie, "url": url}])
    return context.new_page()


# --- the pages ----------------------------------------------------------------------------------


def _post(page: Page, to: str, **fields: str) -> None:
    """Submit a form as the browser does (the CSRF token of the page shown), bypassing the
    browser's own checks of required fields, so the server's refusal is the page shown."""
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    page.evaluate(
        """([to, fields]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = to;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""",
        [to, {"csrf": token or "", **fields}],
    )
    page.wait_for_load_state("load")


def _refused_action(page: Page, site: Site) -> None:
    _post(page, f"/requests/{site.ids['mla']}/act", action="refuse", ground="", reason="")
    expect(page.locator(".error-summary")).to_be_visible()


def _refused_evidence(page: Page, site: Site) -> None:
    _post(page, "/evidence/EV-xb-ca-000001/verify")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


@dataclass(frozen=True)
class Visit:
    name: str
    who: str
    path: str
    """May name a request of the seed: ``{emergency}``."""
    then: Callable[[Page, Site], None] | None = None


VISITS = (
    Visit("login", "anonymous", "/login"),
    Visit("login-setup", "setup", "/login/setup"),
    Visit("desk", "duty", "/desk"),
    Visit("requests", "officer", "/requests"),
    Visit("case-emergency", "duty", "/requests/{emergency}"),
    Visit("case-preservation", "officer", "/requests/{preservation}"),
    Visit("case-mla", "officer", "/requests/{mla}"),
    Visit("case-findings", "officer", "/requests/{findings}"),
    Visit("case-outgoing", "officer", "/requests/{sent}"),
    Visit("case-supervisor", "supervisor", "/requests/{sent}"),
    Visit("draft-new", "officer", "/drafts/new"),
    Visit("draft-route", "officer", "/drafts/{draft}?step=route"),
    Visit("draft-matter", "officer", "/drafts/{draft}?step=matter"),
    Visit("draft-facts", "officer", "/drafts/{draft}?step=facts"),
    Visit("draft-data", "officer", "/drafts/{draft}?step=data"),
    Visit("draft-preview", "officer", "/drafts/{complete}/preview"),
    Visit("audit", "supervisor", "/audit"),
    Visit("users", "admin", "/users"),
    Visit("user", "admin", "/users/dora"),
    Visit("statistics", "supervisor", "/statistics"),
    Visit("article", "officer", "/convention/40"),
    Visit("public-treaty", "anonymous", "/public/treaty"),
    Visit("public-directory", "anonymous", "/public/directory"),
    Visit("not-found", "officer", "/no/such/page"),
    Visit("no-such-request", "officer", "/requests/XB-NOPE-1"),
    Visit("not-allowed", "requester", "/audit"),
    Visit("refused-action", "officer", "/requests/{mla}", _refused_action),
    Visit("refused-evidence", "officer", "/requests/{mla}", _refused_evidence),
)


def _violations(page: Page) -> list[str]:
    found = page.evaluate("axe.run({resultTypes: ['violations']}).then(r => r.violations)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("visit", VISITS, ids=lambda v: v.name)
def test_no_accessibility_violation(
    site: Site, visit: Visit, lang: str, shoot: Callable[[Page, str], None]
) -> None:
    page = site.pages[visit.who]
    path = visit.path.format(**site.ids)
    # The language switch sets the cookie (and a user's preference), then opens the page.
    page.goto(f"{site.url}/language?lang={lang}&next={quote(path)}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    if visit.then is not None:
        visit.then(page, site)
        expect(page.locator("html")).to_have_attribute("lang", lang)
    shoot(page, f"a11y-{visit.name}-{lang}")
    problems = _violations(page)
    assert problems == [], f"{visit.name} ({lang}, {page.url}): {problems}"
