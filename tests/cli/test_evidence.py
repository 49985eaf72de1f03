"""``hanoinet evidence`` as a user runs it: on the demo's nodes (real key files, a real
signed directory), the requested State (Borealis, XB) packs evidence answering a request
it received from Aurelia (XA); Aurelia verifies, reads the custody, unpacks; a court
with only the package, the age key and the directory authority's public key verifies too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hanoinet import demo
from hanoinet.evidence import agekeys
from hanoinet.services import cases as case_service
from hanoinet.services import node as node_service
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store
from hanoinet.store.schema import audit

UID = "6f1c2b3a-0000-4000-8000-00000000c001"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> demo.Demo:
    root = tmp_path_factory.mktemp("evidence-nodes")
    cluster = demo.Demo(root)
    cluster.setup(users=False)
    text = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json").read_text("utf-8")
    for node, direction, peer in (("xa", "outgoing", "xb-node"), ("xb", "incoming", "xa-node")):
        store = open_store(f"sqlite:///{root / node / 'hanoinet.db'}", migrate=False)
        with store.transaction() as conn:
            made = case_service.create_in(
                conn,
                json.loads(text),
                [],
                direction=direction,
                actor="inbox",  # type: ignore[arg-type]
                at=datetime.now(UTC),
                uid=UID,
                peer_node=peer,
            )
        assert made.request_id == "R-000001"
        store.dispose()
    return cluster


def _run(
    cluster: demo.Demo, node: str | None, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cluster.call(node, *args, extra=extra)


def _files(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "subscriber.csv").write_text("account,created\ndemo-user,2024-01-01\n")
    (folder / "traffic.log").write_bytes(b"2026-11-30T10:00Z 192.0.2.7 -> 198.51.100.9\n" * 1000)
    return folder


def _pack(cluster: demo.Demo, tmp_path: Path, out: Path) -> dict[str, Any]:
    done = _run(
        cluster,
        "xb",
        "evidence",
        "pack",
        str(_files(tmp_path)),
        "--case",
        "R-000001",
        "--out",
        str(out),
        "--collected-by",
        "Cyber unit of Borealis (demo)",
        "--collected-at",
        "2026-12-01T08:30:00Z",
        "--tool",
        "ExampleExporter 2.1",
        "--method",
        "provider export on production order",
        "--condition",
        "Not to be shown to the press before trial (demo)",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pack_verify_custody_unpack(cluster: demo.Demo, tmp_path: Path) -> None:
    out = tmp_path / "EV.age"
    packed = _pack(cluster, tmp_path, out)
    assert packed["package"] == "EV-xb-node-000001" or packed["package"].startswith("EV-xb-node-")
    assert packed["recipient"] == "xa-node" and packed["request"] == "R-000001"
    assert {f["path"] for f in packed["files"]} == {
        "data/export/subscriber.csv",
        "data/export/traffic.log",
    }

    verified = _run(cluster, "xa", "evidence", "verify", str(out), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["verified"] is True and report["sender"] == "xb-node"
    assert {c["check"]: c["status"] for c in report["checks"]}["CASE/UCO"] == "passed"
    kinds = [c["kind"] for c in report["conditions"]["conditions"]]
    assert kinds[:2] == ["speciality", "onward_transfer"] and "imposed" in kinds

    # the sender can verify its own copy (it encrypted to itself as well)
    assert _run(cluster, "xb", "evidence", "verify", str(out), "--no-case").returncode == 0

    timeline = json.loads(_run(cluster, "xa", "evidence", "custody", str(out), "--json").stdout)
    assert [s["action"] for s in timeline["steps"]] == ["collection", "packaging"]
    assert timeline["steps"][0]["performer"] == "Cyber unit of Borealis (demo)"
    assert timeline["steps"][0]["tool"] == "ExampleExporter 2.1"
    assert timeline["steps"][1]["performer"] == "xb-officer (demo)"
    human = _run(cluster, "xa", "evidence", "custody", str(out)).stdout
    assert (
        "2026-12-01T08:30:00Z  collection by Cyber unit of Borealis (demo) with ExampleExporter 2.1"
        in human
    )

    unpacked = _run(
        cluster, "xa", "evidence", "unpack", str(out), "--to", str(tmp_path / "received"), "--json"
    )
    assert unpacked.returncode == 0, unpacked.stdout
    folder = Path(json.loads(unpacked.stdout)["unpacked_to"])
    assert (folder / "data/export/traffic.log").stat().st_size == 44 * 1000

    # a court: only the package, the age identity and the authority's public key; no node
    keys = node_service.load_keys(cluster.root / "xa", None)
    identity = tmp_path / "xa.agekey"
    identity.write_text(
        agekeys.identity_string(keys.active("enc", datetime.now(UTC)).private) + "\n"
    )
    court = subprocess.run(
        [
            sys.executable,
            "-m",
            "hanoinet",
            "evidence",
            "verify",
            str(out),
            "--identity",
            str(identity),
            "--authority",
            str(cluster.authority),
            "--no-case",
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert court.returncode == 0, court.stdout + court.stderr
    assert "VERIFIED: EV-xb-node-" in court.stdout and "ok   signature" in court.stdout


def test_a_package_for_someone_else_fails_with_exit_1(cluster: demo.Demo, tmp_path: Path) -> None:
    out = tmp_path / "EV.age"
    _pack(cluster, tmp_path, out)
    done = _run(cluster, "xc", "evidence", "verify", str(out))
    assert done.returncode == 1
    assert (
        "FAIL decrypt" in done.stdout and "not encrypted to any key this node holds" in done.stdout
    )


def test_packing_is_audited_with_the_package_number(cluster: demo.Demo, tmp_path: Path) -> None:
    packed = _pack(cluster, tmp_path, tmp_path / "EV.age")
    store = open_store(f"sqlite:///{cluster.root / 'xb' / 'hanoinet.db'}", migrate=False)
    try:
        with store.transaction() as conn:
            from sqlalchemy import select

            rows = conn.execute(select(audit).where(audit.c.action == "evidence.pack")).all()
            assert packed["package"] in {json.loads(r.detail)["package"] for r in rows}
            assert audit_log.verify(conn).ok
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "R-999999"], "no request R-999999"),
        (["--case", "R-000001", "--collected-at", "yesterday"], "--collected-at"),
        (["--case", "R-000001", "--collected-by", " "], "--collected-by is empty"),
        (["--case", "R-000001", "--condition", "  "], "--condition is empty"),
    ],
)
def test_pack_bad_input_is_one_clear_line(
    cluster: demo.Demo, tmp_path: Path, args: list[str], message: str
) -> None:
    base = {"--collected-by": "unit", "--collected-at": "2026-12-01T08:30:00Z"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for k, v in base.items() for x in (k, v)]
    out = tmp_path / "x.age"
    done = _run(cluster, "xb", "evidence", "pack", str(_files(tmp_path)), "--out", str(out), *flat)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_pack_a_missing_path_names_it(cluster: demo.Demo, tmp_path: Path) -> None:
    done = _run(
        cluster,
        "xb",
        "evidence",
        "pack",
        str(tmp_path / "gone.img"),
        "--case",
        "R-000001",
        "--out",
        str(tmp_path / "x.age"),
        "--collected-by",
        "u",
        "--collected-at",
        "2026-12-01",
    )
    assert done.returncode == 2 and "gone.img" in done.stderr


def test_send_over_http_then_export_as_the_conditions_allow(
    cluster: demo.Demo, tmp_path: Path
) -> None:
    out = tmp_path / "EV.age"
    package = _pack(cluster, tmp_path, out)["package"]
    with (tmp_path / "xa-serve.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "hanoinet", "serve"],
            env=cluster.env("xa"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        cluster.wait(cluster._health_check("xa"), "Aurelia is up", timeout=90)
        sent = _run(cluster, "xb", "evidence", "send", str(out), "--chunk-mib", "1", "--json")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert json.loads(sent.stdout) == {
            "package": package, "state": "queued", "chunks": 1, "chunks_sent": 0,
            "resumed_at_chunk": 0, "chunks_sent_again": 0, "problems": [],
        }  # fmt: skip
        told = _run(cluster, "xb", "evidence", "send", str(out))  # said twice: queued once
        assert "queued (1 chunk)" in told.stdout and "the worker sends it" in told.stdout
        # Borealis's worker sends it; Aurelia answers the last chunk at once ("verifying")
        assert _run(cluster, "xb", "worker", "--once").returncode == 0
        listed = json.loads(_run(cluster, "xb", "evidence", "list", "--json").stdout)
        [mine] = [p for p in listed["packages"] if p["package"] == package]
        assert (mine["state"], mine["chunks_done"], mine["attempts"]) == ("verifying", 1, 0)
        assert mine["stalled_since"] is None and mine["last_error"] is None
        # Aurelia's worker verifies it (its signed decision waits for Borealis's node, which
        # is not running here); sending again learns the decision from the offer's answer.
        assert _run(cluster, "xa", "worker", "--once").returncode == 0
        again = _run(cluster, "xb", "evidence", "send", str(out), "--wait", "--json")
        assert (
            json.loads(again.stdout)["state"] == "delivered"
            and json.loads(again.stdout)["chunks_sent"] == 0
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Aurelia's receipt came back with the answer: Borealis hands it over with the package,
    # and anyone verifies the package at the time it proves (issue 26 item 4).
    receipt = tmp_path / "receipt.jws"
    handed = _run(cluster, "xb", "evidence", "receipt", package, "--out", str(receipt), "--json")
    assert handed.returncode == 0, handed.stderr
    shown = json.loads(handed.stdout)
    assert shown["receiver"] == "xa-node" and shown["written_to"] == str(receipt)
    checked = _run(
        cluster, "xa", "evidence", "verify", str(out), "--receipt", str(receipt), "--json"
    )
    assert checked.returncode == 0, checked.stdout
    anchor = json.loads(checked.stdout)["anchor"]
    assert (anchor["kind"], anchor["by"], anchor["at"]) == (
        "receipt",
        "xa-node",
        shown["received_at"],
    )
    alone = json.loads(_run(cluster, "xa", "evidence", "verify", str(out), "--json").stdout)
    assert alone["anchor"]["kind"] == "signer"
    missing = _run(cluster, "xa", "evidence", "verify", str(out), "--receipt", str(tmp_path / "no"))
    assert (
        missing.returncode == 2
        and "--receipt" in missing.stderr
        and "No such file" in missing.stderr
    )
    listed = json.loads(_run(cluster, "xa", "evidence", "list", "--json").stdout)["packages"]
    mine = next(p for p in listed if p["package"] == package)
    assert (
        mine["state"] == "accepted"
        and mine["direction"] == "incoming"
        and mine["chunks_done"] == mine["chunks"]
    )

    done = _run(
        cluster, "xa", "evidence", "export", package, "--to", str(tmp_path / "use"), "--json"
    )
    assert done.returncode == 0, done.stderr
    assert (Path(json.loads(done.stdout)["exported_to"]) / "data/export/subscriber.csv").exists()

    other = _run(
        cluster,
        "xa",
        "evidence",
        "export",
        package,
        "--to",
        str(tmp_path / "other"),
        "--for-matter",
        "Case 99/2027",
    )
    assert other.returncode == 2 and "40(19)" in other.stderr and "evidence permit" in other.stderr
    assert not (tmp_path / "other").exists() or not list((tmp_path / "other").iterdir())
    onward = _run(
        cluster,
        "xa",
        "evidence",
        "export",
        package,
        "--to",
        str(tmp_path / "onward"),
        "--transfer-to",
        "XC",
    )
    assert onward.returncode == 2 and "36(3)" in onward.stderr

    permitted = _run(
        cluster,
        "xa",
        "evidence",
        "permit",
        package,
        "--consent-for",
        "Case 99/2027",
        "--reference",
        "XB-MoJ letter 2026/881",
    )
    assert permitted.returncode == 0, permitted.stderr
    allowed = _run(
        cluster,
        "xa",
        "evidence",
        "export",
        package,
        "--to",
        str(tmp_path / "other"),
        "--for-matter",
        "case 99/2027",
        "--json",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["permission"]["reference"] == "XB-MoJ letter 2026/881"

    history = json.loads(_run(cluster, "xa", "evidence", "custody", package, "--json").stdout)
    actions = [e["action"] for e in history["on_this_node"]]
    assert actions[:2] == ["evidence.offered", "evidence.received"]
    assert actions.count("evidence.export") == 2 and "evidence.consent" in actions
    assert history["anchor"]["kind"] == "receipt" and history["anchor"]["by"] == "xa-node"
    said = _run(cluster, "xa", "evidence", "custody", package).stdout
    assert "signing time: received by xa-node at" in said


def test_a_transfer_the_worker_cannot_move_is_not_delivered_in_the_log_and_the_list(
    cluster: demo.Demo, tmp_path: Path
) -> None:
    """Issue 26 item 1: Aurelia's node is down. Borealis's worker tries, counts the failure
    and backs off; once the transfer has not moved for HANOINET_TRANSFER_ALARM_MINUTES its
    log says NOT DELIVERED (at warning level, with the package) and so does evidence list."""
    from sqlalchemy import update

    from hanoinet.store.schema import evidence

    out = tmp_path / "EV.age"
    package = _pack(cluster, tmp_path, out)["package"]
    assert _run(cluster, "xb", "evidence", "send", str(out), "--json").returncode == 0
    store = open_store(f"sqlite:///{cluster.root / 'xb' / 'hanoinet.db'}", migrate=False)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    try:
        with store.transaction() as conn:  # queued an hour ago, and never moved since
            conn.execute(
                update(evidence).where(evidence.c.id == package).values(updated_at=an_hour_ago)
            )
        done = _run(cluster, "xb", "worker", "--once")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith('{"ts"')]
        tried = next(x for x in lines if x["message"] == "evidence not sent")
        assert tried["level"] == "warning" and tried["package"] == package
        assert "failed 3 times" in tried["error"]
        alarm = next(
            x for x in lines if x["message"] == "NOT DELIVERED" and x.get("package") == package
        )
        assert alarm["level"] == "warning" and alarm["since"] == an_hour_ago.isoformat()
        listed = _run(cluster, "xb", "evidence", "list")
        assert f"NOT DELIVERED: stalled since {an_hour_ago:%Y-%m-%d %H:%M} UTC" in listed.stdout
        assert "1 failed attempt, next at" in listed.stdout
        [mine] = [
            p
            for p in json.loads(_run(cluster, "xb", "evidence", "list", "--json").stdout)[
                "packages"
            ]
            if p["package"] == package
        ]
        assert mine["stalled_since"] == an_hour_ago.isoformat() and mine["attempts"] == 1
        assert mine["next_attempt_at"] > datetime.now(UTC).isoformat()
    finally:
        with store.transaction() as conn:  # the other tests' workers leave it alone
            conn.execute(update(evidence).where(evidence.c.id == package).values(state="refused"))
        store.dispose()


def test_with_a_tsa_in_settings_each_package_is_time_stamped(
    cluster: demo.Demo, tmp_path: Path, tsa: Any
) -> None:
    """HANOINET_TSA_URL: evidence pack has the signature stamped; evidence verify checks the
    stamp against --tsa-root (or HANOINET_TSA_ROOTS) and says it used it (issue 26 item 4)."""
    out = tmp_path / "EV.age"
    packed = _run(
        cluster, "xb", "evidence", "pack", str(_files(tmp_path)), "--case", "R-000001",
        "--out", str(out), "--collected-by", "Cyber unit of Borealis (demo)",
        "--collected-at", "2026-12-01T08:30:00Z", "--json",
        extra={"HANOINET_TSA_URL": tsa.url},
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    checked = _run(cluster, "xa", "evidence", "verify", str(out), "--tsa-root", str(tsa.root_pem))
    assert checked.returncode == 0, checked.stdout
    assert "time-stamped by Test TSA (hanoinet tests)" in checked.stdout
    configured = _run(
        cluster, "xa", "evidence", "verify", str(out), "--json",
        extra={"HANOINET_TSA_ROOTS": str(tsa.root_pem)},
    )  # fmt: skip
    assert json.loads(configured.stdout)["anchor"]["kind"] == "timestamp"
    plain = _run(cluster, "xa", "evidence", "verify", str(out))
    assert plain.returncode == 0 and "a time-stamp is in the package, not checked" in plain.stdout
    other = _run(
        cluster, "xa", "evidence", "verify", str(out), "--tsa-root", str(tsa.other_root_pem)
    )
    assert other.returncode == 1 and "timestamp_untrusted" in other.stdout
    down = tmp_path / "never.age"
    failed = _run(
        cluster, "xb", "evidence", "pack", str(tmp_path / "export"), "--case", "R-000001",
        "--out", str(down), "--collected-by", "Cyber unit of Borealis (demo)",
        "--collected-at", "2026-12-01T08:30:00Z",
        extra={"HANOINET_TSA_URL": "http://127.0.0.1:9/tsa"},
    )  # fmt: skip
    assert failed.returncode == 2, failed.stdout
    assert "did not stamp" in failed.stderr and "unset HANOINET_TSA_URL" in failed.stderr
    assert not list(tmp_path.glob("never.age*"))
