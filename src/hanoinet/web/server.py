"""Running a node's app under uvicorn: one process, or several sharing one listening socket.

With several processes uvicorn binds the listening socket itself, with ``proto`` 0, so the
connections it accepts have ``proto`` 0 too and asyncio, which sets ``TCP_NODELAY`` only on
sockets that say ``IPPROTO_TCP``, leaves Nagle's algorithm on: every response after the first
on a keep-alive connection then waits for the peer's delayed ACK, about 40 ms on Linux
(Kludex/uvicorn#3149, open when this was written; measured here: ``bench exchange`` latency
p50 33 ms with two processes against 8 ms with one). So hanoinet binds the socket itself,
as a TCP socket, and hands it to uvicorn's own supervisor.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

OPTIONS: dict[str, Any] = {"log_level": "warning", "access_log": False}


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listening socket that every server process inherits."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(app: Any, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve ``app`` (an ASGI app, or with ``workers`` > 1 the import string of a factory that
    builds one in each process) until stopped."""
    settings = OPTIONS | options
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **settings)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=True, **settings)
    sock = listening_socket(host, port)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
