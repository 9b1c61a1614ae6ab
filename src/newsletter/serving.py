"""Listening and serving for our two web applications (``preview`` and ``serve``).

Each builds its own uvicorn configuration; the socket and the Ctrl-C handling are the
same for both.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from newsletter.errors import WebError

if TYPE_CHECKING:
    import uvicorn


def listen(host: str, port: int, hint: str) -> socket.socket:
    """A listening socket; port 0 picks a free one. A busy port is a WebError ending
    in ``hint`` (what the user can do about it), not a crash."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise WebError(f"cannot listen on {host}: {error}", "check --host") from None
    # Elsewhere than Windows (where it would let two servers share a port) it allows a
    # restart on the port a stopped server has just left.
    if os.name != "nt":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen()
    except OSError as error:
        sock.close()
        raise WebError(f"cannot listen on {host}:{port} ({error.strerror})", hint) from None
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def serve_until_interrupted(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve until Ctrl-C, then return normally."""
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn stops on Ctrl-C, then raises it again for its caller: we are done.
        pass
    finally:
        sock.close()
