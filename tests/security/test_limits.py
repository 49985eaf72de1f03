"""Bodies a node never reads (issue 20): a real ``hanoinet serve`` on loopback gets, on every
route that takes a body (from the app's own route table, so a new route is covered), 20
unauthenticated posts announcing 100 MB and streams that would go on to 100 MB; each is
refused with 413 before its body is read, the server's memory stays put and its health
route answers between them; HSTS is sent when a proxy on loopback says the client came over
https. The attack is ``hanoinet bench door``'s (bench/door.py), which also times the health
route against the 100 ms target; a test asserts nothing on the clock. Bounded loops,
loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanoinet.bench import door
from hanoinet.web.limits import Limits

POSTS = 20
STREAMS = 2
"""Streams per route: each is read up to the route's limit (16 MiB for the peer routes)."""
MAX_GROWTH = 50 * 1024 * 1024


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the server's memory from /proc")
def test_bodies_too_large_are_refused_unread_and_the_node_stays_up(tmp_path: Path) -> None:
    routes = door.body_routes()
    assert ("POST", "/api/v1/inbox") in routes and ("POST", "/api/v1/cases") in routes
    with door.demo_node(tmp_path) as (server, port):
        seen = door.attack(port, server.pid, posts=POSTS, streams=STREAMS)
        # HSTS only for https: as a TLS proxy on loopback says it was (uvicorn trusts it)
        assert "strict-transport-security" not in door.get(port, "/api/v1/health")[1]
        _, behind = door.get(port, "/api/v1/health", {"X-Forwarded-Proto": "https"})
        assert behind["strict-transport-security"] == "max-age=31536000"
        assert behind["cache-control"] == "no-store"
        assert server.poll() is None
    announced = [s for kind, *_, s in seen.statuses if kind == "announced"]
    assert len(announced) == POSTS * len(routes) and set(announced) == {413}
    streamed = [s for kind, *_, s in seen.statuses if kind == "streamed"]
    # A reset may beat the answer to the client. The case page's letter upload and the
    # wizard's registration of a letter, streamed too, check the session before they read a
    # byte: an anonymous stream is sent to log in, unread.
    uploads = ("/letters", "/register")
    early = {
        s for kind, _, path, s in seen.statuses if kind == "streamed" and path.endswith(uploads)
    }
    others = {
        s for kind, _, path, s in seen.statuses if kind == "streamed" and not path.endswith(uploads)
    }
    assert early <= {303, 413, None} and others <= {413, None}
    assert 413 in streamed
    limits = Limits()
    for method, path, sent in seen.streamed_bytes:
        # stopped at the limit: what was sent past it is what the sockets buffer
        assert sent <= limits.of(method, path)[0] + 8 * 1024 * 1024, (method, path, sent)
    assert set(seen.health) == {200}
    assert seen.peak_rss - seen.baseline_rss < MAX_GROWTH, (seen.baseline_rss, seen.peak_rss)
