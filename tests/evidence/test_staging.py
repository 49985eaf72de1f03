"""Staging folders for evidence in clear: owner-only, locked while their process lives, found
and shredded once it is gone (issue 26 item 3)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

from hanoinet.evidence import staging

CHILD = """
import os, sys, time
from pathlib import Path
from hanoinet.evidence import staging
journal = Path(sys.argv[2]) if sys.argv[2] != "-" else None
held = staging.Staging(Path(sys.argv[1]), journal)
(held.path / "evidence.bin").write_bytes(b"in clear " * 1000)
print(held.path, flush=True)
time.sleep(60)
"""


def _killed_child(to: Path, journal: Path | None) -> Path:
    """A process that stages evidence in clear and is killed -9: its folder stays behind."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(to), str(journal) if journal else "-"],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        path = Path(child.stdout.readline().strip())
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert (path / "evidence.bin").is_file()
    return path


def test_a_staging_folder_is_owner_only_and_shredded_when_closed(tmp_path: Path) -> None:
    with staging.staging(tmp_path) as held:
        assert held.path.name.startswith(staging.PREFIX)
        assert stat.S_IMODE(held.path.stat().st_mode) == 0o700
        secret = held.path / "statement.txt"
        secret.write_bytes(b"the witness says" * 100)
        still_open = os.open(secret, os.O_RDONLY)  # sees the same bytes on disk afterwards
    try:
        assert not held.path.exists()
        assert os.pread(still_open, 2000, 0) == bytes(1600)  # overwritten, not only unlinked
    finally:
        os.close(still_open)


def test_removal_never_writes_through_a_link(tmp_path: Path) -> None:
    """A file linked into a staging folder (a symbolic link, or a hard link: another name of
    a file elsewhere) is unlinked there, never overwritten; a journal entry that names a link
    to a folder shreds nothing."""
    precious = tmp_path / "database"
    precious.mkdir()
    (precious / "hanoinet.db").write_bytes(b"the node's records")
    with staging.staging(
        tmp_path / "out" if (tmp_path / "out").mkdir() is None else tmp_path
    ) as held:
        os.symlink(precious / "hanoinet.db", held.path / "soft")
        os.link(precious / "hanoinet.db", held.path / "hard")
    assert (precious / "hanoinet.db").read_bytes() == b"the node's records"
    journal = tmp_path / "journal"
    journal.mkdir()
    trap = tmp_path / "out" / f"{staging.PREFIX}trap"
    trap.symlink_to(precious)
    (journal / f"{trap.name}.json").write_text(json.dumps({"path": str(trap)}))
    assert staging.sweep_journal(journal) == []
    assert staging.sweep_folder(tmp_path / "out") == []
    assert (precious / "hanoinet.db").read_bytes() == b"the node's records"


def test_the_journal_names_a_killed_process_folder_and_the_sweep_removes_it(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "evidence" / staging.JOURNAL
    target = tmp_path / "export"
    target.mkdir()
    with staging.staging(target, journal) as alive:
        left = _killed_child(target, journal)
        assert sorted(p.name for p in journal.iterdir()) == sorted(
            [f"{alive.path.name}.json", f"{left.name}.json"]
        )
        entry = json.loads((journal / f"{left.name}.json").read_text())
        assert entry == {"path": str(left.resolve()), "host": socket.gethostname()}
        removed = staging.sweep_journal(journal)
        assert [(r.path, r.files) for r in removed] == [(left, 2)]  # the evidence and the lock
        assert removed[0].bytes == 9000
        assert not left.exists()
        assert alive.path.is_dir()  # its process is alive: left alone
        assert [p.name for p in journal.iterdir()] == [f"{alive.path.name}.json"]
    assert list(journal.iterdir()) == [] and list(target.iterdir()) == []


def test_off_a_node_the_next_unpack_there_removes_what_a_killed_one_left(
    tmp_path: Path,
) -> None:
    left = _killed_child(tmp_path, None)
    with staging.staging(tmp_path) as alive:
        removed = staging.sweep_folder(tmp_path)
        assert [r.path for r in removed] == [left]
        assert alive.path.is_dir()
    foreign = tmp_path / f"{staging.PREFIX}not-owner-only"
    foreign.mkdir(mode=0o755)
    (foreign / "x").write_bytes(b"someone's")
    unlocked = tmp_path / f"{staging.PREFIX}no-lock"
    unlocked.mkdir(mode=0o700)
    assert staging.sweep_folder(tmp_path) == []  # neither was made as a staging folder is
    assert (foreign / "x").read_bytes() == b"someone's" and unlocked.is_dir()
