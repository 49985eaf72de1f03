"""Kill -9 ``evidence unpack`` and ``evidence export`` at random points while they write evidence
in clear (issue 26 item 3): the next command on the node finds what they left and shreds it,
nothing in clear stays anywhere, and the audit chain verifies with each removal in it.

A real node on disk (the demo's Aurelia), a package that came on media from Dorado (a State
without a node), real processes killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import bagit  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from hanoinet import demo
from hanoinet.evidence import staging
from hanoinet.services.staging import ACTION
from hanoinet.store import open_store
from hanoinet.store.schema import audit

KILLS = 10
PAYLOAD = 12 * 1024 * 1024
EXAMPLE = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json")


def _accepted_package(aurelia: demo.Demo, tmp_path: Path) -> str:
    """A request Aurelia sent to Dorado by the diplomatic channel, and Dorado's evidence, come
    by courier on a stick: an accepted package of Aurelia's node."""
    to_dorado = tmp_path / "to-dorado.json"
    to_dorado.write_text(json.dumps(json.loads(EXAMPLE.read_text()) | {"requested_state": "XD"}))
    made = json.loads(aurelia.call("xa", "case", "new", "--from", str(to_dorado), "--json").stdout)
    ident = made["request"]
    assert aurelia.call("xa", "case", "act", ident, "check").returncode == 0
    sent = aurelia.call(
        "xa", "case", "act", ident, "send", "--by", "diplomatic", "--reference", "NV 1/2026"
    )
    assert sent.returncode == 0, sent.stderr
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "disk-image.bin").write_bytes(os.urandom(PAYLOAD))
    today = datetime.now(UTC).date().isoformat()
    imported = aurelia.call(
        "xa", "evidence", "import", str(stick), "--case", ident, "--by", "courier",
        "--arrived-on", today, "--collected-by", "Policía Nacional de Dorado (demo)",
        "--collected-at", today, "--json",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    return str(json.loads(imported.stdout)["package"])


def _in_clear(root: Path) -> list[Path]:
    """Every staging folder under ``root`` (os.walk: a folder renamed meanwhile is skipped)."""
    return sorted(
        Path(where) / name
        for where, folders, _files in os.walk(root)
        for name in folders
        if name.startswith((staging.PREFIX, staging.MAKING))
    )


def _start(aurelia: demo.Demo, args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hanoinet", *args],
        env=aurelia.env("xa"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _window(aurelia: demo.Demo, args: list[str], root: Path) -> float:
    """Seconds from the staging folder's appearance to the end of a whole run (calibration)."""
    proc = _start(aurelia, args)
    while not _in_clear(root) and proc.poll() is None:
        time.sleep(0.005)
    seen = time.monotonic()
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - seen


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_kill_minus_nine_leaves_no_evidence_in_clear(tmp_path: Path) -> None:
    aurelia = demo.Demo(tmp_path / "nodes")
    aurelia.setup(("xa",), users=False)
    package = _accepted_package(aurelia, tmp_path)
    stored = tmp_path / "nodes" / "xa" / "evidence" / "store" / f"{package}.age"
    out = tmp_path / "out"
    commands = {
        "unpack": lambda n: ["evidence", "unpack", str(stored), "--to", str(out / f"u{n}")],
        "export": lambda n: ["evidence", "export", package, "--to", str(out / f"e{n}")],
    }
    windows = {what: _window(aurelia, make(0), tmp_path) for what, make in commands.items()}
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    left_behind = 0
    for n in range(1, KILLS + 1):
        what = "unpack" if n % 2 else "export"
        proc = _start(aurelia, commands[what](n))
        while not _in_clear(tmp_path) and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, windows[what]))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        found = _in_clear(tmp_path)
        left_behind += len(found)
        # The next command on the node, whatever it is, removes them first.
        listed = aurelia.call("xa", "evidence", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert _in_clear(tmp_path) == [], (seed, n, what)
        assert list((stored.parent.parent / staging.JOURNAL).iterdir()) == []
        for done in out.glob("*/EV-*"):  # a run the kill came too late for: a whole bag
            bagit.Bag(str(done)).validate(completeness_only=True)
    print(f"seed {seed}: {left_behind} of {KILLS} kills left evidence in clear; windows {windows}")
    assert left_behind >= KILLS // 2, f"too few kills landed while writing (seed {seed})"
    verified = json.loads(aurelia.call("xa", "audit", "verify", "--json").stdout)
    assert verified["ok"] is True, verified
    store = open_store(f"sqlite:///{tmp_path / 'nodes' / 'xa' / 'hanoinet.db'}", migrate=False)
    try:
        with store.transaction() as conn:
            removals = conn.execute(select(audit.c.detail).where(audit.c.action == ACTION)).all()
    finally:
        store.dispose()
    assert len(removals) == left_behind, seed
    assert all(json.loads(r.detail)["path"].startswith(str(tmp_path)) for r in removals)
