"""The reference deployment (issue 25 item 4), run the way its units run: the commands of
deploy/systemd/*.service with the settings of deploy/hanoinet.env, a node on this machine's
PostgreSQL with its database migrated once, two server processes and two workers; a second
node sends it a request, which arrives once; it is ready. Its signing keys are in a PKCS#11
token (SoftHSM2), as a ministry keeps them in an HSM: every receipt it signs goes through the
token, in each of its processes. The units' hardening is checked."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlalchemy import func, select

from hanoinet import demo
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.token import TokenSettings
from hanoinet.services import cases as case_service
from hanoinet.settings import Settings
from hanoinet.store import open_store
from hanoinet.store.schema import inbox, outbox

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
BIN = "/opt/hanoinet/.venv/bin/hanoinet"
HARDENING = {
    "User": "hanoinet",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "ReadWritePaths": "/var/lib/hanoinet",
    "UMask": "0077",
}


def unit(name: str) -> configparser.RawConfigParser:
    parsed = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read(UNITS / name, encoding="utf-8")
    return parsed


def command(name: str) -> list[str]:
    """The unit's ExecStart as this test runs it: this interpreter instead of the venv's."""
    words = shlex.split(unit(name)["Service"]["ExecStart"])
    assert words[0] == BIN, words
    return [sys.executable, "-m", "hanoinet", *words[1:]]


def env_file() -> dict[str, str]:
    lines = (ROOT / "deploy" / "hanoinet.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize(
    "name", ["hanoinet-migrate.service", "hanoinet-serve.service", "hanoinet-worker@.service"]
)
def test_every_unit_is_hardened_and_runs_a_real_command(name: str) -> None:
    service = unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, (name, key)
    assert service["EnvironmentFile"] == "/etc/hanoinet/hanoinet.env"
    words = command(name)
    verbs = [w for w in words[3:] if not w.startswith("-")][: 2 if "node" in words else 1]
    help_text = subprocess.run(
        [*words[:3], *verbs, "--help"], capture_output=True, text=True, check=False
    )
    assert help_text.returncode == 0, help_text.stderr
    if name != "hanoinet-migrate.service":
        assert unit(name)["Unit"]["Requires"] == "hanoinet-migrate.service"


def test_the_settings_file_names_only_real_settings() -> None:
    names = {f"HANOINET_{n.upper()}" for n in Settings.model_fields}
    assert set(env_file()) <= names
    caddy = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "Strict-Transport-Security" in caddy and "reverse_proxy 127.0.0.1:8101" in caddy


def test_the_node_runs_as_its_units_run_on_postgresql(
    tmp_path: Path, softhsm: TokenSettings
) -> None:
    base = os.environ.get(
        "HANOINET_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = sqlalchemy.create_engine(base)
    schema = f"deploy_{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sqlalchemy.exc.OperationalError as exc:
        if os.environ.get("HANOINET_REQUIRE_POSTGRES") == "1":  # as in CI: never a skip
            pytest.fail(f"PostgreSQL required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = f"{base}?options=-csearch_path%3D{schema}"
    cluster = demo.Demo(tmp_path)
    settings = env_file()
    cluster.extra_env["xb"] = {
        "HANOINET_DATABASE_URL": url,
        "HANOINET_DELIVERY_ALARM_MINUTES": settings["HANOINET_DELIVERY_ALARM_MINUTES"],
        "HANOINET_PKCS11_MODULE": str(softhsm.module),
        "HANOINET_PKCS11_TOKEN": softhsm.label,
        "HANOINET_PKCS11_PIN": softhsm.pin,
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        cluster.setup(("xa", "xb"), users=False)
        passphrase = (tmp_path / "xb" / "secrets" / "passphrase").read_text().strip()
        held = KeySet.load(tmp_path / "xb" / "keys.jwe", passphrase)
        assert {e.use: e.kept_in for e in held.entries} == {
            "sig": "token", "doc": "token", "enc": "file",
        }  # fmt: skip
        migrated = subprocess.run(
            command("hanoinet-migrate.service"), env=cluster.env("xb"),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert migrated.returncode == 0 and "already" in migrated.stdout, migrated.stderr

        def start(node: str, words: list[str], log: str) -> None:
            with (tmp_path / node / log).open("ab") as out:
                procs.append(
                    subprocess.Popen(
                        words,
                        env=cluster.env(node) | {"HANOINET_FORMAL_DOCUMENTS": "false"},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

        serve = command("hanoinet-serve.service")
        port = serve[serve.index("--port") + 1]
        serve[serve.index("--port") + 1] = str(cluster.ports["xb"])  # its endpoint, here
        start("xb", serve, "serve.log")
        for n in (1, 2):
            start("xb", command("hanoinet-worker@.service"), f"worker-{n}.log")
        start("xa", [sys.executable, "-m", "hanoinet", "serve"], "serve.log")
        start("xa", [sys.executable, "-m", "hanoinet", "worker", "--interval", "0.1"], "w.log")
        assert port == "8101"
        cluster.wait(cluster._health_check("xb"), "Borealis is up", timeout=90)
        sender = open_store(f"sqlite:///{tmp_path / 'xa' / 'hanoinet.db'}", migrate=False)
        receiver = open_store(url, migrate=False)
        try:
            text = resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json")
            now = datetime.now(UTC)
            made = case_service.new_case(
                sender, text.read_text("utf-8"), direction="outgoing", actor="t", at=now
            )
            for action in ("check", "send"):
                case_service.act(sender, made.request_id, action, actor="t", at=now)

            def arrived() -> bool:
                with receiver.engine.connect() as conn:
                    got = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
                with sender.engine.connect() as conn:
                    left = conn.execute(
                        select(func.count())
                        .select_from(outbox)
                        .where(outbox.c.status != "delivered")
                    ).scalar_one()
                return bool(got == 1 and left == 0)

            cluster.wait(arrived, "the request arrives once", timeout=120)
        finally:
            sender.dispose()
            receiver.dispose()
        ready: Any = httpx.get(f"http://127.0.0.1:{cluster.ports['xb']}/api/v1/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert {"name": "keys", "status": "ok"}.items() <= next(
            c for c in ready.json()["checks"] if c["name"] == "keys"
        ).items()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def walkthrough() -> list[str]:
    """The scripts docs/deploy.md's "From an empty machine" runs as the node's user
    (``sudo -u hanoinet sh -c '...'``), in order."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    block = text.split("## From an empty machine", 1)[1].split("```")[1]
    found = []
    for line in block.splitlines():
        words = shlex.split(line.split(" # ")[0]) if BIN in line else []
        if words:
            assert words[:5] == ["sudo", "-u", "hanoinet", "sh", "-c"], line
            found.append(words[5])
    return found


def test_the_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """docs/deploy.md from an empty machine, as far as this machine allows: what it runs as the
    node's user runs as written, settings read from the settings file (the packages, the user
    and systemd are the machine's; the units' own commands run in the test above, and systemd
    checks the units below)."""
    scripts = walkthrough()
    assert [s.split("exec ", 1)[1].split()[1:3] for s in scripts] == [
        ["node", "init"],
        ["directory", "accept"],
    ], scripts
    cluster = demo.Demo(tmp_path)
    secret = {"HANOINET_KEY_PASSPHRASE": demo.PASSPHRASE}
    key = str(tmp_path / "authority" / "authority.jwe")
    cluster.run(None, "directory", "authority-init", "--key", key, extra=secret, show=False)
    settings = env_file() | {
        "HANOINET_DATA_DIR": str(tmp_path / "node"),
        "HANOINET_DATABASE_URL": f"sqlite:///{tmp_path / 'node' / 'hanoinet.db'}",
        "HANOINET_DIRECTORY_AUTHORITY": str(cluster.authority),
    }
    env = tmp_path / "hanoinet.env"
    env.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HANOINET_")}

    def run(script: str) -> subprocess.CompletedProcess[str]:
        script = script.replace("/etc/hanoinet/hanoinet.env", str(env))
        script = script.replace(BIN, f"{shlex.quote(sys.executable)} -m hanoinet")
        return subprocess.run(
            ["sh", "-c", script], cwd=tmp_path, env=clean, capture_output=True, text=True
        )

    made = run(scripts[0])
    assert made.returncode == 0, made.stderr
    assert "Node xa-ca (XA) created" in made.stdout
    cluster.run(
        None, "directory", "issue", str(tmp_path / "node" / "node.json"), "--key", key,
        "--version", "1", "--out", str(tmp_path / "directory-v1.jws"), extra=secret, show=False,
    )  # fmt: skip
    accepted = run(scripts[1])
    assert accepted.returncode == 0, accepted.stderr
    migrated = run(f"set -a; . {env}; exec {BIN} node migrate")
    assert migrated.returncode == 0 and "already" in migrated.stdout, migrated.stderr


ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not on this machine")
def test_systemd_finds_the_units_valid_and_well_confined(tmp_path: Path) -> None:
    """systemd's own checks, offline: every directive known and valid, the units requiring
    each other found (``verify``), and each with an exposure score (``security``) of at most
    4.0 on its scale of 0 (confined) to 10."""
    assert ANALYZE is not None
    env = tmp_path / "hanoinet.env"
    env.write_text("", encoding="utf-8")
    files = []
    for name in ("hanoinet-migrate.service", "hanoinet-serve.service", "hanoinet-worker@.service"):
        text = (UNITS / name).read_text(encoding="utf-8")
        text = text.replace(BIN, shutil.which("true") or "/bin/true")  # verify needs the binary
        files.append(tmp_path / name.replace("@.", "@1."))
        files[-1].write_text(text.replace("/etc/hanoinet/hanoinet.env", str(env)), "utf-8")
    verified = subprocess.run(
        [ANALYZE, "verify", "--man=no", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    for unit_file in files:
        security = subprocess.run(
            [ANALYZE, "security", "--offline=true", str(unit_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        level = re.search(r"Overall exposure level for \S+: (\d+\.\d)", security.stdout)
        assert level is not None, security.stdout + security.stderr
        assert float(level.group(1)) <= 4.0, security.stdout
