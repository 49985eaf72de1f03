"""What the browser tests share: one Debian chromium (/usr/bin/chromium) per test module driven
by Playwright (never a downloaded browser), nodes served by uvicorn on loopback, Aurelia (XA)
and Borealis (XB) side by side, the first log-in, the worker's delivery, and each step saved
as a screenshot in test-artifacts/screenshots/ and checked with axe-core. The screenshots are
for people to look at: CI (``CI=true``), which keeps no artifacts, takes none (they cost a
third of a second each, some 250 of them); ``HANOINET_SCREENSHOTS=1`` takes them anyway and
``=0`` never. No assertion reads them.

With --import-mode=importlib a test module cannot import this file: the helpers reach the
tests as fixtures (``step``, ``log_in``, ``deliver``, ``serving``, ``lone_node``,
``glyph_xs``, ``reads_left_to_right``)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn
from axe_playwright_python.base import AXE_FILE_PATH, AXE_SCRIPT
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
NEW_PASSWORD = "correct horse battery staple"

Step = Callable[..., None]
LogIn = Callable[[Page, str, str, str], None]
Deliver = Callable[[NodeContext], list[str]]
Serving = Callable[[Any, int], AbstractContextManager[None]]
LoneNode = Callable[[str, str], tuple[datetime, KeySet, int, d.Directory]]

GLYPH_XS = """([selector, needle]) => {
  // The horizontal centre of each character of ``needle`` as laid out in the first text node
  // under ``selector`` that holds it (one Range per character).
  const root = document.querySelector(selector);
  if (!root) return null;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const xs = [];
    for (let k = at; k < at + needle.length; k++) {
      const range = document.createRange();
      range.setStart(node, k);
      range.setEnd(node, k + 1);
      const box = range.getBoundingClientRect();
      xs.push(box.left + box.width / 2);
    }
    return xs;
  }
  return null;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(app: Any, port: int) -> Iterator[None]:
    """Serve ``app`` with uvicorn on loopback in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the node did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _lone_node(node_id: str, name: str) -> tuple[datetime, KeySet, int, d.Directory]:
    """A node alone in its directory, on a free loopback port: now (five minutes ago, so
    that its keys are valid), its keys, the port and the directory."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    keys = KeySet.generate(at - timedelta(days=1))
    port = _free_port()
    entry = d.NodeEntry(
        id=node_id,
        state=node_id[:2].upper(),
        name=name,
        roles=("central_authority", "point_of_contact"),
        endpoint=f"http://127.0.0.1:{port}",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=at - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=at, valid_until=at + timedelta(days=30), nodes=(entry,)
    )
    return at, keys, port, directory


def _screenshots() -> bool:
    wanted = os.environ.get("HANOINET_SCREENSHOTS")
    if wanted in {"0", "1"}:
        return wanted == "1"
    return os.environ.get("CI", "").lower() not in {"true", "1"}


def _shoot(page: Page, name: str) -> None:
    """The whole page as test-artifacts/screenshots/<name>.png, for people to look at (not in
    CI: see the module's docstring)."""
    if _screenshots():
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _step(page: Page, name: str, *, axe: bool = True) -> None:
    """Save a screenshot of this step and check it with axe-core (``axe=False``: a page
    already checked in this language, seen again for what it now says)."""
    _shoot(page, name)
    if not axe:
        return
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)  # a context without axe_in_every_page
    violations = page.evaluate("axe.run({resultTypes: ['violations']}).then(r => r.violations)")
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
    ]
    assert found == [], f"{name}: accessibility violations: {found}"


def axe_in_every_page(context: BrowserContext) -> None:
    """Load axe-core into every page the context opens, as each document starts (the page's
    content security policy does not apply): sending it into each page before a check cost
    about 0.3 s a check."""
    context.add_init_script(path=AXE_FILE_PATH)


def _glyph_xs(page: Page, selector: str, needle: str) -> list[float] | None:
    xs = page.evaluate(GLYPH_XS, [selector, needle])
    return None if xs is None else [float(x) for x in xs]


def _reads_left_to_right(page: Page, selector: str, needle: str) -> None:
    """``needle`` (a key, an id, a date) is laid out left to right under ``selector``, in
    whatever direction the page is."""
    xs = _glyph_xs(page, selector, needle)
    assert xs is not None, f"{needle!r} not found under {selector}"
    assert all(a < b for a, b in pairwise(xs)), f"{needle!r} under {selector} is reordered: {xs}"


def _first_log_in(page: Page, url: str, username: str, password: str) -> None:
    """Password, then the set-up page: new password and the authenticator's code (TOTP)."""
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/login/setup")
    secret = page.locator("code.secret").inner_text().strip()
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#repeat_password", NEW_PASSWORD)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("form[action='/login/setup'] button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url


def _deliver(ctx: NodeContext) -> list[str]:
    """What `hanoinet worker` does: deliver the outbox (one message per request per round,
    in order) and settle it by the signed receipts, until nothing is left."""
    from hanoinet.exchange.transport import HttpTransport
    from hanoinet.services import federation

    transport = HttpTransport()
    statuses: list[str] = []
    try:
        for _round in range(10):
            done = federation.deliver_batch(ctx, transport, now=datetime.now(UTC))
            if not done:
                break
            statuses += [d.status for d in done]
        return statuses
    finally:
        transport.close()


@pytest.fixture
def step() -> Step:
    return _step


@pytest.fixture(scope="session")
def shoot() -> Callable[[Page, str], None]:
    return _shoot


@pytest.fixture(scope="session")
def axe_in_pages() -> Callable[[BrowserContext], None]:
    return axe_in_every_page


@pytest.fixture
def log_in() -> LogIn:
    return _first_log_in


@pytest.fixture
def deliver() -> Deliver:
    return _deliver


@pytest.fixture(scope="session")
def serving() -> Serving:
    """Serve an app on loopback for a block (a plain function: any fixture scope may use it)."""
    return _serving


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def lone_node() -> LoneNode:
    return _lone_node


@pytest.fixture
def glyph_xs() -> Callable[[Page, str, str], list[float] | None]:
    return _glyph_xs


@pytest.fixture
def reads_left_to_right() -> Callable[[Page, str, str], None]:
    return _reads_left_to_right


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for the module's tests (each test opens its own contexts): launching it is
    the slow part. Module-scoped, so that no Playwright loop outlives the browser tests."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    axe_in_every_page(context)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def two_nodes(tmp_path: Path, store_factory: Any) -> Iterator[dict[str, Any]]:
    """Aurelia (XA) and Borealis (XB), illustrative, each a node with its own database served
    on loopback; a requester and a supervisor at XA, a duty officer at XB."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    keys = {n: KeySet.generate(at - timedelta(days=1)) for n in ("xa-ca", "xb-ca")}
    ports = {n: _free_port() for n in keys}
    entries = tuple(
        d.NodeEntry(
            id=n,
            state=n[:2].upper(),
            name=f"{n} (illustrative)",
            roles=("central_authority", "point_of_contact"),
            endpoint=f"http://127.0.0.1:{ports[n]}",
            keys=tuple(d.PublicKey(**k) for k in keys[n].public()),
            languages=("en", "fr") if n == "xa-ca" else ("en", "es"),
            channels=("central_authority", "point_of_contact"),
            valid_from=at - timedelta(days=1),
            illustrative=True,
        )
        for n in keys
    )
    directory = d.Directory(
        version=1, issued_at=at, valid_until=at + timedelta(days=30), nodes=entries
    )
    (tmp_path / "xa").mkdir()
    (tmp_path / "xb").mkdir()
    with (
        store_factory("sqlite", tmp_path / "xa") as xa,
        store_factory("sqlite", tmp_path / "xb") as xb,
    ):
        ctx = {
            "xa-ca": NodeContext("xa-ca", keys["xa-ca"], directory, xa),
            "xb-ca": NodeContext("xb-ca", keys["xb-ca"], directory, xb),
        }
        passwords = {
            "rita": users.create_user(xa, "rita", "requester", actor="admin", at=at),
            "sam": users.create_user(xa, "sam", "supervisor", actor="admin", at=at),
            "dora": users.create_user(xb, "dora", "duty_officer", actor="admin", at=at),
        }
        with (
            _serving(create_app(ctx["xa-ca"]), ports["xa-ca"]),
            _serving(create_app(ctx["xb-ca"]), ports["xb-ca"]),
        ):
            yield {
                "ctx": ctx,
                "url": {n: f"http://127.0.0.1:{p}" for n, p in ports.items()},
                "passwords": passwords,
                "at": at,
            }
