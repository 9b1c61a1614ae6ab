"""``newsletter desk``: the staff's browser interface on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.state import err, notice, out, state


def desk(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port on 127.0.0.1 to serve on (default: a free one)."),
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open the desk in the default browser.")
    ] = False,
) -> None:
    """Open the newsletter in your browser: issues, editing, test mails, sending, members.

    Serves on this computer only (127.0.0.1). The printed link carries a key for this
    start: only a browser that opened it can use the desk. A problem in newsletter.toml
    is shown on the start page with how to fix it. Ctrl-C stops it.

    Example: newsletter desk
    """
    import logging
    from contextlib import suppress

    from newsletter.desk.server import start_desk
    from newsletter.workspace import find_workspace

    # Not state().workspace(): the desk opens with a broken newsletter.toml, to show it.
    workspace = find_workspace(state(ctx).workspace_option)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.INFO)

    def ready(url: str) -> None:
        out.print(f"Desk: {url}", markup=False)
        err.print("Open this link in your browser. Press Ctrl-C to stop.", markup=False)
        if not no_browser:
            import webbrowser

            if not webbrowser.open(url):
                notice(f"No browser could be opened; open {url} yourself.")

    def stopped(slugs: list[str]) -> None:
        for slug in slugs:
            notice(
                f"Stopped the send of {slug} safely; the rest goes out with the desk's "
                f"Fortsetzen or: newsletter send {slug}"
            )

    # Ctrl-C before the server took over its handling (while the browser opened) too.
    with suppress(KeyboardInterrupt):
        start_desk(workspace.root, port, ready, stopped)
    out.print("Desk stopped.", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(desk)
