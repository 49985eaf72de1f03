"""``bench door``: a node under unauthenticated oversized posts (issue 20's targets).

A real ``hanoinet serve`` (the demo's Aurelia node, SQLite) on loopback gets, on every route
that takes a body (from the app's own route table, so a new route is covered), posts
announcing 100 MB and chunked streams that would go on to 100 MB, with a health check after
each. Targets: every one refused with 413 before its body is read, the server's resident
memory growing by less than 50 MiB, and ``GET /api/v1/health`` answering in under 100 ms
meanwhile. The reference, measured in the same run on the same server: the health route with
nothing else going on. Bounded loops, loopback only. ``tests/security/test_limits.py`` runs
the same attack and asserts what does not depend on the clock.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

ANNOUNCED = 100 * 1024 * 1024
"""What each post announces, or a stream would send if never stopped: 100 MB."""
PIECE = 64 * 1024
TARGET_HEALTH_MS = 100.0
TARGET_GROWTH_MIB = 50.0
SAMPLE = {"ident": "R-000001", "action": "acknowledge", "package": "EV-xa-node-000001", "n": "0"}
"""Values for the routes' path parameters: any will do, the body is refused before routing
would look at them."""


def body_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of a node that takes a body, path parameters filled."""
    from fastapi.routing import iter_route_contexts

    from hanoinet.web.app import create_app

    app = create_app(cast(Any, SimpleNamespace(node_id="routes-only")))
    found = []
    for context in iter_route_contexts(app.routes):  # sees into the included routers
        for method in sorted((context.methods or set()) & {"POST", "PUT", "PATCH"}):
            path = re.sub(
                r"{(\w+)(?::\w+)?}", lambda m: SAMPLE.get(m.group(1), "1"), context.path or ""
            )
            found.append((method, path))
    return found


def rss(pid: int) -> int:
    """A process's resident memory, in bytes (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    if found is None:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return int(found.group(1)) * 1024


def _head(method: str, path: str, port: int, framing: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def _status(sock: socket.socket) -> int:
    """The status of the answer on ``sock`` (the server closes after it)."""
    data = b""
    while b"\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    found = re.match(rb"HTTP/1\.1 (\d{3}) ", data)
    if found is None:
        raise ConnectionResetError(f"no HTTP status in {data[:200]!r}")
    return int(found.group(1))


def announced(method: str, path: str, port: int) -> int:
    """Announce 100 MB and send none of it: only a server that does not wait answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_head(method, path, port, f"Content-Length: {ANNOUNCED}"))
        return _status(sock)


def streamed(method: str, path: str, port: int) -> tuple[int | None, int]:
    """Stream chunks until the server answers or closes (at most 100 MB); the status (None:
    reset before it could be read) and how many bytes were sent."""
    sent = 0
    piece = b"%x\r\n" % PIECE + b"[" * PIECE + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_head(method, path, port, "Transfer-Encoding: chunked"))
        # Closed by the server: its answer may still be there to read.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while sent < ANNOUNCED:
                readable, _w, _x = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(piece)
                sent += PIECE
        try:
            return _status(sock), sent
        except ConnectionResetError:
            return None, sent


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """GET ``path``: the status and the headers (lower-case names)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def health(port: int, latencies: list[float]) -> int:
    """GET the health route, its latency appended to ``latencies``."""
    started = time.perf_counter()
    status, _ = get(port, "/api/v1/health")
    latencies.append(time.perf_counter() - started)
    return status


@dataclass
class Attack:
    """What the attack saw: every refusal's status, the health route's latencies and
    statuses, the server's memory before and at its peak, and the bytes each stream sent."""

    statuses: list[tuple[str, str, str, int | None]] = field(default_factory=list)
    health: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    streamed_bytes: list[tuple[str, str, int]] = field(default_factory=list)
    baseline_rss: int = 0
    peak_rss: int = 0


def attack(
    port: int,
    pid: int,
    *,
    posts: int,
    streams: int,
    progress: Callable[[str], None] | None = None,
) -> Attack:
    """Every body route: ``posts`` announced 100 MB posts and ``streams`` streams, a health
    check after each; every route's refusal made once first, so that the baseline memory is
    that of a server that has answered each."""
    routes = body_routes()
    for method, path in routes:
        announced(method, path, port)
    seen = Attack(baseline_rss=rss(pid))
    seen.peak_rss = seen.baseline_rss
    for k, (method, path) in enumerate(routes, 1):
        for _ in range(posts):
            seen.statuses.append(("announced", method, path, announced(method, path, port)))
            seen.health.append(health(port, seen.latencies))
        for _ in range(streams):
            status, sent = streamed(method, path, port)
            seen.statuses.append(("streamed", method, path, status))
            seen.streamed_bytes.append((method, path, sent))
            seen.health.append(health(port, seen.latencies))
        seen.peak_rss = max(seen.peak_rss, rss(pid))
        if progress is not None:
            progress(f"  {k}/{len(routes)} {method} {path}")
    return seen


@contextmanager
def demo_node(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The demo's Aurelia node set up in ``folder`` and served by ``hanoinet serve`` in a
    process of its own; yields the process and its port, and stops it after."""
    from hanoinet import demo

    cluster = demo.Demo(folder)
    with contextlib.redirect_stdout(io.StringIO()):  # the demo's narration; --json is stdout
        cluster.setup(("xa",), users=False)
    port = cluster.ports["xa"]
    with (folder / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "hanoinet", "serve"],
            env=cluster.env("xa"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cluster.wait(cluster._health_check("xa"), "the node is up", timeout=90)
        yield server, port
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


def _ms(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def nearest(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {
        "calls": len(ordered),
        "p50_ms": round(nearest(50) * 1000, 2),
        "p99_ms": round(nearest(99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def run(
    posts: int = 20,
    streams: int = 2,
    calls: int = 200,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The benchmark: the reference (``calls`` health checks, nothing else going on), then the
    attack; the shape is docs/cli.md's ``bench door``."""
    reference: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="hanoinet-bench-door-") as folder,
        demo_node(Path(folder)) as (server, port),
    ):
        if progress is not None:
            progress("the node is up; the reference: the health route alone")
        for _ in range(calls):
            health(port, reference)
        if progress is not None:
            progress("the attack, route by route")
        seen = attack(port, server.pid, posts=posts, streams=streams, progress=progress)
    refused = sum(1 for *_, status in seen.statuses if status == 413)
    reset = sum(1 for *_, status in seen.statuses if status is None)
    other = sorted({f"{m} {p}: {s}" for _k, m, p, s in seen.statuses if s not in (413, None)})
    under = _ms(seen.latencies)
    growth_mib = (seen.peak_rss - seen.baseline_rss) / (1 << 20)
    return {
        "routes": len(body_routes()),
        "posts_per_route": posts,
        "streams_per_route": streams,
        "announced_bytes": ANNOUNCED,
        "refused_413": refused,
        "reset_before_answer": reset,
        "answered_otherwise": other,
        "health": {"reference": _ms(reference), "under_attack": under},
        "health_failures": sum(1 for s in seen.health if s != 200),
        "rss_mib": {
            "baseline": round(seen.baseline_rss / (1 << 20), 1),
            "peak": round(seen.peak_rss / (1 << 20), 1),
            "growth": round(growth_mib, 1),
        },
        "target": {"health_max_ms": TARGET_HEALTH_MS, "rss_growth_mib": TARGET_GROWTH_MIB},
        "meets_target": not other
        and all(s == 200 for s in seen.health)
        and under["max_ms"] < TARGET_HEALTH_MS
        and growth_mib < TARGET_GROWTH_MIB,
    }
