"""``newsletter serve`` and ``newsletter sync``: the web side and bringing its events in."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.state import err, notice, out, state, warn_about_database
from newsletter.errors import WebError


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; keep 127.0.0.1 behind a reverse proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Run the web side: one-click unsubscribe and, with archive = true, the archive.

    Members' unsubscribe links (web_url/abmelden?token=...) and the archive
    (web_url/archiv) are answered here. Run it behind your web server, which does
    HTTPS. On one machine, unsubscribes go straight into the workspace's database; with
    web_remote = true (a web server of its own) they wait until the office runs
    newsletter sync. See web-setup.md ("newsletter docs" shows where). Ctrl-C stops it.

    Example: newsletter serve --port 8080
    """
    from newsletter.web.app import create_app
    from newsletter.web.config import Shape, web_config
    from newsletter.web.server import bind, direct_reach_warning, serve

    workspace = state(ctx).workspace()
    warn_about_database(workspace)
    config = web_config(workspace, on_create_keys=notice)
    sock = bind(host, port)
    where = sock.getsockname()
    out.print(
        f"Serving {config.settings.web_url} on http://{host}:{where[1]}/ "
        f"({config.shape}; archive {'on' if config.archive else 'off'})",
        markup=False,
    )
    if config.shape is Shape.WEB_SERVER:
        err.print("Unsubscribes wait here until the office runs: newsletter sync", markup=False)
    else:
        err.print(f"Unsubscribes go straight into {config.database_path}", markup=False)
    direct = direct_reach_warning(host)
    if direct is not None:
        err.print(direct, markup=False)
    if config.signup is not None:
        from newsletter.signup.service import purge_regularly

        lists = ", ".join(config.signup.public_lists)
        err.print(f"Sign-up form at {config.settings.web_url}/anmelden ({lists})", markup=False)
        _, stop_purging = purge_regularly(config.signup)
    err.print("Press Ctrl-C to stop.", markup=False)
    try:
        serve(create_app(config), sock)
    finally:
        if config.signup is not None:
            stop_purging.set()
    out.print("Stopped.", markup=False)


def sync(ctx: typer.Context) -> None:
    """Bring the web server's unsubscribes in and push the archive (web_remote = true).

    Pulls the unsubscribes members made on the web server, applies each once to this
    workspace's database, and lets the server forget them; then pushes the pages of
    sent issues (with archive = true). A failed sync loses nothing: run it again.
    With web_remote = true, send wants a sync from the last 10 minutes.

    Example: newsletter sync
    """
    from newsletter.web.secret import sync_secret
    from newsletter.web.sync import run_sync, sync_client

    workspace = state(ctx).workspace()
    settings = workspace.settings.newsletter
    if not settings.web_remote:
        raise WebError(
            "web_remote = false: the web side runs on this machine and writes into its "
            "database, so there is nothing to sync",
            "set web_remote = true in newsletter.toml when newsletter serve runs elsewhere",
        )
    with sync_client(settings, sync_secret(workspace)) as client:
        report = run_sync(workspace, client)
    out.print(
        f"Synced with {settings.web_url}: {report.applied} unsubscribe"
        f"{'' if report.applied == 1 else 's'} brought in ({report.ended} ended a "
        f"subscription); {report.signups} sign-up"
        f"{'' if report.signups == 1 else 's'} and self-service change"
        f"{'' if report.signups == 1 else 's'} applied; archive: {report.pages_pushed} page"
        f"{'' if report.pages_pushed == 1 else 's'} pushed, {report.pages_removed} removed",
        markup=False,
    )
    if report.unsent_notices:
        out.print(
            f"{report.unsent_notices} notice(s) to the old address of a change of address "
            "could not be sent (no [smtp], or the relay refused; the changes are made): "
            "check [smtp] in newsletter.toml",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(sync)
