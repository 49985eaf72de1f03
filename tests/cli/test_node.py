"""``hanoinet node init`` and ``hanoinet directory``: keys, authority, issue, verify."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hanoinet.cli.main import app
from hanoinet.exchange.token import TokenSettings

from ..conftest import SPARE_TOKEN

runner = CliRunner()
PASS = "authority-passphrase-for-tests"


def _init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node: str, state: str, port: int
) -> Path:
    folder = tmp_path / node
    monkeypatch.setenv("HANOINET_DATA_DIR", str(folder))
    monkeypatch.delenv("HANOINET_KEY_PASSPHRASE", raising=False)
    result = runner.invoke(
        app,
        [
            "node",
            "init",
            "--id",
            node,
            "--state",
            state,
            "--endpoint",
            f"http://127.0.0.1:{port}",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return folder


def test_node_init_writes_locked_keys_and_a_public_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    descriptor = json.loads((folder / "node.json").read_text())
    assert descriptor["id"] == "xa-ca" and descriptor["illustrative"] is True
    assert {k["use"] for k in descriptor["keys"]} == {"sig", "enc", "doc"}
    assert all("d" not in k for k in descriptor["keys"])
    keys = (folder / "keys.jwe").read_text()
    assert keys.count(".") == 4 and '"d"' not in keys  # a compact JWE, not plaintext JSON
    for secret in (
        folder / "keys.jwe",
        folder / "secrets" / "passphrase",
        folder / "secrets" / "admin-password",
    ):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    again = runner.invoke(
        app,
        ["node", "init", "--id", "xa-ca", "--state", "XA", "--endpoint", "http://127.0.0.1:8101"],
    )
    assert again.exit_code == 2 and "never overwritten" in again.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--state", "xx"], "not an ISO 3166 code"),
        (["--roles", "judge"], "unknown role"),
        (["--endpoint", "ftp://x"], "http(s) URL"),
        (["--id", "XA_CA"], "a node id is lowercase letters, digits and inner hyphens"),
        (["--id", "x" * 49], "at most 48 characters"),
        (["--id", "xa-"], "inner hyphens"),
    ],
)
def test_node_init_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], words: str
) -> None:
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path / "n"))
    base = {
        "--id": "n1",
        "--state": "XA",
        "--endpoint": "http://127.0.0.1:1",
        "--roles": "central_authority",
    }
    base[args[0]] = args[1]
    result = runner.invoke(app, ["node", "init", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2
    assert words in result.stderr
    assert not (tmp_path / "n" / "keys.jwe").exists()


def test_issue_and_verify_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    b = _init(tmp_path, monkeypatch, "xb-ca", "XB", 8102)
    monkeypatch.setenv("HANOINET_KEY_PASSPHRASE", PASS)
    key = tmp_path / "auth" / "authority.jwe"
    made = runner.invoke(app, ["directory", "authority-init", "--key", str(key), "--json"])
    assert made.exit_code == 0, made.output
    public = tmp_path / "auth" / "authority.pub.json"
    out = tmp_path / "dir.jws"
    issued = runner.invoke(
        app,
        [
            "directory",
            "issue",
            str(a / "node.json"),
            str(b / "node.json"),
            "--key",
            str(key),
            "--version",
            "1",
            "--out",
            str(out),
        ],
    )
    assert issued.exit_code == 0, issued.output
    checked = runner.invoke(
        app, ["directory", "verify", str(out), "--authority", str(public), "--json"]
    )
    assert checked.exit_code == 0, checked.output
    data = json.loads(checked.stdout)
    assert data["ok"] is True and data["version"] == 1
    assert [n["id"] for n in data["nodes"]] == ["xa-ca", "xb-ca"]
    expired = runner.invoke(
        app,
        [
            "directory",
            "verify",
            str(out),
            "--authority",
            str(public),
            "--at",
            "2099-01-01T00:00:00Z",
            "--json",
        ],
    )
    assert expired.exit_code == 1 and json.loads(expired.stdout)["reason"] == "expired"
    token = out.read_text().strip()
    head, payload, signature = token.split(".")
    forged = tmp_path / "forged.jws"
    forged.write_text(
        f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    )
    refused = runner.invoke(
        app, ["directory", "verify", str(forged), "--authority", str(public), "--json"]
    )
    assert refused.exit_code == 1 and json.loads(refused.stdout)["reason"] in (
        "forged",
        "malformed",
    )


def test_authority_needs_a_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANOINET_KEY_PASSPHRASE", raising=False)
    result = runner.invoke(app, ["directory", "authority-init", "--key", str(tmp_path / "a.jwe")])
    assert result.exit_code == 2 and "HANOINET_KEY_PASSPHRASE" in result.stderr


def test_rotate_then_revoke_updates_keys_and_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    before = json.loads((folder / "node.json").read_text())["keys"]
    old_sig = next(k["kid"] for k in before if k["use"] == "sig")
    rotated = runner.invoke(
        app, ["node", "rotate-keys", "--use", "sig", "--overlap-days", "7", "--json"]
    )
    assert rotated.exit_code == 0, rotated.output
    data = json.loads(rotated.stdout)
    assert data["active"] != old_sig
    keys = {k["kid"]: k for k in json.loads((folder / "node.json").read_text())["keys"]}
    assert keys[old_sig]["valid_until"] is not None and keys[data["active"]]["valid_until"] is None
    # A key id is base64url and may begin with '-', so it goes after '--'.
    revoked = runner.invoke(app, ["node", "revoke-key", "--json", "--", old_sig])
    assert revoked.exit_code == 0, revoked.output
    keys = {k["kid"]: k for k in json.loads((folder / "node.json").read_text())["keys"]}
    assert keys[old_sig]["revoked"] is not None
    unknown = runner.invoke(app, ["node", "revoke-key", "no-such-kid"])
    assert unknown.exit_code == 2 and "no key no-such-kid" in unknown.stderr
    # The document-signing key rotates like the others; an unknown use is one clear line.
    old_doc = next(k["kid"] for k in before if k["use"] == "doc")
    doc = runner.invoke(app, ["node", "rotate-keys", "--use", "doc", "--json"])
    assert doc.exit_code == 0, doc.output
    keys = {k["kid"]: k for k in json.loads((folder / "node.json").read_text())["keys"]}
    assert keys[json.loads(doc.stdout)["active"]]["crv"] == "P-256"
    assert keys[old_doc]["valid_until"] is not None
    bogus = runner.invoke(app, ["node", "rotate-keys", "--use", "pdf"])
    assert bogus.exit_code == 2 and "--use must be sig, enc or doc" in bogus.stderr


def test_fetch_verifies_and_keeps_a_served_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    a = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    monkeypatch.setenv("HANOINET_KEY_PASSPHRASE", PASS)
    key = tmp_path / "auth" / "authority.jwe"
    assert runner.invoke(app, ["directory", "authority-init", "--key", str(key)]).exit_code == 0
    out = tmp_path / "dir.jws"
    assert (
        runner.invoke(
            app,
            [
                "directory",
                "issue",
                str(a / "node.json"),
                "--key",
                str(key),
                "--version",
                "3",
                "--out",
                str(out),
            ],
        ).exit_code
        == 0
    )
    monkeypatch.setenv("HANOINET_DATA_DIR", str(a))
    monkeypatch.setenv(
        "HANOINET_DIRECTORY_AUTHORITY", str(tmp_path / "auth" / "authority.pub.json")
    )
    served = out.read_text().strip()

    def fake_get(url: str, timeout: float) -> httpx.Response:
        assert url == "http://peer.test/api/v1/directory"
        return httpx.Response(200, text=served)

    monkeypatch.setattr(httpx, "get", fake_get)
    fetched = runner.invoke(app, ["directory", "fetch", "http://peer.test", "--json"])
    assert fetched.exit_code == 0, fetched.output
    assert json.loads(fetched.stdout)["version"] == 3
    assert (a / "directory" / "directory-v3.jws").read_text() == served

    def refused(url: str, timeout: float) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(httpx, "get", refused)
    down = runner.invoke(app, ["directory", "fetch", "http://peer.test"])
    assert down.exit_code == 2 and "cannot fetch" in down.stderr


def test_serve_without_a_node_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path / "nothing"))
    for command in (["serve"], ["worker", "--once"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "run `hanoinet node init` there first" in result.stderr


@pytest.mark.parametrize(
    "command",
    [["case", "list"], ["user", "list"], ["document", "list", "C-000001"], ["stats"]],
)
def test_a_command_without_a_node_exits_2_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv("HANOINET_DATABASE_URL", raising=False)
    for folder in (empty, tmp_path / "nodes" / "typo"):
        monkeypatch.setenv("HANOINET_DATA_DIR", str(folder))
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (
            f"error: no hanoinet node at {folder.resolve()} (no database there): create one "
            'with "hanoinet node init", or set HANOINET_DATA_DIR to the node\'s folder'
        )
    assert list(empty.iterdir()) == []
    assert not (tmp_path / "nodes").exists()


def test_backup_and_restore_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """node backup-key, node backup, node restore as an operator runs them (docs/backup.md)."""
    folder = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    key = tmp_path / "offline.key"
    made = runner.invoke(app, ["node", "backup-key", "--out", str(key), "--json"])
    assert made.exit_code == 0, made.output
    recipient = json.loads(made.stdout)["recipient"]
    assert recipient.startswith("age1") and stat.S_IMODE(key.stat().st_mode) == 0o600
    archive = tmp_path / "xa.backup"
    unsaid = runner.invoke(app, ["node", "backup", "--out", str(archive)])
    assert unsaid.exit_code == 2 and "give --to RECIPIENT" in unsaid.stderr
    monkeypatch.setenv("HANOINET_BACKUP_RECIPIENTS", recipient)
    done = runner.invoke(app, ["node", "backup", "--out", str(archive), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["database"] == "sqlite"
    occupied = runner.invoke(app, ["node", "restore", str(archive), "--identity", str(key)])
    assert occupied.exit_code == 2 and "is not empty" in occupied.stderr
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path / "new"))
    restored = runner.invoke(
        app, ["node", "restore", str(archive), "--identity", str(key), "--json"]
    )
    assert restored.exit_code == 0, restored.output
    shown = json.loads(restored.stdout)
    assert (shown["node"], shown["audit_ok"]) == ("xa-ca", True)
    assert (tmp_path / "new" / "keys.jwe").read_bytes() == (folder / "keys.jwe").read_bytes()
    verified = runner.invoke(app, ["audit", "verify", "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True


def test_migrate_runs_once_and_never_makes_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _init(tmp_path, monkeypatch, "xa-ca", "XA", 8101)
    done = runner.invoke(app, ["node", "migrate", "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["from"] == shown["to"] and shown["migrated"] is False
    assert (folder / "hanoinet.db").is_file()
    monkeypatch.setenv("HANOINET_DATA_DIR", str(tmp_path / "typo"))
    missing = runner.invoke(app, ["node", "migrate"])
    assert missing.exit_code == 2 and "no hanoinet node at" in missing.stderr
    assert not (tmp_path / "typo").exists()


def test_a_node_given_a_token_keeps_its_signing_keys_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, softhsm: TokenSettings
) -> None:
    """Issue 25 item 1 from the command line: a node made with a PKCS#11 token configured has
    its sig and doc keys in it, and one made before moves a key in by rotating it."""
    from hanoinet.exchange.keys import KeySet

    before = _init(tmp_path, monkeypatch, "xb-ca", "XB", 8102)  # keys in the file
    monkeypatch.setenv("HANOINET_PKCS11_MODULE", str(softhsm.module))
    monkeypatch.setenv("HANOINET_PKCS11_TOKEN", softhsm.label)
    monkeypatch.delenv("HANOINET_PKCS11_PIN", raising=False)
    no_pin = runner.invoke(app, ["node", "rotate-keys", "--use", "sig"])
    assert no_pin.exit_code == 2 and "HANOINET_PKCS11_PIN" in no_pin.stderr
    pin_file = before / "secrets" / "pkcs11-pin"
    pin_file.write_text(softhsm.pin + "\n")
    pin_file.chmod(0o644)
    shared = runner.invoke(app, ["node", "rotate-keys", "--use", "sig"])
    assert shared.exit_code == 2 and "readable by others: make it owner-only" in shared.stderr
    pin_file.chmod(0o600)
    moved = runner.invoke(app, ["node", "rotate-keys", "--use", "sig", "--json"])
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["kept_in"] == "token"
    text = runner.invoke(app, ["node", "rotate-keys", "--use", "doc"])
    assert f"in token {softhsm.label!r}" in text.stdout
    enc = runner.invoke(app, ["node", "rotate-keys", "--use", "enc", "--json"])
    assert json.loads(enc.stdout)["kept_in"] == "file"  # X25519 stays in the key file
    monkeypatch.setenv("HANOINET_PKCS11_PIN", softhsm.pin)

    folder = tmp_path / "xa-ca"
    monkeypatch.setenv("HANOINET_DATA_DIR", str(folder))
    made = runner.invoke(
        app,
        ["node", "init", "--id", "xa-ca", "--state", "XA", "--endpoint", "http://x.test", "--json"],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["token"] == softhsm.label
    passphrase = (folder / "secrets" / "passphrase").read_text().strip()
    keys = KeySet.load(folder / "keys.jwe", passphrase)
    assert {e.use: e.kept_in for e in keys.entries} == {
        "sig": "token",
        "doc": "token",
        "enc": "file",
    }
    assert softhsm.pin not in made.output
    monkeypatch.setenv("HANOINET_PKCS11_PIN", "not-the-pin")
    monkeypatch.setenv("HANOINET_PKCS11_TOKEN", SPARE_TOKEN)
    refused = runner.invoke(app, ["node", "rotate-keys", "--use", "sig"])
    assert refused.exit_code == 2
    assert "cannot make the new sig key: the PIN of token 'hanoinet-spare' is wrong" in (
        refused.stderr
    )
    assert "not-the-pin" not in refused.output
