"""``make demo``: a short tour of what hanoinet answers today.

Each step runs a real ``hanoinet`` command and prints its output. Later work
turns this into a federation of nodes on loopback with the web desk.
"""

from __future__ import annotations

import shlex
import subprocess
import sys

TOUR: list[tuple[str, list[str]]] = [
    ("Who has signed, and is the Convention in force?", ["treaty", "status"]),
    ("When does it enter into force for one State?", ["treaty", "state", "Viet Nam"]),
    (
        "A reported but unconfirmed ratification is shown, marked, and not counted:",
        ["treaty", "state", "Azerbaijan"],
    ),
    (
        "What does article 42 say (with unconfirmed paragraph numbers marked)?",
        ["convention", "article", "42"],
    ),
    ("The same article's title in Arabic:", ["convention", "article", "7", "--lang", "ar"]),
    ("Where does the Convention speak of extradition?", ["convention", "search", "extradition"]),
    ("And as JSON for other programs:", ["treaty", "status", "--as-of", "2026-11-24", "--json"]),
]


def main() -> int:
    for title, args in TOUR:
        print(f"\n== {title}\n$ hanoinet {shlex.join(args)}", flush=True)
        result = subprocess.run([sys.executable, "-m", "hanoinet", *args], check=False)
        if result.returncode != 0:
            print(f"(exit {result.returncode})", file=sys.stderr)
            return result.returncode
    print("\nThat was the tour. `hanoinet --help` lists every command.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
