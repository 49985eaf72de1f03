"""``hanoinet bench``: speed and memory beside a same-run reference."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Annotated

import typer

from hanoinet.bench import treaty as treaty_bench
from hanoinet.cli.output import console, fail, print_json

app = typer.Typer(
    help="Benchmarks, each printed beside a reference measured in the same run.",
    no_args_is_help=True,
)


def _machine() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.platform(terse=True),
        "date": datetime.now(UTC).date().isoformat(),
    }


@app.command("treaty")
def treaty_command(
    calls: Annotated[int, typer.Option("--calls", help="Status computations to time.")] = 200,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Entry-into-force engine on a synthetic record of every ISO State."""
    if calls < 1:
        fail("--calls must be at least 1")
    result = treaty_bench.run(calls)
    result["environment"] = _machine()
    if json:
        print_json(result)
        return
    console.print(f"bench treaty: {result['rows']} rows, {calls} calls")
    results = result["results"]
    assert isinstance(results, list)
    for r in results:
        console.print(
            f"  {r['name']:<45} {r['per_call_ms']:>9.3f} ms/call  "
            f"peak {r['peak_memory_kib']:>8.1f} KiB"
        )
    console.print(f"  ratio (hanoinet / reference): {result['ratio']}x")
