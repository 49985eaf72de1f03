"""Where evidence is in clear while it is written, and what removes it after a crash.

Opening a package (``unpack``, ``export``, the web desk's download) writes the payload in clear
into a staging folder beside its destination, ``.hanoinet-unpack-<random>``, which is renamed
into place only once every check passed. A process killed meanwhile (kill -9, power cut)
leaves that folder behind, in clear. So:

- the folder is made owner-only, under another name with a ``.lock`` in it already held
  (``flock``), then renamed: the lock is held for as long as its process lives, and the
  kernel lets go of it when the process dies, however it dies;
- on a node, a journal entry in the evidence store (``.staging/<name>.json``, holding the
  folder's path and host, locked the same way, written whole before it gets its name) is
  fsynced *before* the folder exists, so a folder anywhere on disk is found again;
  ``sweep_journal`` (run when any hanoinet command opens the node) removes each folder of
  this host whose process is gone;
- off a node, ``sweep_folder`` removes the leftovers in the destination the next time
  something is unpacked there.

Only a real, owner-only directory of this user is ever removed, links are never followed,
and a file with another name elsewhere is unlinked, not overwritten. The locks are ``flock``:
the evidence store's journal must be on a local file system, or one whose locks are
``flock``'s (CephFS); NFS emulates them with POSIX locks (docs/deploy.md).

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
import socket
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFIX = ".hanoinet-unpack-"
MAKING = ".hanoinet-new-"
"""A staging folder or journal entry being made, before it gets its name."""
LOCK = ".lock"
JOURNAL = ".staging"
"""The journal's folder, inside the node's evidence store (shared by every process)."""
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


def _ours(folder: Path) -> bool:
    """Whether ``folder`` is a staging folder this user made: a real directory (not a link),
    owned by this process's user, owner-only. Anything else is never shredded."""
    try:
        found = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(found.st_mode)
        and found.st_uid == os.geteuid()
        and stat.S_IMODE(found.st_mode) & 0o077 == 0
    )


def shred(folder: Path) -> Removed:
    """Overwrite every file under ``folder`` with zeros, sync, then remove the folder. Links
    are never followed, and a file with another name elsewhere (a hard link) is unlinked here
    without being overwritten: only what this folder alone holds is shredded."""
    files = size = 0
    for _root, _dirs, names, dir_fd in os.fwalk(folder, follow_symlinks=False):
        for name in names:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError:
                continue  # a link or a special file: removed below, never written through
            try:
                found = os.fstat(fd)
                if not stat.S_ISREG(found.st_mode) or found.st_nlink > 1:
                    continue
                left = found.st_size
                while left > 0:
                    left -= os.write(fd, bytes(min(BLOCK, left)))
                os.fsync(fd)
                files, size = files + 1, size + found.st_size
            except OSError:
                continue  # removed below all the same
            finally:
                os.close(fd)
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        fsync_dir(folder.parent)
    return Removed(folder, files, size)


def _try_lock(path: Path) -> int | None:
    """An open, exclusively locked descriptor of ``path``, or None when a live process holds
    it (or it cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _locked_file(final: Path, content: bytes) -> int:
    """``final``, created under a name no sweep looks at, locked, written and synced, then
    renamed into place: whoever sees it by its name finds it locked (the lock stays with the
    open file across the rename)."""
    hidden = final.with_name(f"{MAKING}{uuid.uuid4().hex}")
    fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, content)
        os.fsync(fd)
        os.rename(hidden, final)
        fsync_dir(final.parent)
    except BaseException:
        os.close(fd)
        hidden.unlink(missing_ok=True)
        raise
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
            entry = journal / f"{self.path.name}.json"
            record = {"path": str(self.path.resolve()), "host": socket.gethostname()}
            self._fds.append(_locked_file(entry, json.dumps(record).encode()))
            self._entry = entry
        # Made under another name with its lock held, then renamed: a sweep never sees a
        # staging folder whose lock is not taken yet.
        making = self.path.with_name(f"{MAKING}{uuid.uuid4().hex}")
        making.mkdir(mode=0o700)
        lock = os.open(making / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self._fds.append(lock)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.rename(making, self.path)

    def close(self) -> None:
        """Remove what is left of the folder (in clear: shredded) and its journal entry."""
        try:
            if _ours(self.path):
                shred(self.path)
            if self._entry is not None:
                self._entry.unlink(missing_ok=True)
        finally:
            for fd in self._fds:
                with contextlib.suppress(OSError):
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
    """Remove the staging folders the journal lists whose process is gone (on this host: a
    folder another host of the node made is that host's to remove); their entries too."""
    removed: list[Removed] = []
    if not journal.is_dir():
        return removed
    here = socket.gethostname()
    for entry in sorted(journal.glob(f"{PREFIX}*.json")):
        fd = _try_lock(entry)
        if fd is None:
            continue  # its process is alive: still writing
        try:
            try:
                record = json.loads(entry.read_text(encoding="utf-8"))
                path, host = Path(record["path"]), record.get("host", here)
            except (OSError, ValueError, KeyError, TypeError):
                entry.unlink(missing_ok=True)  # written whole before its name: never half
                continue
            if host != here:
                continue
            if path.name.startswith(PREFIX) and _ours(path):
                removed.append(shred(path))
            elif os.path.lexists(path):
                continue  # there, but not what this user made: left alone, entry kept
            else:  # killed before it got its name: what it made is beside it, under another
                removed.extend(sweep_folder(path.parent))
            entry.unlink(missing_ok=True)
        finally:
            os.close(fd)
    for making in journal.glob(f"{MAKING}*"):  # an entry killed before it got its name
        fd = _try_lock(making)
        if fd is not None:
            making.unlink(missing_ok=True)
            os.close(fd)
    return removed


def sweep_folder(to: Path) -> list[Removed]:
    """Remove the staging folders left in ``to`` by processes that are gone (off a node)."""
    removed: list[Removed] = []
    if not to.is_dir():
        return removed
    for folder in sorted([*to.glob(f"{PREFIX}*"), *to.glob(f"{MAKING}*")]):
        if not _ours(folder):
            continue  # a link, another user's folder, or not owner-only: never touched
        fd = _try_lock(folder / LOCK)
        if fd is None:
            continue  # its process is alive (or it has no lock: it was never ours to clear)
        try:
            removed.append(shred(folder))
        finally:
            os.close(fd)
    return removed
