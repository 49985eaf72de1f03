"""The web desk in a real browser: Debian's chromium (/usr/bin/chromium) driven by Playwright,
against a node served by uvicorn on loopback. A duty officer logs in for the first time (new
password, TOTP authenticator), sees an emergency request on the 24/7 desk, acknowledges it with
one click, and opens the case; then the same in Arabic. Every step is saved as a screenshot in
test-artifacts/screenshots/ and checked with axe-core (no serious or critical violation)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
EXAMPLE = ROOT / "examples" / "preservation-xa-xb.json"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def node(tmp_path: Path, store_factory: Any) -> Iterator[dict[str, Any]]:
    at = datetime.now(UTC) - timedelta(minutes=5)
    keys = KeySet.generate(at - timedelta(days=1))
    port = _free_port()
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
    with store_factory("sqlite", tmp_path) as store:
        document = json.loads(EXAMPLE.read_text("utf-8"))
        document["urgency"] = "emergency"
        created = case_service.new_case(
            store, json.dumps(document), direction="incoming", actor="node:xa-ca", at=at
        )
        password = users.create_user(store, "dora", "duty_officer", actor="admin", at=at)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(NodeContext("xb-ca", keys, directory, store)),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the node did not start"
        try:
            yield {
                "url": f"http://127.0.0.1:{port}",
                "password": password,
                "request": created.request_id,
                "store": store,
            }
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _step(page: Page, name: str) -> None:
    """Save a screenshot of this step and check it with axe-core."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: accessibility violations: {serious}"


def test_first_log_in_desk_acknowledge_and_case_page(node: dict[str, Any], page: Page) -> None:
    url = node["url"]
    page.goto(url + "/")
    assert page.url.endswith("/login")
    _step(page, "01-login")
    page.get_by_label("User name").fill("dora")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("User name").input_value() == "dora"  # what was typed is kept
    _step(page, "02-login-error")
    page.get_by_label("Password").fill(node["password"])
    page.get_by_role("button", name="Continue").click()
    assert page.url.endswith("/login/setup")
    _step(page, "03-setup")
    secret = page.locator("code.secret").inner_text().strip()
    page.get_by_label("New password", exact=True).fill("correct horse battery staple")
    page.get_by_label("New password again").fill("correct horse battery staple")
    page.get_by_label("Code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Save and log in").click()
    assert page.url.endswith("/desk")
    row = page.get_by_role("row").filter(has_text=node["request"])
    assert row.get_by_text("emergency").is_visible()
    _step(page, "04-desk")
    row.get_by_role("button", name=re.compile("Acknowledge")).click()
    assert page.url.endswith("/desk")
    acknowledged = page.get_by_role("row").filter(has_text=node["request"])
    assert acknowledged.get_by_text("acknowledged").is_visible()
    _step(page, "05-desk-acknowledged")
    acknowledged.get_by_role("link", name=node["request"]).click()
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.get_by_text("Record preservation executed").is_visible()
    _step(page, "06-case")
    # Keyboard only: the skip link is the first stop and takes focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    # The same desk in Arabic: right to left, and still no serious accessibility violation.
    page.get_by_label("Language").select_option("ar")
    page.locator("form.lang button").click()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    _step(page, "07-case-ar")
    page.goto(url + "/desk")
    _step(page, "08-desk-ar")
