"""The web desk in a real browser: Debian's chromium (/usr/bin/chromium) driven by Playwright,
against a node served by uvicorn on loopback. A duty officer logs in for the first time (new
password, TOTP authenticator), sees an emergency request on the 24/7 desk, acknowledges it with
one click, and opens the case; then the same in Arabic. A case page with evidence coming in: its
progress moves without a reload, and the polling ends with the transfer. The statistics page:
charts drawn by Chart.js with their tables, downloads, a bad period, Arabic. Every step is saved as
a screenshot in test-artifacts/screenshots/ and checked with axe-core (no serious or critical
violation)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "preservation-xa-xb.json"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)

# The helpers of tests/browser/conftest.py, reached as fixtures.
Step = Callable[[Page, str], None]
LogIn = Callable[[Page, str, str, str], None]
Deliver = Callable[[NodeContext], list[str]]
Serving = Callable[[Any, int], AbstractContextManager[None]]
LoneNode = Callable[[str, str], Any]
GlyphXs = Callable[[Page, str, str], list[float] | None]
ReadsLeftToRight = Callable[[Page, str, str], None]


@pytest.fixture
def node(
    tmp_path: Path, store_factory: Any, serving: Serving, lone_node: LoneNode
) -> Iterator[dict[str, Any]]:
    at, keys, port, directory = lone_node("xb-ca", "Borealis central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        document = json.loads(EXAMPLE.read_text("utf-8"))
        document["urgency"] = "emergency"
        created = case_service.new_case(
            store, json.dumps(document), direction="incoming", actor="node:xa-ca", at=at
        )
        password = users.create_user(store, "dora", "duty_officer", actor="admin", at=at)
        with serving(create_app(NodeContext("xb-ca", keys, directory, store)), port):
            yield {
                "url": f"http://127.0.0.1:{port}",
                "password": password,
                "request": created.request_id,
                "store": store,
            }


def test_first_log_in_desk_acknowledge_and_case_page(
    node: dict[str, Any], page: Page, step: Step
) -> None:
    url = node["url"]
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r".*/login$"))
    step(page, "01-login")
    page.get_by_label("User name").fill("dora")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_label("User name").input_value() == "dora"  # what was typed is kept
    step(page, "02-login-error")
    # The failure asked this client to wait a second before its next attempt is evaluated (the
    # server runs on the real clock here); a person retyping takes longer than that.
    page.wait_for_timeout(1100)
    page.get_by_label("Password").fill(node["password"])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r".*/login/setup$"))
    step(page, "03-setup")
    secret = page.locator("code.secret").inner_text().strip()
    page.get_by_label("New password", exact=True).fill("correct horse battery staple")
    page.get_by_label("New password again").fill("correct horse battery staple")
    page.get_by_label("Code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Save and log in").click()
    expect(page).to_have_url(re.compile(r".*/desk$"))
    row = page.get_by_role("row").filter(has_text=node["request"])
    expect(row.get_by_text("emergency")).to_be_visible()
    step(page, "04-desk")
    row.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(page).to_have_url(re.compile(r".*/desk$"))
    acknowledged = page.get_by_role("row").filter(has_text=node["request"])
    expect(acknowledged.get_by_text("acknowledged")).to_be_visible()
    step(page, "05-desk-acknowledged")
    acknowledged.get_by_role("link", name=node["request"]).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Record preservation executed")).to_be_visible()
    step(page, "06-case")
    # Keyboard only: the skip link is the first stop and takes focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    # The same desk in Arabic: right to left, and still no serious accessibility violation.
    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    step(page, "07-case-ar")
    page.goto(url + "/desk")
    step(page, "08-desk-ar")


# --- two nodes: draft, send, receive, acknowledge, preserve, receipts ---------------------------


def _next(page: Page) -> None:
    page.click(".actions button[value=next]")
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_draft_send_receive_acknowledge_preserve_and_the_receipts_come_back(
    two_nodes: dict[str, Any],
    lang: str,
    browser: Browser,
    step: Step,
    log_in: LogIn,
    deliver: Deliver,
    axe_in_pages: Callable[[BrowserContext], None],
) -> None:
    from hanoinet.web.render import translations

    t = translations(lang).ugettext
    url = two_nodes["url"]
    shot = f"flow-{lang}"
    contexts = []
    try:
        for node_url in (url["xa-ca"], url["xb-ca"], url["xa-ca"]):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            axe_in_pages(context)
            context.add_cookies([{"name": "hanoinet_lang", "value": lang, "url": node_url}])
            contexts.append(context)
        sender, receiver, approver = (c.new_page() for c in contexts)

        # Aurelia's requester drafts a preservation request to Borealis.
        log_in(sender, url["xa-ca"], "rita", two_nodes["passwords"]["rita"])
        sender.goto(url["xa-ca"] + "/drafts/new")
        expect(sender.locator("html")).to_have_attribute("dir", ("rtl" if lang == "ar" else "ltr"))
        step(sender, f"{shot}-01-new")
        sender.check("#kind-preservation")
        sender.select_option("#requested_state", "XB")
        sender.click("form[action='/drafts/new'] button[type=submit]")
        sender.wait_for_url("**/drafts/*?step=route")
        sender.check("#f-urgency-urgent")
        sender.select_option("#f-channel", "point_of_contact")
        sender.select_option("#f-language", "en")
        step(sender, f"{shot}-02-route")
        _next(sender)
        sender.fill("#f-requesting_authority-name", "Aurelia Cybercrime Centre (demo)")
        sender.fill("#f-requesting_authority-contact", "+000 100 7247")
        sender.select_option("#f-offences-0-article", "7")
        sender.click(".actions button[value=stay]")  # the article's conduct appears
        sender.check("#f-offences-0-conduct-access")
        step(sender, f"{shot}-03-matter")
        _next(sender)
        sender.fill("#f-facts_summary", "Intrusion into a hospital's systems (illustrative).")
        sender.fill("#f-necessity", "The logs are deleted after 30 days.")
        _next(sender)
        sender.select_option("#f-data-0-category", "traffic")
        sender.select_option("#f-data-0-identifiers-0-kind", "ip")
        sender.fill("#f-data-0-identifiers-0-value", "203.0.113.7")
        sender.fill("#f-data-0-identifiers-0-timestamp", "2026-11-20T02:14")
        sender.fill("#f-data-0-identifiers-0-time_zone", "UTC")
        sender.fill("#f-data-0-relation_to_offence", "The intruder's address.")
        sender.check("#f-mla_to_follow-yes")
        # The custodian is missing: the live check says so, citing 42(2)(d).
        live = sender.locator("#live")
        expect(live).to_contain_text("42(2)(d)")  # in the page's language
        step(sender, f"{shot}-04-data-finding")
        sender.fill("#f-data-0-custodian", "Example Hosting (illustrative)")
        sender.wait_for_function(
            "() => !document.querySelector('#live').innerText.includes('42(2)(d)')"
        )
        step(sender, f"{shot}-05-data-fixed")
        _next(sender)
        expect(sender).to_have_url(re.compile(r".*/preview$"))
        assert "Example Hosting (illustrative)" in sender.inner_text("article.formal")
        step(sender, f"{shot}-06-preview")
        # A requester's request: the node's default policy (HANOINET_APPROVAL=requester)
        # asks a supervisor's approval before it leaves.
        sender.click("form.send button")
        sender.wait_for_url("**/requests/R-*")
        sent_url = sender.url
        main = sender.inner_text("main")
        assert t("Awaiting a supervisor's approval (node policy)") in main
        assert sender.locator("button[disabled][aria-describedby^=send-held]").count() == 1
        step(sender, f"{shot}-06a-awaiting-approval")

        # Aurelia's supervisor finds it among the requests awaiting approval, approves it.
        log_in(approver, url["xa-ca"], "sam", two_nodes["passwords"]["sam"])
        approver.goto(url["xa-ca"] + "/requests?awaiting=approval")
        path = "/requests/" + sent_url.rsplit("/requests/", 1)[1]
        assert approver.locator(f"main a[href='{path}']").count() == 1
        step(approver, f"{shot}-06b-awaiting-list")
        approver.click(f"main a[href='{path}']")
        approver.wait_for_url("**" + path)
        approver.click("form:has(input[name=action][value=approve]) button")
        approver.wait_for_load_state()
        approved_by = t("Approved by %(by)s at %(at)s").split("%(by)s")[0].strip()
        assert approved_by in approver.inner_text("main")
        step(approver, f"{shot}-06c-approved")

        # The requester sends it from its case page.
        sender.goto(sent_url)
        sender.click("form:has(input[name=action][value=send]) button")
        sender.wait_for_load_state()
        assert t("Sent") in sender.inner_text("main")
        step(sender, f"{shot}-07-sent")
        assert deliver(two_nodes["ctx"]["xa-ca"]) == ["delivered"]

        # Borealis's duty officer sees it on the 24/7 desk, acknowledges, preserves.
        log_in(receiver, url["xb-ca"], "dora", two_nodes["passwords"]["dora"])
        receiver.goto(url["xb-ca"] + "/desk")
        row = receiver.locator("#queue tbody tr").filter(has_text="XA")
        assert row.count() == 1
        step(receiver, f"{shot}-08-desk")
        row.locator("button[type=submit]").click()
        receiver.wait_for_url("**/desk")
        assert t("Acknowledged") in receiver.inner_text("#queue")
        step(receiver, f"{shot}-09-acknowledged")
        receiver.locator("#queue tbody tr").filter(has_text="XA").locator("a").first.click()
        receiver.wait_for_url("**/requests/R-*")
        receiver.click("form:has(input[name=action][value=record_preserved]) button")
        receiver.wait_for_load_state()
        assert t("Preserved") in receiver.inner_text("main")
        step(receiver, f"{shot}-10-preserved")
        receiver.goto(url["xb-ca"] + "/desk")  # the desk counts down the preservation (42)
        preserved = receiver.locator("#queue tbody tr").filter(has_text="XA").inner_text()
        assert t("preserved until %(when)s").split("%")[0].strip() in preserved
        step(receiver, f"{shot}-10b-desk-preserved")
        assert deliver(two_nodes["ctx"]["xb-ca"]) == ["delivered", "delivered"]

        # Back at Aurelia: the receipt and Borealis's answers are on the timeline.
        sender.goto(sent_url)
        main = sender.inner_text("main")
        assert t("Delivered") in main
        assert t("Acknowledge") in main and t("Record preservation executed") in main
        assert t("Preserved") in main
        step(sender, f"{shot}-11-sender-timeline")
    finally:
        for context in contexts:
            context.close()


# --- the case page's evidence: a transfer under way, live, and what arrived --------------------


@pytest.fixture
def evidence_node(
    tmp_path: Path, store_factory: Any, serving: Serving, lone_node: LoneNode
) -> Iterator[dict[str, Any]]:
    """Aurelia (XA) asked Borealis (XB) for evidence: one package arrived and was accepted
    (its use conditions, a consent recorded), another is still coming in (37 of 100 chunks);
    rows as services/transfer.py writes them."""
    from sqlalchemy import insert

    from hanoinet.evidence.conditions import conditions_for
    from hanoinet.store.schema import evidence, evidence_permissions

    at, keys, port, directory = lone_node("xa-ca", "Aurelia central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        document = (ROOT / "examples" / "mla-xa-xb.json").read_text("utf-8")
        created = case_service.new_case(
            store,
            document,
            direction="outgoing",
            actor="carl",
            at=at,
            title="Hospital intrusion (illustrative)",
        )
        rid = created.request_id
        for action in ("check", "send"):
            case_service.act(store, rid, action, actor="carl", at=at)
        conditions = conditions_for(
            request_uid="urn:uuid:00000000-0000-4000-8000-000000000001",
            reference=rid,
            matter="Intrusion into a hospital's systems (illustrative)",
            confidential=True,
            imposed=("Not to be shown to the press before the trial",),
        ).model_dump(mode="json")
        common = {
            "request_id": rid,
            "direction": "incoming",
            "peer_node": "xb-ca",
            "sha256": "0" * 64,
            "offer": "offer",
            "created_at": at,
        }
        with store.transaction() as conn:
            conn.execute(
                insert(evidence).values(
                    id="EV-xb-ca-000001",
                    state="accepted",
                    size=48_200_000,
                    chunk_size=8 << 20,
                    chunks=6,
                    next_chunk=6,
                    path="EV-xb-ca-000001.age",
                    conditions=json.dumps(conditions),
                    updated_at=at,
                    **common,
                )
            )
            conn.execute(
                insert(evidence_permissions).values(
                    package_id="EV-xb-ca-000001",
                    kind="consent",
                    scope="Proceedings 2027/44 (fraud, illustrative)",
                    reference="XA-MoJ-2027-44",
                    recorded_by="carl",
                    recorded_at=at + timedelta(minutes=1),
                )
            )
            conn.execute(
                insert(evidence).values(
                    id="EV-xb-ca-000002",
                    state="receiving",
                    size=812_000_000,
                    chunk_size=8_120_000,
                    chunks=100,
                    next_chunk=37,
                    path="EV-xb-ca-000002.part",
                    updated_at=at + timedelta(minutes=2),
                    **common,
                )
            )
        password = users.create_user(store, "carl", "central_authority_officer", actor="a", at=at)
        ctx = NodeContext("xa-ca", keys, directory, store)
        with serving(create_app(ctx), port):
            yield {
                "url": f"http://127.0.0.1:{port}",
                "password": password,
                "request": rid,
                "store": store,
                "ctx": ctx,
            }


def test_the_case_page_shows_evidence_arriving_live_in_english_and_arabic(
    evidence_node: dict[str, Any], page: Page, step: Step, log_in: LogIn
) -> None:
    from sqlalchemy import update

    from hanoinet.store.schema import evidence

    def set_package(**values: Any) -> None:
        with evidence_node["store"].transaction() as conn:
            conn.execute(
                update(evidence).where(evidence.c.id == "EV-xb-ca-000002").values(**values)
            )

    url, rid = evidence_node["url"], evidence_node["request"]
    log_in(page, url, "carl", evidence_node["password"])
    page.goto(f"{url}/requests/{rid}")
    section = page.locator(f"#evidence-{rid}")
    bar = section.locator("progress")
    assert bar.count() == 1
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("37", "100")
    assert "37 of 100 chunks" in section.inner_text()
    assert "812 MB" in section.inner_text() and "48.2 MB" in section.inner_text()
    assert section.get_attribute("hx-trigger") == "every 2s"
    conditions = section.locator("ul.conditions a.article")
    assert conditions.count() == 4
    assert conditions.first.get_attribute("href") == "/convention/40#k-40(19)"
    section.scroll_into_view_if_needed()
    step(page, "evidence-01-case-en")

    # The same page in Arabic, right to left, the transfer still under way.
    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    page.wait_for_url(f"**/requests/{rid}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    section = page.locator(f"#evidence-{rid}")
    assert "37 من أصل 100 جزء" in section.inner_text()
    step(page, "evidence-02-case-ar")

    # htmx asks again every 2 seconds: the chunks that arrive show without a reload ...
    set_package(next_chunk=80)
    page.wait_for_function(
        f"() => document.querySelector('#evidence-{rid} progress')?.value === 80",
        timeout=10_000,
    )
    # ... and once the package is accepted, the section stops asking.
    set_package(next_chunk=100, state="accepted")
    page.wait_for_function(
        f"() => {{ const s = document.querySelector('#evidence-{rid}');"
        " return s && !s.querySelector('progress') && !s.hasAttribute('hx-trigger'); }",
        timeout=10_000,
    )
    polls: list[str] = []
    page.on(
        "request",
        lambda r: polls.append(r.url) if r.url.split("?")[0].endswith("/evidence") else None,
    )
    page.wait_for_timeout(4_500)
    assert polls == [], "the section went on polling after the transfer ended"
    from hanoinet.web.render import translations

    accepted = translations("ar").ugettext("Accepted: verified on arrival")
    assert page.locator(f"#evidence-{rid}").inner_text().count(accepted) == 2
    # A screen reader heard the new state once, from the live region outside the section
    # (the chunks that moved before were not announced).
    live = page.locator(f"#evidence-{rid}-live")
    assert live.get_attribute("role") == "status"
    assert live.inner_text().strip() == f"EV-xb-ca-000002: {accepted}"


def test_the_case_page_offers_the_formal_document_signed_and_in_any_language(
    evidence_node: dict[str, Any], page: Page, step: Step, log_in: LogIn
) -> None:
    """The request was sent: its formal document is being made, then issued (the worker's
    round); the officer downloads the issued one, and makes it in French."""
    from hanoinet.documents.signature import verify
    from hanoinet.exchange.directory import Trust
    from hanoinet.services import documents

    url, rid, ctx = evidence_node["url"], evidence_node["request"], evidence_node["ctx"]
    log_in(page, url, "carl", evidence_node["password"])
    page.goto(f"{url}/requests/{rid}")
    section = page.locator(f"#formal-{rid}")
    assert "Being made" in section.inner_text()
    documents.issue_pending(ctx, None, now=datetime.now(UTC))
    page.reload()
    section = page.locator(f"#formal-{rid}")
    assert "Issued: signed by this node" in section.inner_text()
    section.scroll_into_view_if_needed()
    step(page, "document-01-case-en")
    trust = Trust({}, directory=ctx.directory)
    with page.expect_download() as issued:
        section.get_by_role("link", name="Download").click()
    kept = Path(issued.value.path()).read_bytes()
    assert verify(kept, trust).ok
    section.get_by_label("Make it in").select_option("fr")
    with page.expect_download() as made:
        section.get_by_role("button", name="Download").click()
    assert made.value.suggested_filename == f"{rid}-fr.pdf"
    french = verify(Path(made.value.path()).read_bytes(), trust)
    assert french.ok and french.to_json()["language"] == "fr"

    # The same section in Arabic, right to left.
    page.get_by_label("Language", exact=True).select_option("ar")
    page.locator("form.lang button").click()
    page.wait_for_url(f"**/requests/{rid}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    from hanoinet.web.render import translations

    issued_ar = translations("ar").ugettext(
        "Issued: signed by this node and sent after the request"
    )
    section = page.locator(f"#formal-{rid}")
    assert issued_ar in section.inner_text()
    section.scroll_into_view_if_needed()
    step(page, "document-02-case-ar")


# --- the statistics page: charts drawn, tables beside them, in English and Arabic -------------


@pytest.fixture
def statistics_node(
    tmp_path: Path, store_factory: Any, serving: Serving, lone_node: LoneNode
) -> Iterator[dict[str, Any]]:
    """A node of Aurelia (XA) with an illustrative year of requests (bench/history.py)."""
    from hanoinet.bench import history

    at, keys, port, directory = lone_node("xa-ca", "Aurelia central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        history.write(store, history.synthetic(8000, seed=4, me="XA"))
        password = users.create_user(store, "sam", "supervisor", actor="admin", at=at)
        with serving(create_app(NodeContext("xa-ca", keys, directory, store)), port):
            yield {"url": f"http://127.0.0.1:{port}", "password": password}


def test_the_statistics_page_draws_its_charts_in_english_and_arabic(
    statistics_node: dict[str, Any], page: Page, step: Step, log_in: LogIn
) -> None:
    from hanoinet.web.render import translations

    url = statistics_node["url"]
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    log_in(page, url, "sam", statistics_node["password"])
    page.get_by_role("link", name="Statistics").click()
    page.wait_for_url("**/statistics")
    page.fill("#from", "2025-01-01")
    page.fill("#to", "2025-12-31")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/statistics?from=2025-01-01&to=2025-12-31")
    charts = page.locator("canvas[data-spec]")
    assert charts.count() == 8  # with the channels (issue 24)
    # Chart.js drew each chart (a chart instance on every canvas, with its bars laid out).
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-spec]')].map(c => {"
        " const chart = window.Chart.getChart(c);"
        " return chart ? chart.getDatasetMeta(0).data.length : -1; })"
    )
    assert all(n > 0 for n in drawn), drawn
    assert page.get_by_role("table").count() == 8
    assert problems == [], problems  # no CSP violation, no script error
    # Pointing at a State pair's bar shows every outcome of that pair in one tooltip.
    outcomes = page.locator("#chart-outcomes")
    outcomes.scroll_into_view_if_needed()
    box = outcomes.bounding_box()
    assert box is not None
    bar = page.evaluate(
        "() => { const m = window.Chart.getChart(document.querySelector('#chart-outcomes'))"
        ".getDatasetMeta(0).data[0]; return [m.base + 5, m.y]; }"
    )
    page.mouse.move(box["x"] + bar[0], box["y"] + bar[1])
    shown = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('#chart-outcomes'))"
        ".tooltip.dataPoints.map(p => p.dataset.label)"
    )
    assert shown == ["Executed", "Partly executed", "Refused", "Withdrawn", "Lapsed", "Still open"]
    step(page, "statistics-01-en")
    with page.expect_download() as csv:
        page.get_by_role("link", name="Download CSV").click()
    assert csv.value.suggested_filename == "statistics-xa-ca-2025-01-01-2025-12-31.csv"
    with page.expect_download() as signed:
        page.get_by_role("button", name="Download the signed report").click()
    assert signed.value.suggested_filename.endswith(".jws")
    # A bad period: the error at the field, what was typed kept.
    page.fill("#from", "2025-12-31")
    page.fill("#to", "2025-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.locator("#to").input_value() == "2025-01-01"
    step(page, "statistics-02-error")
    assert problems == [f"400 {url}/statistics?from=2025-12-31&to=2025-01-01"]
    problems.clear()

    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    page.goto(url + "/statistics?from=2025-01-01&to=2025-12-31")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    heading = translations("ar").ugettext("Statistics")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    rtl = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('#chart-outcomes'))"
        ".options.plugins.legend.rtl"
    )
    assert rtl is True
    assert problems == [], problems
    step(page, "statistics-03-ar")

    # A week holds few requests: the charts with withheld counts say so on themselves, above
    # their bars, in the reader's language; a chart with nothing in it says that instead.
    page.goto(url + "/statistics?from=2025-03-03&to=2025-03-09")
    _withheld_said_on_the_charts(page, translations("ar").ugettext)
    step(page, "statistics-05-withheld-ar")
    page.get_by_label(translations("ar").ugettext("Language")).select_option("en")
    page.locator("form.lang button").click()
    page.goto(url + "/statistics?from=2025-03-03&to=2025-03-09")
    _withheld_said_on_the_charts(page, lambda text: text)
    page.locator(".chart-note").first.scroll_into_view_if_needed()
    step(page, "statistics-04-withheld-en")
    assert problems == [], problems


def _withheld_said_on_the_charts(page: Page, t: Any) -> None:
    notes = page.locator(".chart-note")
    assert notes.count() >= 1
    counts = t("Some counts are withheld (fewer than %(k)s): they have no bar.") % {"k": 5}
    times = t("Some times are not shown: fewer than %(k)s requests reached the milestone.")
    said = [n.inner_text() for n in notes.all()]
    assert counts in said and set(said) <= {counts, times % {"k": 5}}, said
    for note in notes.all():
        expect(note).to_be_visible()
        figure = note.locator("xpath=ancestor::figure[1]")
        canvas = figure.locator("canvas")
        assert canvas.get_attribute("aria-describedby") == note.get_attribute("id")
        # on the chart: between its title and its bars, not down in the table
        title, text, bars = (
            figure.locator("figcaption").bounding_box(),
            note.bounding_box(),
            canvas.bounding_box(),
        )
        assert title and text and bars
        assert title["y"] < text["y"] < bars["y"]
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-spec]')]"
        ".every(c => window.Chart.getChart(c) !== undefined)"
    )
    assert drawn


def test_the_supervisor_sees_a_refused_message_as_a_security_event(
    tmp_path: Path,
    store_factory: Any,
    page: Page,
    step: Step,
    log_in: LogIn,
    serving: Serving,
    lone_node: LoneNode,
) -> None:
    """A message claiming what its sender may not say, refused at the real inbox, shows on the
    supervisor's audit page: counted at the top, marked in the log, filtered; then in Arabic."""
    import uuid

    from hanoinet.exchange.envelope import seal

    at, keys, port, directory = lone_node("xb-ca", "Borealis central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        password = users.create_user(store, "sam", "supervisor", actor="admin", at=at)
        with serving(create_app(NodeContext("xb-ca", keys, directory, store)), port):
            url = f"http://127.0.0.1:{port}"
            document = json.loads(EXAMPLE.read_text("utf-8"))  # in Aurelia's name, from XB
            body = {"request": str(uuid.uuid4()), "action": "send", "document": document}
            _, token = seal(
                json.dumps(body).encode(),
                sender="xb-ca",
                keys=keys,
                recipient=directory.nodes[0],
                type="request",
                at=datetime.now(UTC),
            )
            refused = page.request.post(url + "/api/v1/inbox", data=token)
            assert (refused.status, refused.json()["reason"]) == (422, "foreign_state")
            log_in(page, url, "sam", password)
            page.goto(url + "/audit")
            status = page.get_by_role("status").filter(has_text="security event")
            assert "1 security event in the last 7 days" in status.inner_text()
            assert page.locator("tr.security").count() == 1
            status.get_by_role("link").click()
            page.wait_for_url("**/audit?security=1")
            assert page.locator("tbody tr").count() == page.locator("tr.security").count() == 1
            step(page, "audit-01-security-en")
            page.get_by_label("Language").select_option("ar")
            page.locator("form.lang button").click()
            page.goto(url + "/audit?security=1")
            expect(page.locator("html")).to_have_attribute("dir", "rtl")
            assert page.locator("tr.security .tag").inner_text() == "حدث أمني"
            step(page, "audit-02-security-ar")


# --- the node administrator's users page, in English and Arabic -------------------------------


@pytest.fixture
def users_node(
    tmp_path: Path, store_factory: Any, serving: Serving, lone_node: LoneNode
) -> Iterator[dict[str, Any]]:
    """A node with its administrator and two officers, one of whom logged in already."""
    at, keys, port, directory = lone_node("xb-ca", "Borealis central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        password = users.create_user(store, "ada", "node_admin", actor="admin", at=at)
        users.create_user(store, "amina", "duty_officer", actor="ada", at=at)
        users.create_user(store, "omar", "central_authority_officer", actor="ada", at=at)
        users.create_token(store, "amina", "case system", "read", actor="ada", at=at)
        with serving(create_app(NodeContext("xb-ca", keys, directory, store)), port):
            yield {"url": f"http://127.0.0.1:{port}", "password": password}


def test_the_users_page_in_english_and_arabic(
    users_node: dict[str, Any], page: Page, step: Step, log_in: LogIn
) -> None:
    url = users_node["url"]
    log_in(page, url, "ada", users_node["password"])
    expect(page).to_have_url(re.compile(r".*/users$"))
    expect(page.get_by_role("row").filter(has_text="amina")).to_be_visible()
    step(page, "users-01-list")
    page.get_by_role("link", name="amina").click()
    page.wait_for_url("**/users/amina")
    step(page, "users-02-user")
    page.get_by_role("button", name="End all sessions and API tokens").click()
    assert page.get_by_role("status").inner_text().count("1 API token revoked.") == 1
    step(page, "users-03-ended")
    page.get_by_role("button", name="Remove the user").click()  # the box not ticked
    expect(page.get_by_role("alert")).to_be_visible()
    step(page, "users-04-remove-unconfirmed")
    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    step(page, "users-05-user-ar")
    page.goto(url + "/users")
    step(page, "users-06-list-ar")


# --- the requested State's desk: the request itself on the case page ---------------------------


@pytest.fixture
def desk_node(
    tmp_path: Path, store_factory: Any, serving: Serving, lone_node: LoneNode
) -> Iterator[dict[str, Any]]:
    """A node that received an emergency and a preservation request, and its duty officer."""
    at, keys, port, directory = lone_node("xb-ca", "Borealis central authority (illustrative)")
    with store_factory("sqlite", tmp_path) as store:
        received = {}
        for form in ("emergency", "preservation"):
            text = (ROOT / "examples" / f"{form}-xa-xb.json").read_text("utf-8")
            received[form] = case_service.new_case(
                store, text, direction="incoming", actor="node:xa-ca", at=at
            ).request_id
        password = users.create_user(store, "dora", "duty_officer", actor="admin", at=at)
        with serving(create_app(NodeContext("xb-ca", keys, directory, store)), port):
            yield {"url": f"http://127.0.0.1:{port}", "password": password, **received}


def test_the_receiving_officer_reads_the_request_and_acts_in_english_and_arabic(
    desk_node: dict[str, Any], page: Page, step: Step, log_in: LogIn
) -> None:
    url = desk_node["url"]
    log_in(page, url, "dora", desk_node["password"])
    page.goto(f"{url}/requests/{desk_node['emergency']}")
    request = page.locator("section.request-content")
    # The risk to life comes first, as the requesting State wrote it.
    first = request.locator(".pair.first")
    assert first.locator("dt").inner_text().startswith("The emergency")
    expect(first.get_by_text("announces a bomb at a school")).to_be_visible()
    expect(request.get_by_text("k.demo@mail.borealis.example")).to_be_visible()
    expect(request.get_by_text("Written in English")).to_be_visible()
    step(page, "request-01-emergency")
    page.get_by_role("button", name="Acknowledge").first.click()
    page.wait_for_load_state()
    assert "Acknowledged at" in page.locator(".confirmation[role=status]").inner_text()
    step(page, "request-02-emergency-acknowledged")
    page.goto(f"{url}/requests/{desk_node['preservation']}")
    request = page.locator("section.request-content")
    expect(request.get_by_text("203.0.113.7")).to_be_visible()
    expect(request.get_by_text("Borealis Hosting Ltd (demo)")).to_be_visible()
    expect(request.get_by_text("Logs are kept 7 days only.")).to_be_visible()
    step(page, "request-03-preservation")
    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("section.request-content bdi[lang=en]").first).to_be_visible()
    step(page, "request-04-preservation-ar")
    page.goto(f"{url}/requests/{desk_node['emergency']}")
    step(page, "request-05-emergency-ar")


# ---- right to left: keys, ids, hashes and dates read left to right inside Arabic text --------


def test_keys_ids_and_dates_read_left_to_right_in_arabic(
    node: dict[str, Any],
    page: Page,
    step: Step,
    log_in: LogIn,
    glyph_xs: GlyphXs,
    reads_left_to_right: ReadsLeftToRight,
) -> None:
    url = node["url"]
    page.context.add_cookies([{"name": "hanoinet_lang", "value": "ar", "url": url}])

    # The measure itself: an article key left to the bidirectional algorithm in Arabic text is
    # reordered, and the measure sees it.
    page.goto(url + "/convention/42")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.evaluate(
        "() => { const p = document.createElement('p'); p.id = 'control';"
        " p.textContent = 'المادة 42(2)(a) من الاتفاقية'; document.querySelector('main').append(p); }"
    )
    control = glyph_xs(page, "#control", "42(2)(a)")
    assert control is not None and not all(a < b for a, b in pairwise(control))
    page.evaluate("() => document.getElementById('control').remove()")

    # The article page: each provision's key.
    for key in ("42(2)(a)", "42(1)"):
        reads_left_to_right(page, f'dt[id="k-{key}"]', key)
    step(page, "rtl-01-article-ar")

    # The public treaty page: the date, and the key inside a translated sentence.
    page.goto(url + "/public/treaty")
    status = page.locator("main p").first.inner_text()
    day = re.search(r"\d{4}-\d{2}-\d{2}", status)
    assert day is not None
    reads_left_to_right(page, "main > p", day.group(0))
    reads_left_to_right(page, "dl.summary", "65(1)")
    step(page, "rtl-02-treaty-ar")

    # Logged in: the wizard's list of forms (article keys), the request list (a request id and
    # a date), the audit log's legal-basis column (a supervisor).
    log_in(page, url, "dora", node["password"])
    page.goto(url + "/drafts/new")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")  # the language chosen before
    reads_left_to_right(page, 'label[for="kind-preservation"]', "42(1)")
    reads_left_to_right(page, 'label[for="kind-emergency_disclosure"]', "2(o)")
    step(page, "rtl-03-new-request-ar")

    page.goto(url + "/requests")
    rid = node["request"]
    reads_left_to_right(page, f'a[href="/requests/{rid}"]', rid)
    updated = page.locator("main table tbody tr").first.inner_text()
    stamp = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", updated)
    assert stamp is not None, "dates in Arabic are ISO 8601, never numeric day/month/year"
    reads_left_to_right(page, "main table tbody tr", stamp.group(0))
    step(page, "rtl-04-requests-ar")

    page.locator("form[action='/logout'] button").click()
    password = users.create_user(node["store"], "sami", "supervisor", actor="admin", at=_now())
    log_in(page, url, "sami", password)
    page.goto(url + "/audit")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    rows = page.locator("main table tbody tr").all_inner_texts()
    key = re.compile(r"\d+(?:\([0-9a-z]+\))+")
    n, basis = next((i, key.search(t)) for i, t in enumerate(rows, 1) if key.search(t))
    assert basis is not None
    reads_left_to_right(page, f"main table tbody tr:nth-child({n})", basis.group(0))
    step(page, "rtl-05-audit-ar")


def _now() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def _kept_verification(at: datetime) -> dict[str, Any]:
    """A verification as services.evidence.verification_record keeps it (illustrative)."""
    from hanoinet.evidence.package import CHECKS

    details = {
        "decrypt": "age (X25519, ChaCha20-Poly1305): every chunk authenticated",
        "structure": "a bag of 3 payload files in EV-xb-ca-000001/",
        "signature": "signed by xb-ca (Borealis central authority, State XB) with key sig-1",
        "tag manifests": "6 tag files match the signed tag manifests",
        "payload": "3 files, 48,199,010 bytes: every SHA-256 and SHA-512 matches",
        "custody": "2 custody steps; every file is described with its manifest hash",
        "conditions": "speciality 40(19), onward_transfer 36(3), confidentiality 40(20)",
        "CASE/UCO": "custody.jsonld conforms to CASE 1.4.0 (case-utils)",
    }
    files = [
        ("data/mailbox/inbox.mbox", 48_000_000),
        ("data/subscriber.csv", 199_000),
        ("data/logs/access-2026-11.log", 10),
    ]
    return {
        "at": at.isoformat(),
        "by": "carl",
        "verified": True,
        "checks": [{"check": c, "status": "passed", "detail": details[c]} for c in CHECKS],
        "files": [
            {"path": p, "bytes": n, "sha256": hashlib.sha256(p.encode()).hexdigest()}
            for p, n in files
        ],
        "files_total": 3,
        "payload_bytes": sum(n for _, n in files),
        "custody": [
            {
                "at": (at - timedelta(days=2)).isoformat(),
                "action": "collection",
                "performer": "Cyber unit B-3 (illustrative)",
                "tool": "FTK Imager 4.7",
                "description": "Exported from the provider's lawful-access portal",
                "items": [p for p, _ in files],
            },
            {
                "at": (at - timedelta(hours=3)).isoformat(),
                "action": "packaging",
                "performer": "bo",
                "tool": "hanoinet 0.1.0",
                "description": None,
                "items": ["provenance record EV-xb-ca-000001"],
            },
        ],
    }


def test_the_evidence_section_shows_checks_files_and_custody_in_english_and_arabic(
    evidence_node: dict[str, Any],
    page: Page,
    step: Step,
    log_in: LogIn,
    reads_left_to_right: ReadsLeftToRight,
) -> None:
    from sqlalchemy import update

    from hanoinet.store.schema import evidence

    kept = _kept_verification(_now())
    with evidence_node["store"].transaction() as conn:
        conn.execute(
            update(evidence)
            .where(evidence.c.id == "EV-xb-ca-000001")
            .values(verification=json.dumps(kept))
        )
    url, rid = evidence_node["url"], evidence_node["request"]
    log_in(page, url, "carl", evidence_node["password"])
    page.goto(f"{url}/requests/{rid}")
    package = page.locator("article.package").filter(has=page.locator("#pkg-EV-xb-ca-000001"))
    assert package.locator("table.checks tbody tr").count() == 8
    assert package.locator("table.files tbody tr").count() == 3
    assert package.locator("ol.timeline li").count() == 2
    assert package.get_by_role("button", name="Verify again").count() == 1
    assert package.locator("form.export").count() == 1
    package.scroll_into_view_if_needed()
    step(page, "evidence-03-checks-en")

    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    page.wait_for_url(f"**/requests/{rid}")
    digest = kept["files"][0]["sha256"]
    reads_left_to_right(page, "table.files", digest)
    reads_left_to_right(page, "#pkg-EV-xb-ca-000001", "EV-xb-ca-000001")
    reads_left_to_right(page, "ul.conditions", "40(19)")
    stamp = kept["at"][:16].replace("T", " ")
    reads_left_to_right(page, "article.package p", stamp)
    page.locator("#pkg-EV-xb-ca-000001").scroll_into_view_if_needed()
    step(page, "evidence-04-checks-ar")
