"""Benchmark: evidence packages, one file of ``--size`` bytes, beside the standard tools.

Two steps, each timed beside a reference run on the same file in the same run:

- **pack + encrypt**: ``package.pack`` (one read pass: hash SHA-256 and SHA-512, tar,
  age-encrypt, sign, fsync) against ``sha256sum FILE`` followed by
  ``age -r KEY -o OUT FILE`` (Debian's ``age``, as two subprocesses one after the other);
- **decrypt + verify**: ``package.verify(..., validate_case=False)`` on the package just
  made (it must pass, else the benchmark stops) against the pipeline
  ``age -d -i IDENTITY PKG | sha256sum`` (age reads the package: it is standard age).

Target (issue 7): each of ours at least as fast as its reference, and a flat peak
memory of at most 64 MiB for both steps whatever the size. Each of ours runs in a
fresh child process (``python -c``, calling ``child`` below) timed around the call
alone; a small launcher process reads the child's peak RSS with ``os.wait4`` (see
``LAUNCHER`` for why not the benchmark's own process), and the child reports
its RSS after its imports (the baseline, which is not ours). CASE/UCO validation of
the package's ``custody.jsonld`` costs the same whatever the size: it is timed once, in
its own child, and reported apart.

Fairness: before each timed step the file is read once (``cat FILE > /dev/null``) so
both sides find it in the page cache, and ``os.sync()`` runs so no step pays for the
previous one's writeback. Ours and the reference alternate (which goes first swaps
each round); with ``--repeat N`` the best of N is reported for each.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hanoinet.errors import InvalidInput, MissingTool
from hanoinet.evidence import agekeys, custody, package
from hanoinet.evidence.bag import CHUNK, sources
from hanoinet.evidence.conditions import UseConditions
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as directory_module
from hanoinet.exchange.keys import KeySet

TARGET_RATIO = 1.0
"""Ours / reference: at least as fast as the standard tools one after the other."""
TARGET_PEAK_MIB = 64
DEFAULT_SIZE = "100M"
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
MB = 1_000_000
"""MB/s are decimal megabytes (10^6 bytes) per second; sizes are binary (K = 2^10 ...)."""
SENDER, RECEIVER = "bench-sender", "bench-receiver"
PACKAGE_ID = "EV-bench-sender-000001"
OURS_PACK = "hanoinet package.pack"
OURS_VERIFY = "hanoinet package.verify (validate_case=False)"
REF_PACK = "sha256sum FILE; age -r KEY -o OUT FILE"
REF_VERIFY = "age -d -i IDENTITY PKG | sha256sum"

Progress = Callable[[str], None]


class BenchFailed(RuntimeError):
    """A step did not do what it must (a child or reference tool failed, our package did
    not verify, the two sides disagree): the figures would mean nothing."""


def parse_size(text: str) -> int:
    """``2G``, ``100M``, ``512K`` or a number of bytes -> bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)\s*", text, flags=re.IGNORECASE)
    if match is None:
        raise InvalidInput(
            f"--size {text!r} is not a size: write a whole number with an optional K, M or G "
            "suffix (binary: 1K = 1024 bytes), for example 100M or 2G"
        )
    size = int(match.group(1)) * UNITS[match.group(2).upper()]
    if size < 1:
        raise InvalidInput(f"--size {text!r} is empty: give at least one byte, for example 100M")
    return size


@dataclass(frozen=True)
class Tools:
    age: str
    sha256sum: str
    cat: str
    age_version: str


INSTALL = {
    "age": "install Debian's age with `sudo apt-get install age`",
    "sha256sum": "it is part of coreutils: `sudo apt-get install coreutils`",
    "cat": "it is part of coreutils: `sudo apt-get install coreutils`",
}


def find_tools() -> Tools:
    """The reference programs on PATH; a missing one is a one-line error saying how to
    install it (the benchmark never downloads anything)."""
    found: dict[str, str] = {}
    for name, how in INSTALL.items():
        path = shutil.which(name)
        if path is None:
            raise MissingTool(
                f"`{name}` is not installed (not on PATH), and bench evidence runs it as the reference: {how}"
            )
        found[name] = path
    version = subprocess.run(
        [found["age"], "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Tools(found["age"], found["sha256sum"], found["cat"], version or "unknown")


# --- the child process: one of our operations, timed around the call alone ---------------


def _setup_file(folder: Path) -> Path:
    return folder / "setup.json"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _prepare(folder: Path, at: datetime) -> dict[str, Any]:
    """Two nodes' keys (thrown away with the folder), a signed directory listing them, the
    use conditions; written to ``setup.json`` (owner-only) for the child processes."""
    from hanoinet.evidence.conditions import conditions_for

    sender_keys, receiver_keys = KeySet.generate(at), KeySet.generate(at)

    def entry(node_id: str, state: str, keys: KeySet) -> directory_module.NodeEntry:
        return directory_module.NodeEntry(
            id=node_id,
            state=state,
            name=f"Benchmark node {node_id} (illustrative)",
            roles=("central_authority",),
            endpoint=f"https://{node_id}.example.org/hanoinet",
            keys=tuple(directory_module.PublicKey(**k) for k in keys.public()),
            valid_from=at,
        )

    authority = crypto.generate_signing_key()
    authority_kid = crypto.thumbprint(crypto.public_jwk(authority))
    signed = directory_module.issue(
        directory_module.Directory(
            version=1,
            issued_at=at,
            valid_until=at + timedelta(days=1),
            nodes=(entry(SENDER, "XA", sender_keys), entry(RECEIVER, "XB", receiver_keys)),
        ),
        authority,
        authority_kid,
    )
    request_uid = "bench-request-uid"
    conditions = conditions_for(
        request_uid=request_uid, reference="BENCH-1", matter="benchmark", confidential=True
    )
    setup = {
        "at": at.isoformat(),
        "sender_keys": sender_keys.to_json().decode(),
        "receiver_keys": receiver_keys.to_json().decode(),
        "directory_token": signed.token,
        "authorities": {authority_kid: crypto.public_jwk(authority)},
        "recipients": [
            agekeys.recipient_string(receiver_keys.active("enc", at).private),
            agekeys.recipient_string(sender_keys.active("enc", at).private),
        ],
        "conditions": conditions.model_dump(mode="json"),
        "request_uid": request_uid,
    }
    _write_private(_setup_file(folder), json.dumps(setup).encode())
    _write_private(
        folder / "identity.txt",
        (agekeys.identity_string(receiver_keys.active("enc", at).private) + "\n").encode(),
    )
    return setup


def _pack(folder: Path, file: Path, out: Path) -> dict[str, Any]:
    setup = json.loads(_setup_file(folder).read_bytes())
    at = datetime.fromisoformat(setup["at"])
    sig = KeySet.from_json(setup["sender_keys"].encode()).active("sig", at)
    sender = package.Sender(
        SENDER, f"Benchmark node {SENDER} (illustrative)", "XA", sig.kid, sig.key,
        setup["directory_token"],
    )  # fmt: skip
    files = sources([file])
    started = time.perf_counter()
    packed = package.pack(
        files,
        out,
        package_id=PACKAGE_ID,
        request_uid=setup["request_uid"],
        reference="BENCH-1",
        sender=sender,
        recipient_node=RECEIVER,
        recipients=setup["recipients"],
        conditions=UseConditions.model_validate(setup["conditions"]),
        collection=custody.Collection(
            collected_by="the benchmark (illustrative)",
            collected_at=at,
            method="random bytes",
        ),
        actor="bench",
        version="bench",
        at=at,
    )
    seconds = time.perf_counter() - started
    (digests,) = packed.files.values()
    return {"seconds": seconds, "package_bytes": packed.package_bytes, **digests.hashes}


def _verify(folder: Path, source: Path) -> dict[str, Any]:
    setup = json.loads(_setup_file(folder).read_bytes())
    at = datetime.fromisoformat(setup["at"])
    identity = agekeys.identity(
        KeySet.from_json(setup["receiver_keys"].encode()).active("enc", at).private
    )
    started = time.perf_counter()
    result = package.verify(
        source,
        trust=package.Trust(setup["authorities"]),
        identities=[identity],
        validate_case=False,
    )
    seconds = time.perf_counter() - started
    if package.CUSTODY in result.tags:
        (folder / package.CUSTODY).write_bytes(result.tags[package.CUSTODY])
    return {
        "seconds": seconds,
        "ok": result.ok,
        "checks": [c.as_dict() for c in result.checks],
    }


def _validate(folder: Path, custody_file: Path) -> dict[str, Any]:
    data = custody_file.read_bytes()
    started = time.perf_counter()
    validation = custody.validate(data)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "conforms": validation.conforms,
        "ontology": validation.ontology,
        "report": validation.report[:2000],
    }


OPERATIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "pack": _pack,
    "verify": _verify,
    "validate": _validate,
}


def child(argv: list[str] | None = None) -> None:
    """Entry point of a child process: ``OPERATION FOLDER PATH...``; prints one JSON line.
    The module's imports are done by now: the RSS read first is the baseline."""
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    op, folder, *paths = sys.argv[1:] if argv is None else argv
    outcome = OPERATIONS[op](Path(folder), *map(Path, paths))
    sys.stdout.write(json.dumps({**outcome, "baseline_kib": baseline_kib}) + "\n")


CHILD = "import sys; from hanoinet.bench.evidence import child; child()"
LAUNCHER = """
import json, os, sys
pid = os.posix_spawn(sys.executable, [sys.executable, *sys.argv[1:]], os.environ)
_, status, usage = os.wait4(pid, 0)
sys.stdout.write(json.dumps({"peak_rss_kib": usage.ru_maxrss}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Starts the child and reads its rusage with ``os.wait4``. Why not from the benchmark's
own process: Linux carries the peak RSS of the address space a process had before
``exec`` into the new program's (``ru_maxrss`` of a child spawned by a 150 MiB parent
reads 150 MiB whatever the child uses); this launcher (``python -I -S``, about 10 MiB)
is the child's parent, so the child's figure is its own."""


@dataclass(frozen=True)
class ChildRun:
    outcome: dict[str, Any]
    seconds: float
    """Of the operation, timed in the child around the call alone."""
    process_seconds: float
    """Of the whole child process: start, imports, set-up and the operation."""
    peak_rss_kib: int
    baseline_rss_kib: int


def _run_child(op: str, folder: Path, *paths: Path) -> ChildRun:
    errors = folder / f"{op}.stderr"
    started = time.perf_counter()
    with open(errors, "wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, "-c", CHILD, op, str(folder)]
            + [str(p) for p in paths],
            stdout=subprocess.PIPE,
            stderr=stderr,
            check=False,
        )
    process_seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchFailed(
            f"bench evidence: the {op} child process failed (exit {done.returncode}):\n"
            + errors.read_text(errors="replace")[-4000:]
        )
    *lines, last = done.stdout.decode().splitlines()
    outcome = json.loads(lines[-1])
    return ChildRun(
        outcome,
        float(outcome["seconds"]),
        process_seconds,
        int(json.loads(last)["peak_rss_kib"]),
        int(outcome["baseline_kib"]),
    )


# --- the references: Debian's age and coreutils' sha256sum -------------------------------


def _checked(proc: subprocess.CompletedProcess[bytes] | subprocess.Popen[bytes], what: str) -> None:
    if proc.returncode != 0:
        raise BenchFailed(f"bench evidence: the reference `{what}` failed (exit {proc.returncode})")


def _reference_pack(
    tools: Tools, file: Path, out: Path, recipients: list[str]
) -> tuple[float, str]:
    keys = [arg for r in recipients for arg in ("-r", r)]
    started = time.perf_counter()
    digest = subprocess.run([tools.sha256sum, str(file)], stdout=subprocess.PIPE, check=False)
    encrypt = subprocess.run([tools.age, *keys, "-o", str(out), str(file)], check=False)
    seconds = time.perf_counter() - started
    _checked(digest, "sha256sum FILE")
    _checked(encrypt, "age -r KEY -o OUT FILE")
    return seconds, digest.stdout.decode().split()[0]


def _reference_verify(tools: Tools, source: Path, identity: Path) -> float:
    started = time.perf_counter()
    # the shell's pipeline, without a shell: age's stdout is sha256sum's stdin
    decrypt = subprocess.Popen(
        [tools.age, "-d", "-i", str(identity), str(source)], stdout=subprocess.PIPE
    )
    digest = subprocess.Popen([tools.sha256sum], stdin=decrypt.stdout, stdout=subprocess.PIPE)
    assert decrypt.stdout is not None
    decrypt.stdout.close()  # sha256sum holds the read end now
    digest.communicate()
    decrypt.wait()
    seconds = time.perf_counter() - started
    _checked(decrypt, "age -d -i IDENTITY PKG")
    _checked(digest, "| sha256sum")
    return seconds


# --- the run ------------------------------------------------------------------------------


def _random_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(CHUNK, left)
            f.write(os.urandom(n))
            left -= n


def _warm(tools: Tools, path: Path) -> None:
    """Read the file once so the timed step finds it in the page cache; flush writes."""
    subprocess.run([tools.cat, str(path)], stdout=subprocess.DEVNULL, check=True)
    os.sync()


def _side(name: str, seconds: list[float], size: int, **extra: Any) -> dict[str, Any]:
    best = round(min(seconds), 4)
    return {
        "name": name,
        "seconds": best,
        "runs": [round(s, 4) for s in seconds],
        "mb_per_second": round(size / MB / best, 1) if best else None,
        **extra,
    }


def _step(name: str, ours: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    ratio = round(ours["seconds"] / reference["seconds"], 3) if reference["seconds"] else None
    return {
        "name": name,
        "ours": ours,
        "reference": reference,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio is not None and ratio <= TARGET_RATIO,
    }


def _memory(runs: list[ChildRun]) -> dict[str, Any]:
    peak = max(r.peak_rss_kib for r in runs) / 1024
    baseline = max(r.baseline_rss_kib for r in runs) / 1024
    return {
        "peak_rss_mib": round(peak, 1),
        "baseline_rss_mib": round(baseline, 1),
        "ours_mib": round(peak - baseline, 1),
        "meets_target": peak <= TARGET_PEAK_MIB,
    }


def _free_space_check(folder: Path, size: int, text: str) -> None:
    needed = 3 * size + (64 << 20)  # the file, our package, the reference's output
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise InvalidInput(
            f"--size {text} needs about {needed / 1e9:.1f} GB free in {folder} (the file, "
            f"the package and age's output), and there are {free / 1e9:.1f} GB: "
            "choose a smaller --size or another --dir"
        )


def run(
    size_text: str = DEFAULT_SIZE,
    *,
    repeat: int = 1,
    directory: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark; everything it writes is in a temporary folder removed at the end."""
    size = parse_size(size_text)
    if repeat < 1:
        raise InvalidInput(f"--repeat {repeat}: give at least 1")
    tools = find_tools()
    if directory is not None and not directory.is_dir():
        raise InvalidInput(f"--dir {directory} is not a folder")
    say = progress or (lambda _line: None)
    folder = Path(tempfile.mkdtemp(prefix="hanoinet-bench-evidence-", dir=directory))
    try:
        _free_space_check(folder, size, size_text)
        setup = _prepare(folder, datetime.now(UTC).replace(microsecond=0))
        file = folder / "evidence.bin"
        pkg, ref_out = folder / "package.age", folder / "reference.age"
        identity = folder / "identity.txt"
        say(f"writing {size:,} random bytes to {file} (not timed)")
        _random_file(file, size)

        pack_runs: list[ChildRun] = []
        verify_runs: list[ChildRun] = []
        ref_pack: list[float] = []
        ref_verify: list[float] = []
        for round_ in range(repeat):
            say(f"round {round_ + 1} of {repeat}: pack + encrypt")

            def ours_pack() -> None:
                _warm(tools, file)
                pack_runs.append(_run_child("pack", folder, file, pkg))

            def reference_pack() -> None:
                _warm(tools, file)
                seconds, digest = _reference_pack(tools, file, ref_out, setup["recipients"])
                ref_out.unlink()
                ref_pack.append(seconds)
                if pack_runs and digest != pack_runs[-1].outcome["sha256"]:
                    raise BenchFailed(
                        "bench evidence: sha256sum and package.pack disagree on the file's SHA-256"
                    )

            sides: list[Callable[[], None]] = [ours_pack, reference_pack]
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                side()

            say(f"round {round_ + 1} of {repeat}: decrypt + verify")

            def ours_verify() -> None:
                _warm(tools, pkg)
                run_ = _run_child("verify", folder, pkg)
                if not run_.outcome["ok"]:
                    failed = [c for c in run_.outcome["checks"] if c["status"] != "passed"]
                    raise BenchFailed(
                        f"bench evidence: package.verify refused the package it just made: {failed}"
                    )
                verify_runs.append(run_)

            def reference_verify() -> None:
                _warm(tools, pkg)
                ref_verify.append(_reference_verify(tools, pkg, identity))

            sides = [ours_verify, reference_verify]
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                side()

        say("CASE/UCO validation of custody.jsonld (once: its cost does not depend on size)")
        validation = _run_child("validate", folder, folder / package.CUSTODY)
        if not validation.outcome["conforms"]:
            raise BenchFailed(
                "bench evidence: the package's custody.jsonld does not conform to CASE: "
                + str(validation.outcome["report"])
            )
        package_bytes = int(pack_runs[-1].outcome["package_bytes"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def best_process(runs: list[ChildRun]) -> float:
        return round(min(runs, key=lambda r: r.seconds).process_seconds, 4)

    steps = [
        _step(
            "pack + encrypt",
            _side(
                OURS_PACK,
                [r.seconds for r in pack_runs],
                size,
                process_seconds=best_process(pack_runs),
            ),
            _side(REF_PACK, ref_pack, size),
        ),
        _step(
            "decrypt + verify",
            _side(
                OURS_VERIFY,
                [r.seconds for r in verify_runs],
                size,
                process_seconds=best_process(verify_runs),
            ),
            _side(REF_VERIFY, ref_verify, size),
        ),
    ]
    pack_memory, verify_memory = _memory(pack_runs), _memory(verify_runs)
    memory = {
        "target_mib": TARGET_PEAK_MIB,
        "pack": pack_memory,
        "verify": verify_memory,
        "meets_target": pack_memory["meets_target"] and verify_memory["meets_target"],
    }
    return {
        "benchmark": "evidence",
        "size": size_text.strip().upper(),
        "bytes": size,
        "package_bytes": package_bytes,
        "repeat": repeat,
        "tools": {"age": tools.age, "age_version": tools.age_version, "sha256sum": tools.sha256sum},
        "steps": steps,
        "verified": True,
        "case_validation": {
            "name": "custody.validate (case-utils SHACL, CASE "
            + validation.outcome["ontology"]
            + ")",
            "seconds": round(validation.seconds, 4),
            "conforms": True,
            "peak_rss_mib": round(validation.peak_rss_kib / 1024, 1),
        },
        "memory": memory,
        "meets_target": all(s["meets_target"] for s in steps) and memory["meets_target"],
        "notes": [
            "ours is timed inside a fresh child process around the call alone; "
            "process_seconds adds the process start, imports and set-up; the reference "
            "times include starting its processes (a few ms)",
            "pack also computes SHA-512, writes the bag's tags, signs, and fsyncs the package "
            "before renaming it into place; the reference computes SHA-256 only and age -o "
            "does not fsync",
            "CASE/UCO validation is a fixed cost whatever the size: timed once, in its own "
            "process, and not part of decrypt + verify (run with validate_case=False)",
            "before each timed step the input is read once (cat > /dev/null) and os.sync() "
            "runs; ours and the reference alternate, best of --repeat reported",
            "peak RSS from os.wait4 on each child, by a small launcher process (Linux counts "
            "a parent's RSS before exec in a child's peak); baseline_rss_mib is the child's "
            "RSS after its imports (Python, pydantic, joserfc, pyrage): not ours",
            "sizes are binary (1M = 2^20 bytes); MB/s are 10^6 bytes per second of payload",
        ],
    }
