"""Benchmark: ``hanoinet check DIR --json`` over 1,000 request files, end to end.

The files are written to a temporary folder from the examples and the mix of
``bench check`` (complete requests of three forms, an incomplete template of
every form), each made different by its facts, and a few that
are not requests at all. Timed: ``hanoinet check DIR --json`` as a subprocess
(the interpreter's start-up and imports included, as a user sees it), the same
command on one of the files (what every run pays once: start-up, imports, the
first check), and the same checks in this process (reading, checking and
writing the JSON lines). The reference, measured in the same run, is the
in-memory check rate of ``check_text`` on the same texts: nothing read,
nothing written.

Target: at least 5,000 requests per second on one core, end to end past the
start-up: each file after the first, ``(files - 1) / (folder - one file)``.
The start-up has a target of its own (``bench startup``, at most 0.3 s); with
it counted, 1,000 files at 5,000 a second would have to take 0.2 s in all,
less than the start-up that target allows.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from hanoinet.bench.check import corpus
from hanoinet.errors import NotARequest
from hanoinet.law import check_text, default_context

TARGET_PER_SECOND = 5000
AS_OF = date(2026, 11, 24)
NOT_REQUESTS = ("{not json", "[]", '{"kind": "wiretap"}')


def texts(files: int) -> list[str]:
    """``files`` request texts, each different; one in a hundred is not a request."""
    bases: list[dict[str, Any]] = [json.loads(text) for text in corpus()]
    folder = resources.files("hanoinet.demo_data")
    bases.extend(
        json.loads(entry.read_text("utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    )
    made: list[str] = []
    for i in range(files):
        if i % 100 == 99:
            made.append(NOT_REQUESTS[i // 100 % len(NOT_REQUESTS)])
            continue
        document = dict(bases[i % len(bases)])
        facts = document.get("facts_summary") or "Facts to be given"
        document["facts_summary"] = f"{facts} (file {i})"
        made.append(json.dumps(document, ensure_ascii=False, indent=2))
    return made


def _check_command(target: str) -> list[str]:
    """``hanoinet check TARGET --json`` as a user runs it, a new interpreter."""
    return [
        sys.executable,
        "-m",
        "hanoinet",
        "check",
        target,
        "--json",
        "--as-of",
        AS_OF.isoformat(),
    ]


def _rate(files: int, seconds: float) -> float:
    return round(files / seconds, 1) if seconds else float("inf")


def run(files: int = 1000, runs: int = 3) -> dict[str, Any]:
    """Best of ``runs`` for each measure."""
    from hanoinet.cli.request import check_files

    written = texts(files)
    ctx = default_context(AS_OF)
    with tempfile.TemporaryDirectory(prefix="hanoinet-bench-") as folder:
        paths = [Path(folder) / f"request-{i:05d}.json" for i in range(files)]
        for path, text in zip(paths, written, strict=True):
            path.write_text(text, encoding="utf-8")
        command = _check_command(folder)
        subprocess_seconds: list[float] = []
        lines = 0
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, check=False)
            subprocess_seconds.append(time.perf_counter() - started)
            lines = done.stdout.count(b"\n")
            if done.returncode not in (0, 1, 2) or lines != files + 1:
                raise RuntimeError(
                    f"hanoinet check exited {done.returncode} with {lines} lines: "
                    f"{done.stderr.decode(errors='replace')[-500:]}"
                )
        one = _check_command(str(paths[0]))
        startup: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(one, check=False, capture_output=True)
            startup.append(time.perf_counter() - started)
        in_process: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            check_files(paths, ctx, True, io.StringIO())
            in_process.append(time.perf_counter() - started)
    in_memory: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        for text in written:
            with contextlib.suppress(NotARequest):
                check_text(text, ctx)
        in_memory.append(time.perf_counter() - started)
    measures = [
        ("hanoinet check DIR --json, a subprocess", min(subprocess_seconds)),
        ("the same in this process (read, check, write JSON lines)", min(in_process)),
        ("reference: check_text on the same texts in memory", min(in_memory)),
    ]
    results = [
        {
            "name": name,
            "files": files,
            "seconds": round(s, 4),
            "requests_per_second": _rate(files, s),
        }
        for name, s in measures
    ]
    beyond_startup = max(min(subprocess_seconds) - min(startup), 1e-9)
    past_startup = _rate(files - 1, beyond_startup) if files > 1 else 0.0
    return {
        "benchmark": "check-files",
        "files": files,
        "runs": runs,
        "not_requests": sum(1 for i in range(files) if i % 100 == 99),
        "results": results,
        "startup_seconds": round(min(startup), 4),
        "beyond_startup_requests_per_second": past_startup,
        "target_requests_per_second": TARGET_PER_SECOND,
        "meets_target": past_startup >= TARGET_PER_SECOND,
    }
