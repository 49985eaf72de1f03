"""``hanoinet case``, ``audit`` and ``clock``: JSON shapes (docs/cli.md) and exit codes 0/1/2."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hanoinet.cli.main import app
from hanoinet.store import open_store

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
AT = "2026-11-24T03:00:00Z"
EVENT_KEYS = {"action", "at", "actor", "by", "article", "from", "to", "params"}


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HANOINET_USER", "alice")
    monkeypatch.delenv("HANOINET_DATABASE_URL", raising=False)
    open_store(f"sqlite:///{tmp_path / 'hanoinet.db'}").dispose()  # a node's database
    return tmp_path


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def open_case(*extra: str) -> dict[str, Any]:
    data: dict[str, Any] = ok_json("case", "new", "--from", str(EXAMPLE), "--at", AT, *extra)
    return data


def test_new_json(node: Path) -> None:
    data = open_case()
    assert set(data) == {"case", "request", "state", "findings"}
    assert (data["case"], data["request"], data["state"]) == ("C-000001", "R-000001", "draft")
    for finding in data["findings"]:
        assert set(finding) == {
            "code",
            "severity",
            "article",
            "article_verified",
            "basis",
            "field",
            "message",
        }
    incoming = open_case("--incoming", "--title", "From Aurelia")
    assert (incoming["case"], incoming["request"], incoming["state"]) == (
        "C-000002",
        "R-000002",
        "received",
    )
    assert (node / "hanoinet.db").exists()


def test_new_text_and_bad_file(node: Path) -> None:
    result = run("case", "new", "--from", str(EXAMPLE), "--at", AT)
    assert result.exit_code == 0
    assert "Case C-000001, request R-000001: draft" in result.stdout
    missing = run("case", "new", "--from", str(node / "nope.json"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    bad = node / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    assert run("case", "new", "--from", str(bad)).exit_code == 2
    huge = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    huge["persons"] = [{"name": "x"}] * 201
    bad.write_text(json.dumps(huge), encoding="utf-8")
    refused = run("case", "new", "--from", str(bad))
    assert refused.exit_code == 2
    assert "/persons has 201 items; at most 200" in refused.stderr
    assert [r["id"] for r in ok_json("case", "list")["requests"]] == ["R-000001"]


def test_act_json(node: Path) -> None:
    open_case()
    data = ok_json("case", "act", "C-000001", "check", "--at", "2026-11-24T03:05:00Z")
    assert set(data) == {"request", "case", "event", "created_request"}
    assert (data["request"], data["case"], data["created_request"]) == (
        "R-000001",
        "C-000001",
        None,
    )
    event = data["event"]
    assert set(event) == EVENT_KEYS
    assert event == {
        "action": "check",
        "at": "2026-11-24T03:05:00+00:00",
        "actor": "alice",
        "by": "requesting",
        "article": "40(15)",
        "from": "draft",
        "to": "checked",
        "params": {},
    }
    sent = run("case", "act", "R-000001", "send", "--at", "2026-11-24T03:06:00Z")
    assert sent.exit_code == 0
    assert "R-000001: send (40(13))" in sent.stdout and "checked -> sent" in sent.stdout


def test_refused_act_exits_2_naming_the_article(node: Path) -> None:
    open_case()
    result = run("case", "act", "C-000001", "send", "--at", AT)
    assert result.exit_code == 2
    assert "40(13)" in result.stderr
    assert result.stdout == ""
    incoming = open_case("--incoming")
    args = ("case", "act", incoming["request"])
    run(*args, "acknowledge", "--at", AT)
    run(*args, "consult", "--reason", "Conditions?", "--at", AT)
    refused = run(*args, "refuse", "--ground", "preservation_essential_interests", "--at", AT)
    assert refused.exit_code == 2
    assert "40(24)" in refused.stderr and "--reason" in refused.stderr
    fiscal = run(*args, "refuse", "--ground", "fiscal_matters", "--reason", "Tax.", "--at", AT)
    assert fiscal.exit_code == 2 and "40(23)" in fiscal.stderr
    # nothing was written by the refusals
    timeline = ok_json("case", "timeline", incoming["case"])["timeline"]
    assert [e["action"] for e in timeline] == ["receive", "acknowledge", "consult"]
    done = ok_json(
        *args,
        "refuse",
        "--ground",
        "preservation_essential_interests",
        "--reason",
        "Sovereignty.",
        "--at",
        AT,
    )
    assert done["event"]["to"] == "refused"
    assert done["event"]["params"] == {
        "ground": "preservation_essential_interests",
        "reason": "Sovereignty.",
    }
    # The event cites the ground's article; the timeline says the ground in words.
    assert done["event"]["article"] == "42"
    text = run("case", "timeline", incoming["case"]).stdout
    assert (
        "ground: Preservation may be refused only on limited grounds such as essential "
        "interests and non-discrimination (art. 42; preservation_essential_interests)"
    ) in " ".join(text.split())


def test_bad_at_exits_2(node: Path) -> None:
    open_case()
    result = run("case", "act", "C-000001", "check", "--at", "yesterday")
    assert result.exit_code == 2
    assert "--at 'yesterday' is not a time" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("case", "show", "C-000099"),
        ("case", "timeline", "R-000099"),
        ("case", "act", "C-000099", "check"),
    ],
)
def test_unknown_id_exits_2_with_a_hint(node: Path, args: tuple[str, ...]) -> None:
    open_case()
    result = run(*args)
    assert result.exit_code == 2
    assert "hanoinet case list" in result.stderr
    assert args[2] in result.stderr


def test_show_json(node: Path) -> None:
    open_case()
    data = ok_json("case", "show", "C-000001")
    assert set(data) == {"id", "title", "created_at", "created_by", "requests"}
    assert (data["id"], data["created_by"], data["created_at"]) == (
        "C-000001",
        "alice",
        "2026-11-24T03:00:00+00:00",
    )
    (request,) = data["requests"]
    assert set(request) == {
        "id",
        "uid",
        "direction",
        "kind",
        "state",
        "requesting_state",
        "requested_state",
        "urgency",
        "peer_ref",
        "means",
        "document",
        "document_sha256",
        "findings",
        "preserved_until",
        "held_for",
        "conditions",
        "allowed_actions",
        "approval",
        "timeline",
        "messages",
        "due",
    }
    assert request["document"] == json.loads(EXAMPLE.read_text("utf-8"))
    assert request["allowed_actions"] == ["check", "edit", "withdraw"]
    # opened from the command line by a name that is no node user: no approval step
    assert request["approval"] == {"required": False, "approved_by": None, "approved_at": None}
    assert request["preserved_until"] is None
    assert request["peer_ref"] is None  # no message from the other State yet
    (event,) = request["timeline"]
    assert set(event) == EVENT_KEYS and event["action"] == "create"
    assert request["due"] == []
    assert ok_json("case", "show", "R-000001") == {**data, "requests": data["requests"]}


def test_approve_from_the_command_line_under_the_all_policy(
    node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANOINET_APPROVAL", "all")
    open_case()
    assert run("case", "act", "C-000001", "check", "--at", AT).exit_code == 0
    refused = run("case", "act", "C-000001", "send", "--at", AT)
    assert refused.exit_code == 2
    assert "awaits a supervisor's approval" in refused.stderr
    assert "Ask a supervisor to approve it" in refused.stderr
    assert run("case", "list", "--awaiting-approval", "--json").stdout.count("R-000001") == 1
    # four eyes: alice opened the case
    own = run("case", "act", "C-000001", "approve", "--at", AT)
    assert own.exit_code == 2 and "alice opened this case" in own.stderr
    monkeypatch.setenv("HANOINET_USER", "sam")
    approved = ok_json("case", "act", "C-000001", "approve", "--at", AT)
    assert approved["event"]["action"] == "approve"
    assert (approved["event"]["from"], approved["event"]["to"]) == ("checked", "checked")
    assert ok_json("case", "list", "--awaiting-approval") == {"requests": []}
    shown = run("case", "show", "C-000001")
    assert "approved by sam at 2026-11-24 03:00 UTC" in shown.stdout
    (request,) = ok_json("case", "show", "C-000001")["requests"]
    assert request["approval"] == {
        "required": True,
        "approved_by": "sam",
        "approved_at": "2026-11-24T03:00:00+00:00",
    }
    assert ok_json("case", "act", "C-000001", "send", "--at", AT)["event"]["to"] == "sent"


def test_a_refused_step_names_the_option_that_gives_what_is_missing(node: Path) -> None:
    """The lifecycle says what is missing in words (the other State and the web read them
    too); the command line adds the option that gives it."""
    open_case()
    for action in ("check", "send"):
        run("case", "act", "C-000001", action, "--at", AT)
    theirs = run("case", "act", "C-000001", "acknowledge", "--at", AT)
    assert theirs.exit_code == 2
    assert "taken by the requested State" in theirs.stderr
    assert "(to record a step the other State took: --from-peer)" in theirs.stderr
    assert run("case", "act", "C-000001", "acknowledge", "--from-peer", "--at", AT).exit_code == 0
    run("case", "act", "C-000001", "record_preserved", "--from-peer", "--at", AT)
    unnamed = run("case", "act", "C-000001", "link_mla", "--at", AT)
    assert unnamed.exit_code == 2 and "(give it with --related REQUEST-ID)" in unnamed.stderr


def test_show_json_of_a_preserved_request_has_its_clock(node: Path) -> None:
    open_case()
    for action in ("check", "send"):
        run("case", "act", "C-000001", action, "--at", AT)
    for action in ("acknowledge", "record_preserved"):
        assert run("case", "act", "C-000001", action, "--from-peer", "--at", AT).exit_code == 0
    (request,) = ok_json("case", "show", "C-000001")["requests"]
    assert request["state"] == "preserved"
    assert request["preserved_until"] == "2027-01-23T03:00:00+00:00"
    assert [d["key"] for d in request["due"]][-1] == "preservation-expiry-2027-01-23"
    for due in request["due"]:
        assert set(due) == {"key", "kind", "at", "article", "message"}
    assert "link_mla" in request["allowed_actions"]
    text = run("case", "show", "C-000001")
    assert "data preserved until 2027-01-23 03:00 UTC (42)" in text.stdout


def test_timeline_json(node: Path) -> None:
    open_case()
    run("case", "act", "C-000001", "check", "--at", "2026-11-24T04:00:00Z")
    run("case", "act", "C-000001", "send", "--at", "2026-11-24T05:00:00Z")
    data = ok_json("case", "timeline", "C-000001")
    assert set(data) == {"case", "timeline"}
    assert data["case"] == "C-000001"
    assert [e["action"] for e in data["timeline"]] == ["create", "check", "send"]
    for event in data["timeline"]:
        assert set(event) == {"request", *EVENT_KEYS}
        assert event["request"] == "R-000001"
    times = [e["at"] for e in data["timeline"]]
    assert times == sorted(times)
    text = run("case", "timeline", "C-000001")
    assert "R-000001 send (40(13)) by alice [requesting] checked -> sent" in text.stdout


def test_list_json(node: Path) -> None:
    assert ok_json("case", "list") == {"requests": []}
    assert "No requests yet" in run("case", "list").stdout
    open_case()
    open_case("--incoming")
    run("case", "act", "R-000002", "withdraw", "--from-peer", "--at", "2026-11-24T04:00:00Z")
    data = ok_json("case", "list")  # both urgent: the most recently changed first
    assert [r["id"] for r in data["requests"]] == ["R-000002", "R-000001"]
    for r in data["requests"]:
        assert set(r) == {
            "id",
            "case",
            "direction",
            "kind",
            "state",
            "requesting_state",
            "requested_state",
            "urgency",
            "updated_at",
            "peer_ref",
            "means",
        }
        assert r["peer_ref"] is None
    assert data["requests"][1]["direction"] == "outgoing"
    assert [r["id"] for r in ok_json("case", "list", "--open")["requests"]] == ["R-000001"]


def test_the_other_states_reference_in_list_and_show(node: Path) -> None:
    """Once the other State's node has said its reference (services/federation.py records
    it), ``case list`` and ``case show`` give both, in text and in ``--json``."""
    from sqlalchemy import update

    from hanoinet.store import open_store
    from hanoinet.store.schema import requests

    open_case("--incoming")
    store = open_store(f"sqlite:///{(node / 'hanoinet.db').resolve()}")
    with store.transaction() as conn:
        conn.execute(update(requests).values(peer_ref="AU/2026-17"))
    store.dispose()
    [listed] = ok_json("case", "list")["requests"]
    assert (listed["id"], listed["peer_ref"]) == ("R-000001", "AU/2026-17")
    [shown] = ok_json("case", "show", "R-000001")["requests"]
    assert shown["peer_ref"] == "AU/2026-17"
    assert "AU/2026-17" in run("case", "list").stdout
    assert "references: ours R-000001, XA's AU/2026-17" in run("case", "show", "R-000001").stdout


def test_third_state_drafts_a_request(node: Path) -> None:
    open_case()
    for action in ("check", "send"):
        run("case", "act", "C-000001", action, "--at", AT)
    run("case", "act", "C-000001", "acknowledge", "--from-peer", "--at", AT)
    data = ok_json(
        "case", "act", "R-000001", "disclose_partial_traffic", "--from-peer", "--third-state", "XC"
    )
    assert data["created_request"] == "R-000002"
    assert data["event"]["params"] == {"third_state": "XC"}
    requests = ok_json("case", "show", "C-000001")["requests"]
    assert [(r["id"], r["requested_state"], r["state"]) for r in requests] == [
        ("R-000001", "XB", "acknowledged"),
        ("R-000002", "XC", "draft"),
    ]
    assert requests[1]["document"]["related_request"] == "R-000001"


def test_clock_tick_json(node: Path) -> None:
    open_case()
    for action in ("check", "send"):
        run("case", "act", "C-000001", action, "--at", AT)
    for action in ("acknowledge", "record_preserved"):
        run("case", "act", "C-000001", action, "--from-peer", "--at", AT)
    assert ok_json("clock", "tick", "--at", "2027-01-01T00:00:00Z") == {"fired": []}
    assert "Nothing due." in run("clock", "tick", "--at", "2027-01-01T00:00:00Z").stdout
    data = ok_json("clock", "tick", "--at", "2027-01-10T03:00:00Z")
    assert data == {
        "fired": [
            {
                "request": "R-000001",
                "key": "preservation-reminder-2027-01-23-14d",
                "kind": "reminder",
                "article": "42",
                "message": data["fired"][0]["message"],
            }
        ]
    }
    late = ok_json("clock", "tick", "--at", "2027-01-24T00:00:00Z")
    assert [(f["kind"], f["key"]) for f in late["fired"]] == [
        ("reminder", "preservation-reminder-2027-01-23-7d"),
        ("reminder", "preservation-reminder-2027-01-23-1d"),
        ("lapse", "preservation-expiry-2027-01-23"),
    ]
    for fired in late["fired"]:
        assert set(fired) == {"request", "key", "kind", "article", "message"}
    assert ok_json("clock", "tick", "--at", "2027-02-24T00:00:00Z") == {"fired": []}
    (request,) = ok_json("case", "show", "C-000001")["requests"]
    assert request["state"] == "lapsed"


def test_audit_verify_json(node: Path) -> None:
    open_case()
    run("case", "act", "C-000001", "check", "--at", AT)
    run("case", "show", "C-000001")
    data = ok_json("audit", "verify")
    assert data == {"ok": True, "entries": 3, "breaks": []}
    assert "Audit log intact: 3 entries" in run("audit", "verify").stdout


def test_audit_verify_exits_1_after_tampering(node: Path) -> None:
    open_case()
    run("case", "act", "C-000001", "check", "--at", AT)
    run("case", "list")
    conn = sqlite3.connect(node / "hanoinet.db")
    try:
        with conn:
            conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    finally:
        conn.close()
    result = run("audit", "verify", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["entries"] == 3
    assert data["breaks"] == [{"seq": 2, "problem": "its content was changed after it was written"}]
    text = run("audit", "verify")
    assert text.exit_code == 1
    assert "Audit log BROKEN (3 entries)" in text.stdout
    assert "entry 2: its content was changed after it was written" in text.stdout


def test_audit_verify_exits_1_when_the_end_is_cut(node: Path) -> None:
    open_case()
    run("case", "list")
    conn = sqlite3.connect(node / "hanoinet.db")
    try:
        with conn:
            conn.execute("DELETE FROM audit WHERE seq = 2")
    finally:
        conn.close()
    result = run("audit", "verify", "--json")
    assert result.exit_code == 1
    assert "removed from the end" in json.loads(result.stdout)["breaks"][0]["problem"]


@pytest.fixture(scope="module")
def aurelia(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Aurelia's node as the demo sets it up (keys, a signed directory without Dorado)."""
    from hanoinet import demo

    cluster = demo.Demo(tmp_path_factory.mktemp("outside"))
    cluster.setup(("xa",), users=False)
    return cluster


def test_send_by_the_diplomatic_channel_to_a_state_without_a_node(
    aurelia: Any, tmp_path: Path
) -> None:
    """``case act ID send --by MEANS``: Dorado (XD) runs no node (docs/outside.md)."""
    to_dorado = tmp_path / "to-dorado.json"
    to_dorado.write_text(json.dumps(json.loads(EXAMPLE.read_text()) | {"requested_state": "XD"}))
    made = json.loads(aurelia.call("xa", "case", "new", "--from", str(to_dorado), "--json").stdout)
    ident = made["request"]
    assert aurelia.call("xa", "case", "act", ident, "check").returncode == 0
    for args, words in (
        (("--by", "post"), "needs its reference"),
        (("--by", "email"), "needs this node's mail server: set HANOINET_SMTP_HOST"),
        (("--by", "pigeon"), "use one of email, post, courier, diplomatic"),
    ):
        refused = aurelia.call("xa", "case", "act", ident, "send", *args)
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
    plain = aurelia.call("xa", "case", "act", ident, "send")  # over the network: no node
    assert plain.returncode == 2 and "XD runs no node in directory version" in plain.stderr
    wrong = aurelia.call("xa", "case", "act", ident, "check", "--reference", "X")
    assert wrong.returncode == 2 and "--by and --reference go with send" in wrong.stderr
    sent = aurelia.call(
        "xa", "case", "act", ident, "send", "--by", "diplomatic", "--reference", "NV 12/2026",
        "--json",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    data = json.loads(sent.stdout)
    assert set(data) == {
        "request", "means", "status", "address", "reference", "request_sha256", "pdf_sha256",
        "lang",
    }  # fmt: skip
    assert (data["means"], data["status"], data["reference"]) == (
        "diplomatic",
        "recorded",
        "NV 12/2026",
    )
    shown = json.loads(aurelia.call("xa", "case", "show", ident, "--json").stdout)
    assert shown["requests"][0]["state"] == "sent"

    # Dorado's acknowledgement comes by post: recorded with the scanned letter.
    scan = tmp_path / "ack.pdf"
    scan.write_bytes(b"%PDF-1.7\n% Dorado's acknowledgement (test)\n%%EOF\n")
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a PDF")
    refused = aurelia.call(
        "xa", "case", "act", ident, "acknowledge", "--by", "post", "--attach", str(fake)
    )
    assert refused.returncode == 2 and "fake.pdf is not a PDF" in refused.stderr
    recorded = aurelia.call(
        "xa", "case", "act", ident, "acknowledge", "--by", "post", "--attach", str(scan),
        "--reference", "DOR/77", "--json",
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["action"] == "acknowledge"
    letters = json.loads(aurelia.call("xa", "case", "letters", ident, "--json").stdout)
    assert [(x["direction"], x["action"], x["means"]) for x in letters["letters"]] == [
        ("out", "send", "diplomatic"),
        ("in", "acknowledge", "post"),
    ]
    [kept] = letters["letters"][1]["files"]
    out = tmp_path / "saved.pdf"
    saved = aurelia.call("xa", "case", "attachment", ident, str(kept["id"]), "--out", str(out))
    assert saved.returncode == 0 and out.read_bytes() == scan.read_bytes()

    # Dorado's evidence comes by courier on a USB stick: kept as a package of this node
    # (``hanoinet evidence import``), its receipt in the chain of custody.
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "subscriber.csv").write_text("account,name\nuser42,(demo)\n")
    base = ("xa", "evidence", "import", str(stick), "--case", ident)
    today = datetime.now(UTC).date().isoformat()  # the request was opened today
    letter = ("--collected-by", "Policía Nacional de Dorado (demo)", "--collected-at", today)
    wrong = aurelia.call(*base, "--by", "pigeon", "--arrived-on", today, *letter)
    assert wrong.returncode == 2 and "--by pigeon: use one of post" in wrong.stderr
    imported = aurelia.call(
        *base, "--by", "courier", "--arrived-on", today, *letter,
        "--medium", "USB stick SN 4C53", "--reference", "DOR/78", "--json",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    got = json.loads(imported.stdout)
    assert (got["request"], got["from_state"], got["files"]) == (ident, "XD", 1)
    assert [step["action"] for step in got["custody"]] == ["collection", "receipt", "packaging"]
    listed = json.loads(aurelia.call("xa", "evidence", "list", "--json").stdout)
    [package] = [p for p in listed["packages"] if p["package"] == got["package"]]
    assert (package["direction"], package["state"], package["peer_node"]) == (
        "incoming",
        "accepted",
        "XD",
    )

    # A request that came by letter from Dorado is registered from it.
    came = tmp_path / "from-dorado.json"
    came.write_text(json.dumps(json.loads(EXAMPLE.read_text()) | {"requesting_state": "XD"}))
    registered = aurelia.call(
        "xa", "case", "new", "--from", str(came), "--incoming", "--by", "email",
        "--attach", str(scan), "--json",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["action"] == "receive"

    # Aurelia acknowledges it: the letter that says so waits, is printed, then posted.
    came_id = json.loads(registered.stdout)["request"]
    assert aurelia.call("xa", "case", "act", came_id, "acknowledge").returncode == 0
    owed = json.loads(aurelia.call("xa", "case", "letters", came_id, "--json").stdout)["letters"]
    [letter] = [x for x in owed if x["direction"] == "out"]
    assert (letter["action"], letter["status"], letter["means"]) == (
        "acknowledge",
        "to_send",
        "email",
    )
    printed = tmp_path / "letter.pdf"
    done = aurelia.call(
        "xa", "case", "dispatch", came_id, str(letter["id"]), "--out", str(printed), "--json"
    )
    assert done.returncode == 0, done.stderr
    assert printed.read_bytes().startswith(b"%PDF-") and json.loads(done.stdout)["lang"] == "en"
    unset = aurelia.call("xa", "case", "dispatch", came_id, str(letter["id"]))  # by e-mail
    assert unset.returncode == 2 and "HANOINET_SMTP_HOST" in unset.stderr
    posted = aurelia.call(
        "xa", "case", "dispatch", came_id, str(letter["id"]), "--by", "post",
        "--reference", "RR 123", "--json",
    )  # fmt: skip
    assert posted.returncode == 0, posted.stderr
    assert json.loads(posted.stdout)["status"] == "recorded"
    again = aurelia.call("xa", "case", "dispatch", came_id, str(letter["id"]), "--by", "post")
    assert again.returncode == 2 and "it is sent once" in again.stderr


def test_a_consent_names_the_matter_it_covers(node: Path) -> None:
    """Issue 26 item 5: ``give_consent`` (40(19)) says for which other matter, and a use for
    another matter is allowed only for a matter consented to."""
    incoming = open_case("--incoming")
    args = ("case", "act", incoming["request"])
    for step in ("acknowledge", "start_execution", "execute"):
        assert run(*args, step, "--at", AT).exit_code == 0, step
    unnamed = run(*args, "give_consent", "--reason", "Granted.", "--at", AT)
    assert unnamed.exit_code == 2 and "Name the other matter" in unnamed.stderr
    given = ok_json(
        *args, "give_consent", "--reason", "Granted.", "--matter", "Case 9/2027 (fraud)",
        "--at", AT,
    )  # fmt: skip
    assert given["event"]["action"] == "give_consent"
    assert given["event"]["params"]["matter"] == "Case 9/2027 (fraud)"
