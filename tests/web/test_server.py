"""The listening socket hanoinet hands to uvicorn's server processes."""

from __future__ import annotations

import asyncio
import socket

import pytest

from hanoinet.web.server import listening_socket


def _nodelay_of_accepted(sock: socket.socket) -> int:
    """Serve ``sock`` as uvicorn's server processes do (asyncio ``create_server(sock=...)``),
    connect once, and read TCP_NODELAY on the connection the server accepted."""
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        port = sock.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(main(), timeout=10))
    return seen[0]


def test_connections_accepted_on_the_socket_send_without_delay() -> None:
    assert _nodelay_of_accepted(listening_socket("127.0.0.1", 0)) != 0


def test_a_socket_made_as_uvicorn_makes_it_would_not() -> None:
    """Why hanoinet makes its own (Kludex/uvicorn#3149): with ``proto`` 0, Nagle stays on."""
    plain = socket.socket(socket.AF_INET)
    plain.bind(("127.0.0.1", 0))
    if plain.proto == socket.IPPROTO_TCP:
        plain.close()
        pytest.skip("this platform reports IPPROTO_TCP on a plain socket")
    assert _nodelay_of_accepted(plain) == 0


def test_the_socket_is_tcp_and_inherited_by_server_processes() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert (sock.family, sock.type, sock.proto) == (
            socket.AF_INET,
            socket.SOCK_STREAM,
            socket.IPPROTO_TCP,
        )
        assert sock.get_inheritable()
    finally:
        sock.close()
