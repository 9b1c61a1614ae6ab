"""Starting the desk: a socket on 127.0.0.1, this start's keys, uvicorn until Ctrl-C."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.desk.app import Desk, create_app
from newsletter.desk.guard import DeskKeys
from newsletter.serving import listen, port_of, serve_until_interrupted

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

HOST = "127.0.0.1"


def bind_desk(port: int) -> tuple[socket.socket, DeskKeys]:
    """The listening socket and this start's keys (they name its port)."""
    sock = listen(
        HOST, port, "choose another port with --port, or leave --port out to get a free one"
    )
    return sock, DeskKeys.new(port_of(sock))


def make_server(app: Starlette) -> uvicorn.Server:
    import uvicorn

    # Quiet: the command prints its own lines; errors are logged by the desk itself.
    return uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )


def start_desk(
    root: Path,
    port: int,
    ready: Callable[[str], None],
    stopped_sends: Callable[[list[str]], None] = lambda slugs: None,
) -> None:
    """Serve the desk for the workspace at ``root`` until Ctrl-C; ``ready`` gets the link.

    A send still running then is stopped as Anhalten stops it, before this returns."""
    sock, keys = bind_desk(port)
    app = create_app(root, keys)
    desk: Desk = app.state.desk
    server = make_server(app)
    ready(keys.link())
    try:
        serve_until_interrupted(server, sock)
    finally:
        stopped_sends(desk.stop_sends())
        desk.discard_uploads()
