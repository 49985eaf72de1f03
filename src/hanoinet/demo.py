"""``make demo``: a tour of what hanoinet does today, on real commands.

Each step runs a real ``hanoinet`` command and prints its output. The case
steps use a fresh data folder under the system's temporary directory, so the
demo leaves nothing behind in the project. The demo States (Aurelia XA,
Borealis XB) are illustrative. Later work turns this into a federation of
nodes on loopback with the web desk.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from importlib import resources

EXAMPLE = str(resources.files("hanoinet.bench").joinpath("example-request.json"))

TOUR: list[tuple[str, list[str]]] = [
    ("Who has signed, and is the Convention in force?", ["treaty", "status"]),
    ("When does it enter into force for one State?", ["treaty", "state", "Viet Nam"]),
    (
        "A reported but unconfirmed ratification is shown, marked, and not counted:",
        ["treaty", "state", "Azerbaijan"],
    ),
    (
        "What does article 42 say (unconfirmed paragraph numbers are marked)?",
        ["convention", "article", "42"],
    ),
    ("The same article's title in Arabic:", ["convention", "article", "7", "--lang", "ar"]),
    ("The cooperation forms a request can take:", ["request", "kinds"]),
    (
        "Check a preservation request from Aurelia to Borealis (demo States) before it leaves:",
        ["check", EXAMPLE],
    ),
    (
        "Open a case with it (a draft):",
        ["case", "new", "--from", EXAMPLE, "--title", "Hospital mail server intrusion (demo)"],
    ),
    ("Check and send it:", ["case", "act", "C-000001", "check"]),
    ("", ["case", "act", "C-000001", "send"]),
    (
        "Borealis acknowledges (recorded from its message):",
        ["case", "act", "C-000001", "acknowledge", "--from-peer"],
    ),
    (
        "A refusal for fiscal reasons is not allowed by the Convention (40(23)):",
        [
            "case",
            "act",
            "C-000001",
            "refuse",
            "--from-peer",
            "--ground",
            "fiscal_matters",
            "--reason",
            "tax case",
        ],
    ),
    (
        "Borealis preserves the data:",
        ["case", "act", "C-000001", "record_preserved", "--from-peer"],
    ),
    (
        "The case now: clocks count down the 60 days of preservation (42):",
        ["case", "show", "C-000001"],
    ),
    ("Its timeline, each step with its article:", ["case", "timeline", "C-000001"]),
    ("Every command and every read is in a hash-chained audit log:", ["audit", "verify"]),
]
EXPECTED_TO_FAIL = {"refuse"}
"""Steps that show a refusal on purpose (exit 2)."""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hanoinet-demo-") as folder:
        env = dict(os.environ, HANOINET_DATA_DIR=folder, HANOINET_USER="demo-officer")
        env.pop("HANOINET_DATABASE_URL", None)
        for title, args in TOUR:
            if title:
                print(f"\n== {title}", flush=True)
            print(f"$ hanoinet {shlex.join(args)}", flush=True)
            result = subprocess.run([sys.executable, "-m", "hanoinet", *args], check=False, env=env)
            expected = 2 if EXPECTED_TO_FAIL & set(args) else 0
            if result.returncode != expected:
                print(f"(unexpected exit {result.returncode})", file=sys.stderr)
                return 1
    print("\nThat was the tour. `hanoinet --help` lists every command; README.md shows each.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
