"""Running the web application with uvicorn, as ``newsletter serve`` and the tests do."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from newsletter.serving import listen, serve_until_interrupted

# More than this many open connections get 503 at once instead of queueing up.
MAX_CONNECTIONS = 200
# Request line and headers; the bodies have their own limits (limits.py).
MAX_HEADER_BYTES = 16 * 1024


def bind(host: str, port: int) -> socket.socket:
    return listen(host, port, "is another server using that port? choose another with --port")


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
    serve_until_interrupted(make_server(app), sock)
