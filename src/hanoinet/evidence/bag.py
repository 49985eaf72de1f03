"""BagIt (RFC 8493) written and read as a tar stream, in one pass over the data.

The ``bagit`` library builds a bag in place in a folder and hashes it there;
a package of several gigabytes would then be read twice more to tar and
encrypt it. So the bag is written here as a stream: each payload file is read
once, hashed (SHA-256 and SHA-512) while it goes into the tar, and the tag
files follow the payload. Reading is the same in reverse. The files produced
are those ``bagit`` makes (same manifest lines, same file-name encoding), and
an unpacked bag validates with ``bagit.Bag(path).validate()`` (tests check
both ways); ``unpack`` uses the library to check the folder it wrote.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO

ALGORITHMS = ("sha256", "sha512")
CHUNK = 1 << 20
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
TAG_LIMIT = 64 << 20
"""No tag file is read into memory beyond this size."""

Progress = Callable[[int], None]


class BagError(Exception):
    """A bag that cannot be written or read: names the file and what is wrong."""

    def __init__(self, code: str, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.code = code
        self.where = where
        self.message = message


def encode_name(name: str) -> str:
    """A path as manifests write it (as ``bagit`` does: CR and LF percent-encoded)."""
    return name.replace("\r", "%0D").replace("\n", "%0A")


def decode_name(name: str) -> str:
    return name.replace("%0D", "\r").replace("%0d", "\r").replace("%0A", "\n").replace("%0a", "\n")


@dataclass(frozen=True)
class Source:
    """A file to put in the bag: where it is, and its path under ``data/``."""

    path: Path
    name: str
    size: int


def sources(paths: list[Path]) -> list[Source]:
    """The regular files named (folders walked, in name order), each under its base name.

    Refused, naming the path: a path that does not exist, a symbolic link or special
    file (evidence is what is there, not what a link points to), two files with the
    same name in the bag, and an empty selection.
    """
    found: list[Source] = []

    def add(path: Path, name: str) -> None:
        try:
            info = path.lstat()
        except OSError as exc:
            raise BagError("missing", str(path), exc.strerror or "cannot be read") from None
        if stat.S_ISLNK(info.st_mode):
            raise BagError("link", str(path), "is a symbolic link; give the file it points to")
        if stat.S_ISDIR(info.st_mode):
            for child in sorted(path.iterdir(), key=lambda p: p.name):
                add(child, f"{name}/{child.name}")
            return
        if not stat.S_ISREG(info.st_mode):
            raise BagError("special", str(path), "is not a regular file")
        if not os.access(path, os.R_OK):
            raise BagError("unreadable", str(path), "cannot be read (permission denied)")
        found.append(Source(path, name, info.st_size))

    for path in paths:
        add(path, path.resolve().name or "root")
    names: dict[str, Path] = {}
    for s in found:
        if _unsafe_name(s.name):
            raise BagError(
                "unsupported_name",
                str(s.path),
                "has a name a BagIt manifest cannot carry as it is (leading or trailing "
                "spaces, a line separator, or a literal %0A / %0D): rename it",
            )
        if s.name in names:
            raise BagError(
                "duplicate", str(s.path), f"has the same name in the bag as {names[s.name]}"
            )
        names[s.name] = s.path
    if not found:
        raise BagError("empty", ", ".join(map(str, paths)), "no files to pack")
    return found


_SEPARATORS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _unsafe_name(name: str) -> bool:
    parts = name.split("/")
    if any(p != p.strip() for p in parts):
        return True
    lowered = name.lower()
    return "%0a" in lowered or "%0d" in lowered or any(c in name for c in _SEPARATORS)


@dataclass
class Digests:
    size: int = 0
    hashes: dict[str, str] = field(default_factory=dict)


class _Hashing(io.RawIOBase):
    """Reads a file once, feeding each algorithm; counts bytes for progress."""

    def __init__(self, raw: BinaryIO, progress: Progress | None) -> None:
        self._raw = raw
        self._hashes = [hashlib.new(a) for a in ALGORITHMS]
        self._progress = progress
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            view = memoryview(buffer)[:n]
            for h in self._hashes:
                h.update(view)
            self.size += n
            if self._progress is not None:
                self._progress(n)
        return int(n or 0)

    def digests(self) -> Digests:
        return Digests(
            self.size, {a: h.hexdigest() for a, h in zip(ALGORITHMS, self._hashes, strict=True)}
        )


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def manifest(entries: dict[str, Digests], algorithm: str) -> bytes:
    return "".join(
        f"{d.hashes[algorithm]}  {encode_name(name)}\n" for name, d in sorted(entries.items())
    ).encode()


@dataclass(frozen=True)
class Written:
    payload: dict[str, Digests]
    """``data/...`` -> size and hashes."""
    tags: dict[str, bytes]
    """Every tag file written, by name."""


def write_bag(
    out: IO[bytes],
    root: str,
    files: list[Source],
    tag_files: Callable[[dict[str, Digests]], dict[str, bytes]],
    sign: Callable[[dict[str, bytes]], dict[str, bytes]],
    *,
    at: datetime,
    progress: Progress | None = None,
) -> Written:
    """Write ``root/`` as a tar stream: bagit.txt, the payload (hashed as it is read),
    the tag files ``tag_files(payload)`` returns, the manifests and tag manifests, and
    last the files ``sign(tags)`` returns (not covered by the tag manifests: they sign them).
    """
    mtime = at.timestamp()
    payload: dict[str, Digests] = {}
    with tarfile.open(
        fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK, copybufsize=CHUNK
    ) as tar:  # type: ignore[call-overload]  # copybufsize is TarFile's, passed through
        tags: dict[str, bytes] = {"bagit.txt": BAGIT_TXT}
        tar.addfile(_info(f"{root}/bagit.txt", len(BAGIT_TXT), mtime), io.BytesIO(BAGIT_TXT))
        for source in files:
            name = f"data/{source.name}"
            with open(source.path, "rb", buffering=0) as raw:
                reader = _Hashing(raw, progress)
                try:
                    tar.addfile(_info(f"{root}/{name}", source.size, mtime), reader)
                except OSError as exc:
                    if isinstance(exc, BrokenPipeError):
                        raise
                    raise BagError(
                        "changed", str(source.path), f"could not be read whole: {exc}"
                    ) from None
                # tarfile reads exactly `size` bytes: a file that grew or shrank is caught here
                if raw.read(1) or reader.size != source.size:
                    raise BagError("changed", str(source.path), "changed while it was being packed")
            payload[name] = reader.digests()
        tags.update(tag_files(payload))
        for algorithm in ALGORITHMS:
            tags[f"manifest-{algorithm}.txt"] = manifest(payload, algorithm)
        covered = dict(tags)
        for algorithm in ALGORITHMS:
            tags[f"tagmanifest-{algorithm}.txt"] = "".join(
                f"{hashlib.new(algorithm, data).hexdigest()}  {name}\n"
                for name, data in sorted(covered.items())
            ).encode()
        tags.update(sign(tags))
        for name, data in tags.items():
            if name == "bagit.txt":
                continue
            tar.addfile(_info(f"{root}/{name}", len(data), mtime), io.BytesIO(data))
    return Written(payload, tags)


@dataclass
class Read:
    root: str | None = None
    payload: dict[str, Digests] = field(default_factory=dict)
    tags: dict[str, bytes] = field(default_factory=dict)
    problems: list[BagError] = field(default_factory=list)


def _entry_name(name: str) -> tuple[str, str] | None:
    path = PurePosixPath(name)
    parts = path.parts
    if path.is_absolute() or len(parts) < 2 or any(p in ("..", ".", "") for p in parts):
        return None
    return parts[0], "/".join(parts[1:])


def read_bag(
    stream: IO[bytes],
    *,
    tag_names: frozenset[str],
    dest: Path | None = None,
    progress: Progress | None = None,
) -> Read:
    """Read a bag's tar stream once: hash each payload file (writing it under ``dest``
    when given), keep the known tag files in memory. Nothing is parsed here but the tar
    framing; anything that does not belong in the bag is a problem, not an exception."""
    result = Read()
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as tar:
            _read_members(tar, result, tag_names, dest, progress)
    except (tarfile.TarError, EOFError) as exc:
        result.problems.append(
            BagError("malformed", "package", f"the tar stream is damaged: {exc}")
        )
    return result


MAX_MEMBERS = 1_000_000
MAX_PROBLEMS = 1_000


def _read_members(
    tar: tarfile.TarFile,
    result: Read,
    tag_names: frozenset[str],
    dest: Path | None,
    progress: Progress | None,
) -> None:
    count = 0
    for member in tar:
        tar.members = []  # type: ignore[attr-defined]  # tarfile keeps every header, even streaming
        count += 1
        if count > MAX_MEMBERS or len(result.problems) >= MAX_PROBLEMS:
            result.problems.append(
                BagError(
                    "malformed",
                    "package",
                    f"more than {MAX_MEMBERS:,} entries or {MAX_PROBLEMS:,} problems",
                )
            )
            return
        if member.isdir() and PurePosixPath(member.name).parts and _entry_name(f"{member.name}/x"):
            continue  # folders made by standard tools (tar c): their files are what counts
        split = _entry_name(member.name)
        if split is None:
            result.problems.append(
                BagError("unsafe_path", member.name, "is not a path inside the bag")
            )
            continue
        root, rel = split
        if result.root is None:
            result.root = root
        elif root != result.root:
            result.problems.append(BagError("extra", member.name, "is outside the bag's folder"))
            continue
        if not member.isfile():
            result.problems.append(BagError("extra", rel, "is not a regular file"))
            continue
        fileobj = tar.extractfile(member)
        assert fileobj is not None  # a regular file always has one
        if rel.startswith("data/"):
            if rel in result.payload:
                result.problems.append(BagError("duplicate", rel, "appears twice in the package"))
                continue
            result.payload[rel] = hash_stream(
                fileobj, dest / root / rel if dest else None, progress
            )
        elif rel in tag_names and member.size <= TAG_LIMIT:
            result.tags[rel] = fileobj.read()
        else:
            result.problems.append(BagError("extra", rel, "is not a file a hanoinet package has"))


def hash_stream(fileobj: IO[bytes], target: Path | None, progress: Progress | None) -> Digests:
    hashes = [hashlib.new(a) for a in ALGORITHMS]
    size = 0
    out: BinaryIO | None = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = open(target, "wb")  # noqa: SIM115 - closed below, written chunk by chunk
    try:
        while chunk := fileobj.read(CHUNK):
            for h in hashes:
                h.update(chunk)
            if out is not None:
                out.write(chunk)
            size += len(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        if out is not None:
            out.close()
    return Digests(size, {a: h.hexdigest() for a, h in zip(ALGORITHMS, hashes, strict=True)})


def parse_manifest(data: bytes, where: str) -> dict[str, str]:
    """``path -> hex`` of a manifest; a line that is not ``HEX  PATH`` is an error naming it."""
    entries: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", errors="strict").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        name = decode_name(name.strip())
        if not digest or not name:
            raise BagError("malformed", f"{where} line {number}", "is not 'HASH  PATH'")
        if name in entries:
            raise BagError("malformed", f"{where} line {number}", f"lists {name} twice")
        entries[name] = digest.lower()
    return entries
