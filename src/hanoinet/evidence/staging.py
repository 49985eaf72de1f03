"""Where evidence is in clear while it is written, and what removes it after a crash.

Opening a package (``unpack``, ``export``, the web desk's download) writes the payload in clear
into a staging folder beside its destination, ``.hanoinet-unpack-<random>``, which is renamed
into place only once every check passed. A process killed meanwhile (kill -9, power cut)
leaves that folder behind, in clear. So:

- the folder is made owner-only, and a ``.lock`` in it is held (``flock``) for as long as
  its process lives: the kernel lets go of it when the process dies, however it dies;
- on a node, a journal entry in the evidence store (``.staging/<name>.json``, holding the
  folder's path, locked the same way) is written and fsynced *before* the folder exists, so
  a folder anywhere on disk is found again; ``sweep_journal`` (run when any hanoinet command
  opens the node) removes each folder whose process is gone;
- off a node, ``sweep_folder`` removes the leftovers in the destination the next time
  something is unpacked there.

Removal overwrites each file with zeros and syncs it before unlinking it: on a file system
that writes in place that is the clear text gone, not only its name (copy-on-write file
systems and SSDs may keep old blocks; docs/evidence.md says so). Renames are followed by an
fsync of the directory, so that what a crash leaves is either the old name or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFIX = ".hanoinet-unpack-"
LOCK = ".lock"
JOURNAL = ".staging"
"""The journal's folder, inside the node's evidence store (shared by every process)."""
YOUNG_SECONDS = 60
"""A staging folder without its lock yet, younger than this, may be being made: left alone."""
BLOCK = 1 << 20


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (POSIX: the directory's own fsync)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Removed:
    """A staging folder found and removed: where, and how much was in it."""

    path: Path
    files: int
    bytes: int


def shred(folder: Path) -> Removed:
    """Overwrite every file under ``folder`` with zeros, sync, then remove the folder."""
    files = size = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                if path.is_symlink() or not path.is_file():
                    continue
                length = path.stat().st_size
                with open(path, "r+b") as f:
                    left = length
                    while left > 0:
                        step = min(BLOCK, left)
                        f.write(bytes(step))
                        left -= step
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                continue  # removed below all the same
            files, size = files + 1, size + length
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        fsync_dir(folder.parent)
    return Removed(folder, files, size)


def _try_lock(path: Path) -> int | None:
    """An open, exclusively locked descriptor of ``path``, or None when a live process holds
    it (or it cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class Staging:
    """A staging folder in use: its lock (and journal entry) held until ``close``."""

    def __init__(self, to: Path, journal: Path | None) -> None:
        self.path = to / f"{PREFIX}{uuid.uuid4().hex}"
        self._entry: Path | None = None
        self._fds: list[int] = []
        try:
            self._open(journal)
        except BaseException:
            self.close()
            raise

    def _open(self, journal: Path | None) -> None:
        if journal is not None:
            journal.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._entry = journal / f"{self.path.name}.json"
            fd = os.open(self._entry, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            self._fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps({"path": str(self.path.resolve())}).encode())
            os.fsync(fd)
            fsync_dir(journal)
        self.path.mkdir(mode=0o700)
        lock = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._fds.append(lock)
        fcntl.flock(lock, fcntl.LOCK_EX)

    def close(self) -> None:
        """Remove what is left of the folder (in clear: shredded) and its journal entry."""
        if self.path.exists():
            shred(self.path)
        if self._entry is not None:
            self._entry.unlink(missing_ok=True)
        for fd in self._fds:
            os.close(fd)
        self._fds = []


@contextlib.contextmanager
def staging(to: Path, journal: Path | None = None) -> Iterator[Staging]:
    """A staging folder in ``to``, removed (shredded) on the way out, however it is left."""
    made = Staging(to, journal)
    try:
        yield made
    finally:
        made.close()


def sweep_journal(journal: Path) -> list[Removed]:
    """Remove the staging folders the journal lists whose process is gone; their entries too."""
    removed: list[Removed] = []
    if not journal.is_dir():
        return removed
    for entry in sorted(journal.glob(f"{PREFIX}*.json")):
        fd = _try_lock(entry)
        if fd is None:
            continue  # its process is alive: still writing
        try:
            try:
                path = Path(json.loads(entry.read_text(encoding="utf-8"))["path"])
            except (OSError, ValueError, KeyError, TypeError):
                path = None
            if path is not None and path.name.startswith(PREFIX) and path.is_dir():
                removed.append(shred(path))
            entry.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return removed


def sweep_folder(to: Path) -> list[Removed]:
    """Remove the staging folders left in ``to`` by processes that are gone (off a node)."""
    removed: list[Removed] = []
    if not to.is_dir():
        return removed
    for folder in sorted(to.glob(f"{PREFIX}*")):
        if not folder.is_dir() or folder.is_symlink():
            continue
        lock = folder / LOCK
        if not lock.exists():
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime < YOUNG_SECONDS:
                    continue
            removed.append(shred(folder))
            continue
        fd = _try_lock(lock)
        if fd is None:
            continue
        try:
            removed.append(shred(folder))
        finally:
            os.close(fd)
    return removed
