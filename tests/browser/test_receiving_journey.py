"""The receiving officer's journey in a real browser, in each of the six languages (issue 21).

Aurelia (XA) sends Borealis (XB) an emergency disclosure, a preservation and a request for
stored data; the worker delivers them (called directly, no waiting). Borealis's duty officer logs
in for the first time, chooses the language, finds the requests on the 24/7 desk, reads each
request on its case page, acknowledges, records the execution (the emergency: executing, then
executed; the preservation: preserved), answers Aurelia's status enquiry (art. 40(25)), and
refuses the third request after consulting Aurelia (40(27), then 40(24) with a ground of 40(21)).
After each action the page confirms it in the officer's language, and once the worker has
delivered it, Aurelia's case page shows the outcome. Every step is a screenshot,
test-artifacts/screenshots/journey-<lang>-<NN>-<step>.png, checked with axe-core in English and
Arabic (the other four languages have the same markup).

Expected texts come from the catalogs through the functions the pages use (``translations``,
the vocabulary's names, ``case_view.confirmation``): never English on a page in another
language, and the test holds before and after a catalog is completed."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hanoinet.convention import convention
from hanoinet.services import cases as case_service
from hanoinet.services.federation import NodeContext
from hanoinet.web import case_view
from hanoinet.web.render import translations
from hanoinet.web.vocabulary import ACTION_NAMES, STATE_NAMES, URGENCY_NAMES

AXE_LANGUAGES = ("en", "ar")

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["en", "ar", "zh", "fr", "ru", "es"]
RTL = {"ar"}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)


def exactly(text: str) -> re.Pattern[str]:
    """A summary whose whole text is ``text`` (another action's name may contain it: "Refuser
    le consentement" holds "Refuser")."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


# The helpers of tests/browser/conftest.py, reached as fixtures.
Step = Callable[..., None]
LogIn = Callable[[Page, str, str, str], None]
Deliver = Callable[[NodeContext], list[str]]
ReadsLeftToRight = Callable[[Page, str, str], None]

CONSULTATION = "Could the request be limited to the subscriber data, under confidentiality?"
REFUSAL = "Disclosure of the mailbox would prejudice an ongoing national security case."
ANSWER = "The data are preserved; the provider confirmed it in writing."


@pytest.fixture
def sent(two_nodes: dict[str, Any], deliver: Deliver) -> dict[str, dict[str, str]]:
    """Aurelia's supervisor (no approval asked of a supervisor's own request) sends the three
    requests, the one for stored data urgent (so that it is on the desk), and the worker
    delivers them: {form: {"xa": Aurelia's id, "xb": Borealis's id}}."""
    xa, xb = two_nodes["ctx"]["xa-ca"].store, two_nodes["ctx"]["xb-ca"].store
    at = datetime.now(UTC)
    ids: dict[str, dict[str, str]] = {}
    for form, kind in (
        ("emergency", "emergency_disclosure"),
        ("preservation", "preservation"),
        ("mla", "stored_data"),
    ):
        document = json.loads((ROOT / "examples" / f"{form}-xa-xb.json").read_text("utf-8"))
        document["urgency"] = document.get("urgency", "urgent")  # on the 24/7 desk
        text = json.dumps(document)
        rid = case_service.new_case(xa, text, direction="outgoing", actor="sam", at=at).request_id
        for action in ("check", "send"):
            case_service.act(xa, rid, action, actor="sam", at=at)
        ids[kind] = {"xa": rid}
    assert deliver(two_nodes["ctx"]["xa-ca"]) == ["delivered"] * 3
    for summary in case_service.list_requests(xb, actor="test", at=datetime.now(UTC)):
        ids[summary.kind]["xb"] = summary.id
    return ids


class Journey:
    """One language's journey: Borealis's officer at ``page``, Aurelia's supervisor at
    ``peer``, the expected texts from the catalog of ``lang``."""

    def __init__(
        self,
        two_nodes: dict[str, Any],
        lang: str,
        pages: tuple[Page, Page],
        step: Step,
        deliver: Deliver,
        reads_left_to_right: ReadsLeftToRight,
    ) -> None:
        self.nodes, self.lang, self._step, self.deliver = two_nodes, lang, step, deliver
        self.reads_left_to_right = reads_left_to_right
        self.page, self.peer = pages
        self.t = translations(lang).ugettext
        self.count = itertools.count(1)

    def shot(self, page: Page, name: str, *, axe: bool = True) -> None:
        # axe-core on English and Arabic pages (left to right, right to left); the same markup in
        # the four other languages is not checked again, to keep the suite fast (axe takes a
        # second a page; tests/browser/test_accessibility.py covers every page in both).
        axe = axe and self.lang in AXE_LANGUAGES
        self._step(page, f"journey-{self.lang}-{next(self.count):02d}-{name}", axe=axe)

    def action(self, code: str) -> str:
        return self.t(ACTION_NAMES[code])

    def state(self, code: str) -> str:
        return self.t(STATE_NAMES[code])

    def confirmed(self, rid: str, action: str) -> None:
        """The page says what ``action`` did, as case_view.confirmation says it in this
        language (the time is the event's, the other State told through the outbox)."""
        expect(self.page).to_have_url(re.compile(rf"/requests/{rid}\?done={action}$"))
        detail = case_service.show(
            self.nodes["ctx"]["xb-ca"].store, rid, actor="test", at=datetime.now(UTC)
        )
        request = next(r for r in detail.requests if r.summary.id == rid)
        said = case_view.confirmation(request.events, request.messages, "XA", action, self.lang)
        assert said is not None
        expect(self.page.locator("p.confirmation[role=status]")).to_have_text(said)
        stamp = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", said)
        assert stamp is not None
        self.reads_left_to_right(self.page, "p.confirmation", stamp.group(0))

    def simple(self, rid: str, action: str, name: str, *, axe: bool = True) -> None:
        """A one-click action of "What you can do now" (``axe``: whether to check the page
        again with axe-core, not needed when it differs from the last checked one only by
        its confirmation and its buttons)."""
        self.page.get_by_role("button", name=self.action(action), exact=True).click()
        self.confirmed(rid, action)
        self.shot(self.page, name, axe=axe)

    def with_fields(self, rid: str, action: str, name: str, **fields: str) -> None:
        """An action with its panel: open it, fill its fields, submit."""
        summary = self.page.locator(
            "details.panel > summary", has_text=exactly(self.action(action))
        )
        summary.click()
        panel = self.page.locator("details.panel[open]")
        if "ground" in fields:
            panel.get_by_label(self.t("Ground"), exact=True).select_option(fields["ground"])
        panel.get_by_label(self.t("Reasons"), exact=True).fill(fields["reason"])
        panel.get_by_role("button", name=self.action(action), exact=True).click()
        self.confirmed(rid, action)
        self.shot(self.page, name)

    def told(
        self, ids: dict[str, str], name: str, state: str, action: str = "", *, axe: bool = False
    ) -> None:
        """The worker delivers Borealis's message; Aurelia's case page shows the request's new
        state (and the action, with what Borealis wrote, on its timeline). Aurelia's case page
        is checked with axe-core once per language (``axe``): the same page each time, with
        one more line on its timeline (axe-core takes a second a page on a slow machine)."""
        assert self.deliver(self.nodes["ctx"]["xb-ca"]) == ["delivered"]
        self.peer.goto(f"{self.nodes['url']['xa-ca']}/requests/{ids['xa']}")
        expect(self.peer.locator("dl.summary strong").first).to_have_text(self.state(state))
        if action:
            last = self.peer.locator("ol.timeline > li").last
            expect(last.locator("strong")).to_have_text(self.action(action))
        self.shot(self.peer, f"xa-{name}", axe=axe)


@pytest.fixture
def journey(
    two_nodes: dict[str, Any],
    browser: Browser,
    step: Step,
    deliver: Deliver,
    reads_left_to_right: ReadsLeftToRight,
    axe_in_pages: Callable[[BrowserContext], None],
    request: pytest.FixtureRequest,
) -> Iterator[Journey]:
    lang = request.param
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    if lang in AXE_LANGUAGES:
        for context in contexts:
            axe_in_pages(context)
    xa = two_nodes["url"]["xa-ca"]
    contexts[1].add_cookies([{"name": "hanoinet_lang", "value": lang, "url": xa}])
    try:
        pages = (contexts[0].new_page(), contexts[1].new_page())
        yield Journey(two_nodes, lang, pages, step, deliver, reads_left_to_right)
    finally:
        for context in contexts:
            context.close()


@pytest.mark.parametrize("journey", LANGUAGES, indirect=True)
def test_the_receiving_officer_acts_on_emergency_preservation_and_refusal(
    journey: Journey,
    two_nodes: dict[str, Any],
    sent: dict[str, dict[str, str]],
    log_in: LogIn,
) -> None:
    j, page, t = journey, journey.page, journey.t
    xb = two_nodes["url"]["xb-ca"]
    emergency, preservation, stored = (
        sent["emergency_disclosure"],
        sent["preservation"],
        sent["stored_data"],
    )

    # Log in for the first time (new password, authenticator), then choose the language.
    log_in(page, xb, "dora", two_nodes["passwords"]["dora"])
    log_in(j.peer, two_nodes["url"]["xa-ca"], "sam", two_nodes["passwords"]["sam"])
    page.goto(xb + "/desk")
    page.locator("#lang-select").select_option(j.lang)
    page.locator("form.lang button").click()
    html = page.locator("html")
    expect(html).to_have_attribute("lang", j.lang)
    expect(html).to_have_attribute("dir", "rtl" if j.lang in RTL else "ltr")
    expect(page).to_have_url(re.compile(r"/desk$"))

    # The desk: the three requests, the emergency first, each owing its acknowledgement.
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(emergency["xb"])
    expect(rows.first.locator(".tag.emergency")).to_have_text(t(URGENCY_NAMES["emergency"]))
    row = rows.filter(has_text=preservation["xb"])
    expect(row).to_contain_text(j.state("received"))
    j.shot(page, "desk")

    # The emergency: the risk to life first, as Aurelia wrote it.
    rows.first.get_by_role("link", name=emergency["xb"]).click()
    expect(page).to_have_url(re.compile(rf"/requests/{emergency['xb']}$"))
    request = page.locator("section.request-content")
    expect(request.locator(".pair.first")).to_contain_text("announces a bomb at a school")
    expect(request.get_by_text("k.demo@mail.borealis.example")).to_be_visible()
    form = t(convention().forms["emergency_disclosure"].title)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        form
    )  # the node's title, translated
    j.shot(page, "emergency")
    j.simple(emergency["xb"], "acknowledge", "emergency-acknowledged")
    j.told(emergency, "emergency-acknowledged", "acknowledged")
    j.simple(emergency["xb"], "start_execution", "emergency-executing", axe=False)
    j.told(emergency, "emergency-executing", "in_execution")
    j.simple(emergency["xb"], "execute", "emergency-executed", axe=False)
    j.told(emergency, "emergency-executed", "executed")

    # The preservation: the data, their identifiers and custodian, why it is urgent.
    page.goto(xb + "/desk")
    rows.filter(has_text=preservation["xb"]).get_by_role("link", name=preservation["xb"]).click()
    expect(page).to_have_url(re.compile(rf"/requests/{preservation['xb']}$"))
    request = page.locator("section.request-content")
    expect(request.get_by_text("203.0.113.7")).to_be_visible()
    expect(request.get_by_text("Borealis Hosting Ltd (demo)")).to_be_visible()
    expect(request.get_by_text("Logs are kept 7 days only.")).to_be_visible()
    j.shot(page, "preservation")
    j.simple(preservation["xb"], "acknowledge", "preservation-acknowledged")
    j.told(preservation, "preservation-acknowledged", "acknowledged")
    j.simple(preservation["xb"], "record_preserved", "preservation-preserved", axe=False)
    j.told(preservation, "preservation-preserved", "preserved")

    # Aurelia asks where the request stands (40(25)); Borealis's officer answers it.
    xa = two_nodes["ctx"]["xa-ca"]
    case_service.act(xa.store, preservation["xa"], "status_enquiry", actor="sam", at=_now())
    assert j.deliver(xa) == ["delivered"]
    page.reload()
    expect(page.locator("details.panel > summary").first).to_have_text(
        j.action("answer_status_enquiry")
    )
    j.shot(page, "enquiry")
    j.with_fields(preservation["xb"], "answer_status_enquiry", "enquiry-answered", reason=ANSWER)
    j.told(preservation, "enquiry-answered", "preserved", "answer_status_enquiry")
    expect(j.peer.locator("ol.timeline > li").last).to_contain_text(ANSWER)

    # The request for stored data: refusing is offered only once Aurelia was consulted
    # (40(27)); then a ground of 40(21) and the reasons in writing (40(24)).
    page.goto(f"{xb}/requests/{stored['xb']}")
    expect(page.locator("section.request-content")).to_contain_text("203.0.113.7")
    refuse = page.locator("details.panel > summary", has_text=exactly(j.action("refuse")))
    consult = page.locator("details.panel > summary", has_text=exactly(j.action("consult")))
    expect(consult).to_be_visible()
    expect(refuse).to_have_count(0)
    j.shot(page, "stored-data")
    j.with_fields(stored["xb"], "consult", "consulted", reason=CONSULTATION)
    j.told(stored, "consulted", "sent", "consult")
    expect(j.peer.locator("ol.timeline > li").last).to_contain_text(CONSULTATION)
    # What an officer wrote keeps its own direction, its final question mark included.
    j.reads_left_to_right(j.peer, "ol.timeline > li:last-child", "confidentiality?")
    expect(refuse).to_be_visible()
    j.with_fields(stored["xb"], "refuse", "refused", ground="essential_interests", reason=REFUSAL)
    j.told(stored, "refused", "refused", "refuse", axe=True)
    expect(j.peer.locator("ol.timeline > li").last).to_contain_text(REFUSAL)

    # The desk afterwards: the executed and the refused requests have left it; the
    # preservation stays, counting down (art. 42).
    page.goto(xb + "/desk")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(preservation["xb"])
    expect(rows.first).to_contain_text(t("preserved until %(when)s").split("%")[0].strip())
    j.shot(page, "desk-after")


def _now() -> datetime:
    return datetime.now(UTC)
