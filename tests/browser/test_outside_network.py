"""Working with a State that runs no node, both ways, in a real browser (issue 24).

Aurelia's central-authority officer sends Dorado (XD, which runs no node) a request by
e-mail from the preview (a real SMTP server on loopback takes it, STARTTLS and all), then
records Dorado's acknowledgement, the start of execution and the execution from the case
page, each with its scanned letter attached. Dorado's own request came by the diplomatic bag:
the officer starts a draft "sent by letter" from Dorado, types it in (here through the
service, as the wizard's steps would: tests/web/test_drafting.py), and registers it from the
preview with the scanned note; then acknowledges it from its case page and sends the letter
that says so by e-mail. The desk
lists Dorado's request with its acknowledgement clock; the statistics count both channels.
The case pages are seen, and checked with axe-core, in English and in Arabic."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.services.outside import dispatches_of
from hanoinet.web.app import create_app

from ..services import test_outside

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)
smtp = test_outside.smtp
Inbox = test_outside.Inbox
SCAN = b"%PDF-1.7\n% Dorado's letter, scanned (test)\n%%EOF\n"


@pytest.fixture
def aurelia(
    tmp_path: Path,
    store_factory: Any,
    lone_node: Callable[..., Any],
    serving: Callable[..., Any],
    smtp: tuple[Inbox, Any],
) -> Iterator[dict[str, Any]]:
    """Aurelia's node alone in its directory (Dorado runs none), with a mail server; a
    request to Dorado ready to send, and Dorado's request registered from its letter."""
    inbox, mailer = smtp
    at, keys, port, directory = lone_node("xa-ca", "Central authority of Aurelia (demo)")
    with store_factory("sqlite", tmp_path) as store:
        ctx = NodeContext("xa-ca", keys, directory, store)
        password = users.create_user(store, "carl", "central_authority_officer", actor="a", at=at)
        example = json.loads((ROOT / "examples" / "mla-xa-xb.json").read_text("utf-8"))
        to_dorado = case_service.new_case(
            store,
            json.dumps(example | {"requested_state": "XD"}),
            direction="outgoing",
            actor="carl",
            at=at,
        ).request_id
        letter = example | {"requesting_state": "XD", "requested_state": "XA", "urgency": "urgent"}
        with serving(create_app(ctx, mailer=mailer), port):
            yield {
                "url": f"http://127.0.0.1:{port}",
                "store": store,
                "password": password,
                "out": to_dorado,
                "letter": letter,
                "inbox": inbox,
                "directory": directory,
            }


@pytest.fixture
def page(browser: Browser, axe_in_pages: Callable[[BrowserContext], None]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    axe_in_pages(context)
    try:
        yield context.new_page()
    finally:
        context.close()


def _record(page: Page, action: str, tmp_path: Path, reference: str) -> None:
    """Record from the case page what Dorado sent, its scanned letter attached."""
    scan = tmp_path / f"{action}.pdf"
    scan.write_bytes(SCAN)
    page.locator("details.panel > summary", has_text="Record what the other State sent").click()
    panel = page.locator("details.panel[open]")
    panel.get_by_label("What it did").select_option(action)
    panel.get_by_label("How it came").select_option("post")
    panel.get_by_label("Its reference").fill(reference)
    panel.get_by_label("The scanned letter or the e-mail").set_input_files(str(scan))
    panel.get_by_role("button", name="Record it").click()
    page.wait_for_load_state()


def test_a_request_to_and_a_request_from_a_state_that_runs_no_node(
    aurelia: dict[str, Any],
    page: Page,
    log_in: Callable[..., None],
    step: Callable[..., None],
    tmp_path: Path,
) -> None:
    url, store, inbox = aurelia["url"], aurelia["store"], aurelia["inbox"]
    out = aurelia["out"]
    log_in(page, url, "carl", aurelia["password"])

    # To Dorado, by e-mail from the preview: the signed document and the request as data.
    page.goto(f"{url}/drafts/{out}/preview")
    email = page.locator("#means-email")
    expect(email).to_be_enabled()
    expect(email).to_be_checked()
    step(page, "outside-01-preview")
    page.get_by_role("button", name="Send the request").click()
    expect(page).to_have_url(re.compile(rf"/requests/{out}"))
    [(_sender, _recipients, raw)] = inbox.messages
    message = message_from_bytes(raw, policy=policy.default)
    assert out in str(message["Subject"])
    assert [a.get_filename() for a in message.iter_attachments()] == [
        f"request-{out}.pdf",
        f"request-{out}.json",
    ]
    letters = page.locator(f"#letters-{out}")
    expect(letters).to_contain_text("Accepted by the mail server")
    step(page, "outside-02-sent")

    # Dorado answers by post: each letter recorded with its scan moves the request.
    for action, state, reference in (
        ("acknowledge", "Acknowledged", "DOR/CCU/2026/77"),
        ("start_execution", "In execution", "DOR/CCU/2026/78"),
        ("execute", "Executed", "DOR/CCU/2026/79"),
    ):
        _record(page, action, tmp_path, reference)
        expect(page.locator("dl.summary strong").first).to_have_text(state)
        expect(letters).to_contain_text(reference)
    expect(letters.locator("a", has_text="execute.pdf")).to_have_count(1)
    step(page, "outside-03-executed")
    assert [x.status for x in dispatches_of(store, out)] == ["sent"] + ["received"] * 3

    # Dorado's request came by the diplomatic bag: typed in, then registered with its note.
    page.goto(f"{url}/drafts/new")
    page.locator("#kind-stored_data").check()
    page.get_by_label("Or: a request another State sent by letter or e-mail").select_option("XD")
    page.get_by_role("button", name="Start the draft").click()
    expect(page).to_have_url(re.compile(r"/drafts/R-\d+"))
    match = re.search(r"/drafts/(R-\d+)", page.url)
    assert match is not None
    came = match.group(1)
    case_service.edit(
        store, came, json.dumps(aurelia["letter"]), actor="carl", at=dt.datetime.now(dt.UTC)
    )
    page.goto(f"{url}/drafts/{came}/preview")
    note = tmp_path / "note-verbale.pdf"
    note.write_bytes(SCAN)
    register = page.locator(f"form[action='/drafts/{came}/register']")
    register.get_by_label("How it came").select_option("diplomatic")
    register.get_by_label("Its reference").fill("Note verbale 45/2026 (demo)")
    register.get_by_label("The scanned letter or the e-mail").set_input_files(str(note))
    step(page, "outside-04-register")
    register.get_by_role("button", name="Register it as received").click()
    expect(page).to_have_url(re.compile(rf"/requests/{came}\?done=receive"))
    expect(page.locator("dl.summary strong").first).to_have_text("Received")
    expect(page.locator(f"#letters-{came}")).to_contain_text("note-verbale.pdf")

    # On the desk, owing its acknowledgement.
    page.goto(f"{url}/desk")
    expect(page.locator("#queue")).to_contain_text(came)
    step(page, "outside-05-desk")
    page.goto(f"{url}/requests/{came}")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/requests/{came}\?done=acknowledge"))
    # ... and Dorado is told by a letter, signed, sent from the case page by e-mail.
    form = page.locator("form.send-letter")
    expect(form).to_contain_text("Send the letter: Acknowledge")
    expect(page.get_by_role("link", name="The letter to print (PDF)")).to_have_count(1)
    step(page, "outside-05-letter-to-send")
    form.get_by_label("How it goes").select_option("email")
    form.get_by_role("button", name="Send it").click()
    page.wait_for_load_state()
    expect(page.locator(f"#letters-{came}")).to_contain_text("Accepted by the mail server")
    expect(page.locator("form.send-letter")).to_have_count(0)
    assert len(inbox.messages) == 2
    reply = message_from_bytes(inbox.messages[1][2], policy=policy.default)
    assert str(reply["Subject"]).startswith(f"Acknowledgement of receipt · request {came}")
    step(page, "outside-06-letter-sent")

    # The statistics count both: the request sent by e-mail, the one received by the bag.
    page.goto(f"{url}/statistics")
    table = page.locator("#channels + p + figure + div table, h2#channels ~ div table").first
    expect(page.locator("h2#channels")).to_have_text("By channel")
    expect(table).to_contain_text("E-mail")
    expect(table).to_contain_text("Diplomatic channel")
    step(page, "outside-07-statistics")

    # The same pages in Arabic.
    page.locator("#lang-select").select_option("ar")
    page.locator("form.lang button").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.goto(f"{url}/requests/{out}")
    step(page, "outside-08-case-ar")
    page.goto(f"{url}/requests/{came}")
    step(page, "outside-09-reply-ar")
    # a long Message-ID in the letters' table wraps: the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    when = dt.datetime.now(dt.UTC)
    assert case_service.show(store, came, actor="t", at=when).requests[0].summary.state == (
        "acknowledged"
    )
