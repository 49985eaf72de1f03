"""``hanoinet document`` as a user runs it, on the demo's nodes (real key files, a real
signed directory): render a request this node sent (signed) or a file (never signed),
verify offline with only the directory authority's key, list and save what the worker
issued; bad input is one clear line and exit 2, a draft exit 1."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hanoinet import demo

EXAMPLE = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> demo.Demo:
    cluster = demo.Demo(tmp_path_factory.mktemp("document-nodes"))
    cluster.setup(("xa", "xb"), users=False)  # Aurelia sends to Borealis
    return cluster


def _run(cluster: demo.Demo, node: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return cluster.call(node, *args)


def _json(cluster: demo.Demo, node: str | None, *args: str) -> Any:
    done = _run(cluster, node, *args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sent(cluster: demo.Demo) -> str:
    """A request Aurelia (XA) has sent (no peer is running: it waits in the outbox)."""
    made = _json(cluster, "xa", "case", "new", "--from", str(EXAMPLE), "--title", "Demo")
    for action in ("check", "send"):
        assert _run(cluster, "xa", "case", "act", made["request"], action).returncode == 0
    return str(made["request"])


def test_a_sent_request_renders_signed_and_verifies_offline(
    cluster: demo.Demo, sent: str, tmp_path: Path
) -> None:
    out = tmp_path / "request-fr.pdf"
    made = _json(cluster, "xa", "document", "render", sent, "--lang", "fr", "--out", str(out))
    assert made["signed"] is True and made["draft"] is False and made["lang"] == "fr"
    assert (
        made["request"] == sent and made["path"] == str(out) and out.stat().st_size == made["bytes"]
    )
    checked = _json(cluster, None, "document", "verify", str(out), "--request", str(EXAMPLE))
    assert checked["ok"] is True, checked
    assert checked["signer"]["node"] == "xa-node" and checked["request_id"] == sent
    assert checked["request_sha256"] == made["request_sha256"]
    text = _run(cluster, None, "document", "verify", str(out))
    assert text.returncode == 0 and "VERIFIED:" in text.stdout and "ok   signer" in text.stdout
    assert "ECDSA P-256 key" in text.stdout  # the node's document key, as the directory lists
    # A common reader (Poppler, as in Evince and Okular) checks it too (issue 24 item 5).
    poppler = subprocess.run(["pdfsig", str(out)], capture_output=True, text=True, check=False)
    assert "Signature Validation: Signature is Valid." in poppler.stdout, poppler.stdout
    assert "Total document signed" in poppler.stdout

    tampered = tmp_path / "tampered.pdf"
    data = bytearray(out.read_bytes())
    at = data.index(b"/MediaBox")
    data[at + 12] = ord("9") if data[at + 12] != ord("9") else ord("8")
    tampered.write_bytes(bytes(data))
    refused = _run(cluster, None, "document", "verify", str(tampered))
    assert refused.returncode == 1 and "NOT VERIFIED" in refused.stdout
    assert "FAIL signature" in refused.stdout


def test_the_worker_issues_it_and_the_node_keeps_it(
    cluster: demo.Demo, sent: str, tmp_path: Path
) -> None:
    listed = _json(cluster, "xa", "document", "list", sent)
    assert [d["status"] for d in listed["documents"]] == ["pending"]
    assert _run(cluster, "xa", "worker", "--once").returncode == 0
    [issued] = _json(cluster, "xa", "document", "list", sent)["documents"]
    assert issued["status"] == "issued" and issued["signer"] == "xa-node" and issued["bytes"]
    out = tmp_path / "kept.pdf"
    saved = _json(cluster, "xa", "document", "save", sent, str(issued["id"]), "--out", str(out))
    assert saved["pdf_sha256"] == issued["pdf_sha256"] and out.stat().st_size == issued["bytes"]
    assert _json(cluster, None, "document", "verify", str(out))["ok"] is True
    missing = _run(cluster, "xa", "document", "save", sent, "99", "--out", str(out))
    assert missing.returncode == 2 and "has no formal document 99" in missing.stderr
    nothing = _run(cluster, "xa", "document", "reissue", sent)
    assert nothing.returncode == 2 and "has no formal document that failed" in nothing.stderr


def test_a_file_renders_unsigned_and_a_draft_exits_1(cluster: demo.Demo, tmp_path: Path) -> None:
    out = tmp_path / "from-file.pdf"
    done = _run(cluster, None, "document", "render", str(EXAMPLE), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "not signed: made from a file" in done.stdout
    broken = json.loads(EXAMPLE.read_text("utf-8"))
    broken["facts_summary"] = ""
    source = tmp_path / "broken.json"
    source.write_text(json.dumps(broken), encoding="utf-8")
    draft = _run(cluster, None, "document", "render", str(source), "--out", str(out), "--json")
    assert draft.returncode == 1
    assert json.loads(draft.stdout)["draft"] is True
    assert _run(cluster, None, "document", "verify", str(out)).returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("R-999999",), "no case or request 'R-999999'"),
        (("R-000001", "--lang", "de"), "--lang de: the formal document is made in the six UN"),
        (("nonsense",), "ids look like C-000001 or R-000001"),
    ],
)
def test_bad_input_is_one_clear_line(
    cluster: demo.Demo, sent: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "x.pdf"
    done = _run(cluster, "xa", "document", "render", *args, "--out", str(out))
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.startswith("error:") and not out.exists()


def test_verify_needs_a_pdf_and_a_trust_anchor(cluster: demo.Demo, tmp_path: Path) -> None:
    gone = _run(cluster, None, "document", "verify", str(tmp_path / "none.pdf"))
    assert gone.returncode == 2 and "none.pdf" in gone.stderr
    text = tmp_path / "note.pdf"
    text.write_text("not a pdf")
    checked = _json(cluster, None, "document", "verify", str(text))
    assert checked["ok"] is False and checked["checks"][0] == {
        "name": "structure",
        "ok": False,
        "detail": "not a PDF file",
    }
