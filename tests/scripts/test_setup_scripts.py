"""scripts/ensure-fonts, scripts/ensure-chromium and their scripts/lib/apt.sh, run with a fake
``apt-get`` (and ``sudo``, ``id``, ``fuser``) first on PATH: nothing is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
LOCKED = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"


def _packages(script: str) -> str:
    found = re.search(r'^PACKAGES="([^"]+)"$', (SCRIPTS / script).read_text(), re.MULTILINE)
    assert found is not None
    return found[1]


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    """A folder of stubs: apt-get records each call's arguments in ``calls`` (and, with
    ``$APT_LOCKED`` set, fails as apt does when another holds the lock after its timeout);
    an ordinary user with password-less sudo; fuser names ``$LOCK_HOLDER`` if set."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    _fake(
        bin_dir,
        "apt-get",
        f'echo "$*" >> {calls}\n'
        f'if [ -n "${{APT_LOCKED:-}}" ]; then echo "{LOCKED}" >&2; exit 100; fi',
    )
    _fake(bin_dir, "dpkg", f'echo "dpkg $*" >> {calls}')
    _fake(bin_dir, "id", "echo 1000")
    _fake(bin_dir, "sudo", '[ "$1" = -n ] && shift\nexec "$@"')
    _fake(bin_dir, "fuser", '[ -n "${LOCK_HOLDER:-}" ] && echo " $LOCK_HOLDER"\nexit 0')
    return bin_dir


def _run(
    fakes: Path, command: list[str], **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    result = subprocess.run(
        command,
        env=os.environ | {"PATH": f"{fakes}:{os.environ['PATH']}"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = fakes.parent / "calls"
    return result, calls.read_text().splitlines() if calls.exists() else []


def _install(
    fakes: Path, script: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script's own packages through the shared apt_install, as the script calls it."""
    line = f'. {SCRIPTS}/lib/apt.sh; apt_install "They" {_packages(script)}'
    return _run(fakes, ["sh", "-eu", "-c", line], **env)


@pytest.mark.parametrize("script", ["ensure-fonts", "ensure-chromium"])
def test_apt_waits_for_the_lock_of_another_package_manager(fakes: Path, script: str) -> None:
    result, calls = _install(fakes, script)
    assert result.returncode == 0, result.stderr
    assert all(c.startswith("-o DPkg::Lock::Timeout=300 ") for c in calls)
    assert len(calls) == 2 and calls[0].endswith("update -qq")
    assert calls[1].endswith("install -y -qq --no-install-recommends " + _packages(script))
    assert "waiting" not in result.stdout  # nobody holds the lock


def test_it_says_what_it_waits_for(fakes: Path) -> None:
    result, calls = _install(fakes, "ensure-fonts", LOCK_HOLDER="4242")
    assert result.returncode == 0, result.stderr
    assert (
        "waiting for another package manager to finish (process 4242; up to 5 minutes)..."
        in result.stdout.splitlines()
    )
    assert len(calls) == 2


@pytest.mark.parametrize("script", ["ensure-fonts", "ensure-chromium"])
def test_a_lock_held_too_long_ends_with_the_command_that_fixes_it(fakes: Path, script: str) -> None:
    result, _ = _install(fakes, script, APT_LOCKED="1", LOCK_HOLDER="4242")
    assert result.returncode == 1
    err = result.stderr.splitlines()
    assert LOCKED in err  # apt's own reason
    assert any("process 4242" in line and "5 minutes" in line for line in err)
    assert any("sudo kill 4242" in line for line in err)
    fix = "sudo apt-get update && sudo apt-get install -y --no-install-recommends "
    assert err[-1] == "    " + fix + _packages(script)


def test_without_root_or_sudo_it_only_says_what_to_run(fakes: Path) -> None:
    _fake(fakes, "sudo", "exit 1")  # a password would be needed
    result, calls = _install(fakes, "ensure-chromium")
    assert result.returncode == 1
    assert calls == []
    assert result.stderr.splitlines()[-1] == (
        "    sudo apt-get update && sudo apt-get install -y --no-install-recommends "
        + _packages("ensure-chromium")
    )


@pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("fc-match") and shutil.which("pdftotext")),
    reason="the packages are not installed here (make test installs them first)",
)
@pytest.mark.parametrize("script", ["ensure-fonts", "ensure-chromium"])
def test_when_everything_is_installed_nothing_is_called(fakes: Path, script: str) -> None:
    result, calls = _run(fakes, [str(SCRIPTS / script)])
    assert (result.returncode, result.stdout, result.stderr, calls) == (0, "", "", [])
