"""Running the web application with uvicorn, as ``newsletter serve`` and the tests do."""

from __future__ import annotations

import os
import socket

import uvicorn
from starlette.applications import Starlette

from newsletter.errors import WebError

# More than this many open connections get 503 at once instead of queueing up.
MAX_CONNECTIONS = 200
# Request line and headers; the bodies have their own limits (limits.py).
MAX_HEADER_BYTES = 16 * 1024


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one. A busy port is a WebError, not a crash."""
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
        raise WebError(
            f"cannot listen on {host}:{port} ({error.strerror})",
            "is another server using that port? choose another with --port",
        ) from None
    return sock


def make_server(app: Starlette) -> uvicorn.Server:
    # No access log: every unsubscribe address holds a member's token. Behind a reverse
    # proxy on this machine uvicorn takes the client's address from X-Forwarded-For
    # (FORWARDED_ALLOW_IPS names other proxies), which the rate limit counts by.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=True,
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    return uvicorn.Server(config)


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve until Ctrl-C, then return. SIGTERM (a service manager) also shuts down
    gracefully; uvicorn then ends the process with that signal, as such managers expect."""
    try:
        make_server(app).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn stops on Ctrl-C, then raises it again for its caller: we are done.
        pass
    finally:
        sock.close()
