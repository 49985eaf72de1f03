"""``hanoinet bench``: speed and memory beside a same-run reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hanoinet.bench import cases as cases_bench
from hanoinet.bench import check as check_bench
from hanoinet.bench import treaty as treaty_bench
from hanoinet.bench.common import environment
from hanoinet.cli.output import EXIT_FINDING, console, err_console, fail, print_json, user_errors

app = typer.Typer(
    help="Benchmarks, each printed beside a reference measured in the same run.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _print(result: dict[str, Any], header: str) -> None:
    console.print(header, markup=False)
    for r in result["results"]:
        extra = ""
        if "requests_per_second" in r:
            extra = f"  {r['requests_per_second']:>10,.0f} requests/s"
        elif "per_second" in r:
            extra = f"  {r['per_second']:>8,.0f}/s"
        if "p99_ms" in r:
            extra += f"  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
        console.print(
            f"  {r['name']:<52} {r['per_call_ms']:>9.3f} ms/call{extra}  "
            f"peak {r['peak_memory_kib']:>7.1f} KiB",
            markup=False,
        )
    for note in result.get("notes", []):
        console.print(f"  note: {note}", markup=False)


@app.command("treaty")
def treaty_command(
    calls: Annotated[int, typer.Option("--calls", help="Status computations to time.")] = 200,
    json: Json = False,
) -> None:
    """Entry-into-force engine on a synthetic record of every ISO State."""
    if calls < 1:
        fail("--calls must be at least 1")
    result = treaty_bench.run(calls)
    result["environment"] = environment()
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


@app.command("check")
def check_command(
    rounds: Annotated[int, typer.Option("--rounds", help="Passes over the document mix.")] = 300,
    json: Json = False,
) -> None:
    """Requests checked per second (target 5,000 on one core) beside parse + validate alone."""
    if rounds < 1:
        fail("--rounds must be at least 1")
    result = check_bench.run(rounds)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    _print(result, f"bench check: {result['documents']} documents x {rounds} rounds, one core")
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(f"  {verdict} the target of {result['target_requests_per_second']:,} requests/s")


@app.command("check-files")
def check_files_command(
    files: Annotated[int, typer.Option("--files", help="Request files to write and check.")] = 1000,
    runs: Annotated[int, typer.Option("--runs", help="Timed runs of each measure; best of N.")] = 3,
    json: Json = False,
) -> None:
    """`hanoinet check DIR --json` over 1,000 files, as a subprocess and in process (target 5,000 requests/s), beside the in-memory check rate."""
    from hanoinet.bench import check_files as files_bench

    if files < 1 or runs < 1:
        fail("--files and --runs must be at least 1")
    result = files_bench.run(files, runs)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    console.print(
        f"bench check-files: {files:,} request files ({result['not_requests']} not requests), "
        f"best of {runs}, one core",
        markup=False,
    )
    for r in result["results"]:
        console.print(
            f"  {r['name']:<58} {r['seconds']:>8.3f} s  {r['requests_per_second']:>10,.0f} requests/s",
            markup=False,
        )
    console.print(
        f"  `hanoinet check FILE --json` on one file (start-up, imports, first check): "
        f"{result['startup_seconds']:.3f} s; each further file, end to end: "
        f"{result['beyond_startup_requests_per_second']:,.0f} requests/s",
        markup=False,
    )
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(
        f"  {verdict} the target of {result['target_requests_per_second']:,} requests/s end to "
        "end past the start-up (whose own target is bench startup's)",
        markup=False,
    )


@app.command("startup")
def startup_command(
    runs: Annotated[int, typer.Option("--runs", help="Runs of each command.")] = 5,
    json: Json = False,
) -> None:
    """Start-up of the everyday commands (target 0.3 s, 60 MB) beside `python -c pass`."""
    from hanoinet.bench import startup as startup_bench

    if runs < 1:
        fail("--runs must be at least 1")
    result = startup_bench.run(runs)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    console.print(f"bench startup: best of {runs} runs, each in a new process", markup=False)
    for r in [result["reference"], *result["results"]]:
        verdict = ""
        if "meets_target" in r:
            verdict = "  met" if r["meets_target"] else "  NOT MET"
        console.print(
            f"  {r['command']:<32} {r['best_seconds']:>6.3f} s  (CPU {r['best_cpu_seconds']:.3f} s)"
            f"  {r['max_rss_mib']:>5.1f} MB{verdict}",
            markup=False,
        )
    console.print(
        f"  target: at most {result['target_seconds']} s and under {result['target_mib']:.0f} MB"
        " per command (the reference is the interpreter alone)",
        markup=False,
    )


@app.command("cases")
def cases_command(
    cases: Annotated[
        int, typer.Option("--cases", help="Cases to run through the lifecycle.")
    ] = 100,
    postgres: Annotated[
        str, typer.Option("--postgres", help="PostgreSQL URL to measure too; '' to skip.")
    ] = cases_bench.DEFAULT_POSTGRES,
    json: Json = False,
) -> None:
    """Case commands per second and p99 latency on SQLite and PostgreSQL, beside bare inserts."""
    if cases < 2:
        fail("--cases must be at least 2")
    result = cases_bench.run(cases, postgres or None)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    _print(
        result,
        f"bench cases: {cases} cases x {result['commands_per_case']} commands, "
        "one transaction each",
    )


@app.command("web")
def web_command(
    cases: Annotated[
        int, typer.Option("--cases", help="Cases to seed in each database before timing.")
    ] = 100_000,
    calls: Annotated[int, typer.Option("--calls", help="Requests to time per measure.")] = 200,
    postgres: Annotated[
        str, typer.Option("--postgres", help="PostgreSQL URL to measure too; '' to skip.")
    ] = cases_bench.DEFAULT_POSTGRES,
    json: Json = False,
) -> None:
    """The 24/7 desk page and the API list: p50/p99 with many cases (target p99 < 100 ms), beside the bare SELECT."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from hanoinet.bench import web as web_bench

    if cases < 1:
        fail("--cases must be at least 1")
    if calls < 1:
        fail("--calls must be at least 1")
    if postgres:
        try:
            backend = make_url(postgres).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend != "postgresql":
            fail(
                f"--postgres {postgres!r} is not a PostgreSQL URL "
                "(postgresql+psycopg://user@host:port/database); '' skips PostgreSQL"
            )

    def progress(line: str) -> None:
        err_console.print(line, markup=False)

    result = web_bench.run(cases, postgres or None, calls, progress=None if json else progress)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    _print_web(result)


def _print_web(result: dict[str, Any]) -> None:
    _print(
        result,
        f"bench web: {result['cases']:,} cases, {result['calls']} timed calls each, the node's "
        "app in process (no network)",
    )
    for seeded in result["seeding"]:
        console.print(
            f"  seeded {seeded['requests_in_database']:,} requests in {seeded['database']} "
            f"in {seeded['seconds']:,.1f} s (not timed)",
            markup=False,
        )
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(
        f"  {verdict} the target: p99 < {result['target_p99_ms']} ms for the desk and the list"
    )


@app.command("door")
def door_command(
    posts: Annotated[
        int, typer.Option("--posts", help="Posts announcing 100 MB, per route that takes a body.")
    ] = 20,
    streams: Annotated[
        int, typer.Option("--streams", help="Streams that would go on to 100 MB, per route.")
    ] = 2,
    calls: Annotated[int, typer.Option("--calls", help="Health checks for the reference.")] = 200,
    json: Json = False,
) -> None:
    """A real node under unauthenticated 100 MB posts on every route that takes a body: each refused unread (413), memory growth under 50 MiB, health under 100 ms."""
    from hanoinet.bench import door

    if posts < 1 or streams < 0 or calls < 1:
        fail("--posts and --calls must be at least 1, --streams at least 0")

    def progress(line: str) -> None:
        err_console.print(line, markup=False)

    result = door.run(posts, streams, calls, progress=None if json else progress)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    health = result["health"]
    console.print(
        f"bench door: {result['routes']} routes that take a body, {posts} posts announcing "
        f"100 MB and {streams} streams each, a real node on loopback",
        markup=False,
    )
    for name, h in (
        ("reference: the health route alone", health["reference"]),
        ("health during the attack", health["under_attack"]),
    ):
        console.print(
            f"  {name:<40} p50 {h['p50_ms']:>7.2f} ms  p99 {h['p99_ms']:>7.2f} ms  "
            f"max {h['max_ms']:>7.2f} ms  ({h['calls']} calls)",
            markup=False,
        )
    memory = result["rss_mib"]
    console.print(
        f"  refused 413: {result['refused_413']}, reset before the answer: "
        f"{result['reset_before_answer']}, otherwise: {len(result['answered_otherwise'])}; "
        f"RSS {memory['baseline']} -> {memory['peak']} MiB (+{memory['growth']})",
        markup=False,
    )
    for line in result["answered_otherwise"]:
        console.print(f"  answered otherwise: {line}", markup=False)
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(
        f"  {verdict} the target: every body refused, health max < "
        f"{result['target']['health_max_ms']:.0f} ms, RSS growth < "
        f"{result['target']['rss_growth_mib']:.0f} MiB"
    )


@app.command("stats")
def stats_command(
    events: Annotated[
        int, typer.Option("--events", help="Events of synthetic history in each database.")
    ] = 1_000_000,
    calls: Annotated[int, typer.Option("--calls", help="Timed runs of each measure.")] = 3,
    postgres: Annotated[
        str, typer.Option("--postgres", help="PostgreSQL URL to measure too; '' to skip.")
    ] = cases_bench.DEFAULT_POSTGRES,
    json: Json = False,
) -> None:
    """hanoinet stats over a million events (target < 2 s), beside a bare aggregate query."""
    from hanoinet.bench import stats as stats_bench

    if events < 1:
        fail("--events must be at least 1")
    if calls < 1:
        fail("--calls must be at least 1")

    def progress(line: str) -> None:
        err_console.print(line, markup=False)

    result = stats_bench.run(events, postgres or None, calls, progress=None if json else progress)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    console.print(
        f"bench stats: {events:,} events of synthetic history, {calls} timed runs each",
        markup=False,
    )
    for r in result["results"]:
        console.print(
            f"  {r['name']:<52} {r['per_call_ms'] / 1000:>7.3f} s/call  "
            f"peak {r['peak_memory_kib'] / 1024:>7.1f} MiB",
            markup=False,
        )
    for seeded in result["seeding"]:
        console.print(
            f"  wrote {seeded['events']:,} events ({seeded['requests']:,} requests) in "
            f"{seeded['database']} in {seeded['seconds']:,.1f} s (not timed)",
            markup=False,
        )
    for note in result["notes"]:
        console.print(f"  note: {note}", markup=False)
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(f"  {verdict} the target: under {result['target_seconds']:.0f} s per run")


@app.command("exchange")
def exchange_command(
    messages: Annotated[
        int, typer.Option("--messages", help="Messages for the throughput run.")
    ] = 1000,
    rate: Annotated[
        float, typer.Option("--rate", help="Messages per second for the latency run.")
    ] = 20.0,
    seconds: Annotated[float, typer.Option("--seconds", help="Length of the latency run.")] = 5.0,
    receivers: Annotated[
        int,
        typer.Option(
            "--receivers", help="Server processes of the receiving node (`serve --workers`)."
        ),
    ] = 2,
    senders: Annotated[
        int,
        typer.Option("--senders", help="Delivery processes of the sending node (`worker`)."),
    ] = 2,
    json: Json = False,
) -> None:
    """Two nodes over loopback HTTP: throughput (target 1,000/s) and send-to-queue p99 (target < 1 s)."""
    from hanoinet.bench import exchange as exchange_bench

    if messages < 1 or rate <= 0 or seconds <= 0:
        fail("--messages, --rate and --seconds must be positive")
    if not (1 <= receivers <= 16 and 1 <= senders <= 16):
        fail(f"--receivers and --senders must be between 1 and 16, not {receivers} and {senders}")
    result = exchange_bench.run(messages, rate, seconds, receivers, senders)
    if json:
        print_json(result)
        return
    lat = result["latency"]
    console.print(
        f"bench exchange: {result['delivered']}/{messages} messages, two nodes, HTTP on loopback"
        f" (sending node: {senders} delivery process{'es' if senders > 1 else ''}, "
        f"receiving node: {receivers} server process{'es' if receivers > 1 else ''})"
    )
    console.print(
        f"  hanoinet: {result['throughput_per_second']:,.0f} messages/s signed, encrypted, committed, receipted"
        f" (target {result['target_per_second']:,})"
    )
    console.print(f"  floor, crypto alone:  {result['floor_crypto_per_second']:,.0f} messages/s")
    console.print(
        f"  floor, commits alone: {result['floor_commits_per_second']:,.0f} messages/s "
        f"({exchange_bench.COMMITS_PER_BATCH} transactions per batch of {exchange_bench.BATCH})"
    )
    console.print(
        f"  latency at {lat['rate_per_second']:g}/s, send to peer's queue: p50 {lat['p50_ms']} ms, "
        f"p99 {lat['p99_ms']} ms (target < {result['target_p99_ms']:.0f} ms)"
    )


@app.command("evidence")
def evidence_command(
    size: Annotated[
        str,
        typer.Option(
            "--size", help="Size of the file to pack: bytes, or with K, M or G (binary units)."
        ),
    ] = "100M",
    repeat: Annotated[
        int, typer.Option("--repeat", help="Rounds, ours and the reference alternating; best of N.")
    ] = 1,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Folder for the temporary files (about 3x --size); default: a temp dir."
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Evidence packages: pack + encrypt and decrypt + verify beside sha256sum and age, peak memory (target <= 64 MiB)."""
    from hanoinet.bench import evidence as evidence_bench

    def progress(line: str) -> None:
        err_console.print(line, markup=False)

    with user_errors():
        try:
            result = evidence_bench.run(
                size, repeat=repeat, directory=folder, progress=None if json else progress
            )
        except evidence_bench.BenchFailed as exc:
            fail(str(exc), code=EXIT_FINDING)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    _print_evidence(result)


def _print_evidence(result: dict[str, Any]) -> None:
    console.print(
        f"bench evidence: one file of {result['size']} ({result['bytes']:,} bytes, random), "
        f"best of {result['repeat']}, beside age {result['tools']['age_version']} and sha256sum",
        markup=False,
    )
    for step in result["steps"]:
        ours, ref = step["ours"], step["reference"]
        verdict = "meets" if step["meets_target"] else "MISSES"
        console.print(
            f"  {step['name']:<17} hanoinet {ours['seconds']:>8.3f} s {ours['mb_per_second']:>7,.0f} MB/s"
            f"   reference {ref['seconds']:>8.3f} s {ref['mb_per_second']:>7,.0f} MB/s"
            f"   ratio {step['ratio']:.2f}x  {verdict} (<= {step['target_ratio']:.1f}x)",
            markup=False,
        )
        console.print(f"  {'':<17}   ({ours['name']} / {ref['name']})", markup=False)
    case = result["case_validation"]
    console.print(
        f"  CASE/UCO validation of custody.jsonld: {case['seconds']:.2f} s once "
        f"(fixed cost, not in decrypt + verify), peak {case['peak_rss_mib']:.1f} MiB",
        markup=False,
    )
    memory = result["memory"]
    verdict = "meets" if memory["meets_target"] else "MISSES"
    console.print(
        f"  peak RSS: pack {memory['pack']['peak_rss_mib']:.1f} MiB, verify "
        f"{memory['verify']['peak_rss_mib']:.1f} MiB (baseline after imports "
        f"{memory['pack']['baseline_rss_mib']:.1f} MiB); {verdict} the target <= "
        f"{memory['target_mib']} MiB",
        markup=False,
    )
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(f"  {verdict} the targets overall", markup=False)
    for note in result["notes"]:
        console.print(f"  note: {note}", markup=False)


@app.command("documents")
def documents_command(
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, help="Documents per timing (and per process).")
    ] = 40,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="Processes for the throughput (default: cores)."),
    ] = None,
    json: Json = False,
) -> None:
    """Formal documents: render + sign of a two-page request per second beside a bare Typst compile, on one core and all; peak memory (target >= 20/s)."""
    from hanoinet.bench import documents as documents_bench

    def progress(line: str) -> None:
        err_console.print(line, markup=False)

    result = documents_bench.run(rounds, processes, progress=None if json else progress)
    result["environment"] = environment()
    if json:
        print_json(result)
        return
    single = result["single"]
    console.print(
        f"bench documents: the demo MLA request, {result['pages']} pages in English "
        f"({result['bytes']:,} bytes signed), {result['rounds']} documents per timing",
        markup=False,
    )
    for key in ("signed", "unsigned", "reference", "verify"):
        t = single[key]
        console.print(
            f"  {t['name']:<46} {t['per_call_ms']:>8.1f} ms  {t['per_second']:>6.1f}/s",
            markup=False,
        )
    ratio = single["signed"]["per_call_ms"] / single["reference"]["per_call_ms"]
    console.print(f"  signed document / bare Typst compile: {ratio:.2f}x the time", markup=False)
    langs = "  ".join(f"{k} {v['per_second']:.1f}/s" for k, v in result["languages"].items())
    console.print(f"  by language, render + sign: {langs}", markup=False)
    par = result["parallel"]
    verdict = "meets" if result["meets_target"] else "MISSES"
    console.print(
        f"  {par['processes']} processes: {par['documents']} signed documents in "
        f"{par['seconds']:.2f} s = {par['per_second']:.1f}/s; {verdict} the target >= "
        f"{result['target_per_second']}/s",
        markup=False,
    )
    memory = result["memory"]
    console.print(
        f"  peak RSS of one process: {memory['peak_rss_mib']:.1f} MiB (after imports "
        f"{memory['baseline_rss_mib']:.1f} MiB)",
        markup=False,
    )
