"""The entry point holds the garbage collector during the imports of a command, then lets it run
with what the imports built set aside; importing the command line elsewhere changes nothing."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

from hanoinet.cli import main as cli

PROBE = textwrap.dedent(
    """
    import gc, sys
    from hanoinet.cli import entry, main as cli
    real = cli.load
    def load(name):
        paused = not gc.isenabled()
        command = real(name)
        print(f"paused={paused} running={gc.isenabled()} frozen={gc.get_freeze_count() > 0}")
        return command
    cli.load = load
    sys.argv = ["hanoinet", "convention", "article", "42"]
    entry.main()
    """
)


def test_collection_waits_for_the_commands_imports_then_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "paused=True running=True frozen=True"
    assert "Article 42" in done.stdout


def test_loading_a_command_elsewhere_leaves_the_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    cli.load("convention")
    assert gc.isenabled() and gc.get_freeze_count() == frozen
