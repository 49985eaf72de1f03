"""The ``hanoinet`` command's entry point (``hanoinet`` and ``python -m hanoinet``).

A command's start-up is mostly imports, which allocate a great deal and free almost nothing;
Python's cyclic garbage collector runs again and again over that growing heap for nothing
(25-50 ms of the 0.4 s ``hanoinet check`` takes on one file). So collection waits until the
command's module is imported (``resume_gc``, called by ``cli.main.load``); what the imports
built is then frozen out of later collections, as a long-running server does with
``gc.freeze``, and the collector runs as usual for the command's own work. Importing
``hanoinet.cli.main`` elsewhere (the tests, the demo) changes nothing.
"""

from __future__ import annotations

import gc

_paused = False


def main() -> None:
    global _paused
    gc.disable()
    _paused = True
    from hanoinet.cli.main import app

    app(prog_name="hanoinet")


def resume_gc() -> None:
    """Collect again, the heap the imports built set aside; only after ``main`` paused it."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
