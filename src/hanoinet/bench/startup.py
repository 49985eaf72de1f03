"""Benchmark: how soon the everyday commands answer, and how much memory they take.

Each command runs in a fresh Python process, as a person at a shell runs it; the
best wall time of several runs (warm disk cache) and the largest peak memory
(maximum resident set, read from ``os.wait4``) are kept. The reference is
``python -c pass`` measured the same way in the same run: the interpreter's
own start-up, which no command can go below. Target: 0.3 s and 60 MB each.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

TARGET_SECONDS = 0.3
TARGET_MIB = 60.0

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("--version",),
    ("treaty", "status"),
    ("convention", "article", "42"),
    ("check", "FILE"),
)
"""The commands people type most; ``FILE`` stands for a complete request document."""


MEASURE = """
import os, sys, time
runs, argv = int(sys.argv[1]), sys.argv[2:]
null = os.open(os.devnull, os.O_WRONLY)
quiet = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
for _ in range(runs):
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    print(time.perf_counter() - started, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Runs a command and reports each run's wall time, CPU time, peak memory (KiB), exit code.

It runs in a bare interpreter of its own, because a child's peak memory as the kernel
reports it includes the memory of the process that started it, up to the moment the
child replaces itself with the command: measured from this process, which has imported
the benchmarks, every command would weigh as much as they do.
"""


def measure(argv: list[str], runs: int) -> dict[str, float]:
    """Best wall and CPU time (s), largest peak memory (MiB) of ``runs`` runs of ``argv``.

    The CPU time (user + system) is what the wall time would be on an idle machine: on a
    machine shared with other work, the wall time also counts the waiting for a core.
    """
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", MEASURE, str(runs), *argv],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split() for line in out.splitlines()]
    return {
        "best_seconds": round(min(float(r[0]) for r in rows), 4),
        "best_cpu_seconds": round(min(float(r[1]) for r in rows), 4),
        "max_rss_mib": round(max(int(r[2]) for r in rows) / 1024, 1),
    }


def run(runs: int = 5) -> dict[str, Any]:
    """Measure the reference and every command, ``runs`` times each."""
    example = resources.files("hanoinet.demo_data").joinpath("preservation-xa-xb.json")
    with tempfile.TemporaryDirectory() as folder:
        request = Path(folder) / "request.json"
        request.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
        reference = measure([sys.executable, "-c", "pass"], runs)
        results = []
        for command in COMMANDS:
            args = [str(request) if a == "FILE" else a for a in command]
            figures = measure([sys.executable, "-m", "hanoinet", *args], runs)
            met = figures["best_seconds"] <= TARGET_SECONDS and figures["max_rss_mib"] < TARGET_MIB
            results.append(
                {"command": "hanoinet " + " ".join(command), **figures, "meets_target": met}
            )
    return {
        "benchmark": "startup",
        "runs": runs,
        "target_seconds": TARGET_SECONDS,
        "target_mib": TARGET_MIB,
        "reference": {"command": "python -c pass", **reference},
        "results": results,
        "meets_target": all(r["meets_target"] for r in results),
    }
