"""``newsletter preview``: a live local page showing an issue's email as it will look."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.state import err, notice, out, state

if TYPE_CHECKING:
    from newsletter.preview.live import Snapshot


def _report(snapshot: Snapshot) -> None:
    when = snapshot.built_at.strftime("%H:%M:%S")
    if snapshot.error:
        err.print(f"{when} Could not render: {snapshot.error}", style="red", markup=False)
        return
    assert snapshot.content is not None
    count = len(snapshot.content.warnings)
    built = "Built" if snapshot.version == 1 else "Rebuilt"
    out.print(f"{when} {built}, {count} warning{'' if count == 1 else 's'}", markup=False)


def preview(
    ctx: typer.Context,
    issue: Annotated[str, typer.Argument(help="The issue: its slug (2026-11) or folder.")],
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port on 127.0.0.1 to serve on (default: a free one)."),
    ] = 0,
    no_open: Annotated[
        bool, typer.Option("--no-open", help="Do not open the page in the default browser.")
    ] = False,
) -> None:
    """Show an issue's email on a local web page at phone and desktop width, live.

    The page shows the email at 375 px and 700 px, its plain text, subject, preheader
    and warnings. It updates by itself when issue.md, newsletter.toml or a template is
    saved; a template error shows on the page until the next good save. Nothing is
    written to build/: run newsletter render before sending. Ctrl-C stops it.

    Example: newsletter preview 2026-11
    """
    from functools import partial

    from newsletter.issue import issue_folder
    from newsletter.keys import load_keys
    from newsletter.preview.content import render_preview, watched_files
    from newsletter.preview.live import LiveBuild
    from newsletter.preview.server import bind_loopback, create_app, serve, url_of

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    keys = load_keys(workspace, on_create=notice)
    live = LiveBuild(
        partial(render_preview, workspace.root, folder, keys.unsubscribe),
        partial(watched_files, workspace.root, folder),
        on_build=_report,
    )
    sock = bind_loopback(port)
    url = url_of(sock)
    out.print(f"Preview of {folder.name}: {url}", markup=False)
    err.print(
        "It updates when issue.md, newsletter.toml or a template changes. Press Ctrl-C to stop.",
        markup=False,
    )
    live.current()
    if not no_open:
        import webbrowser

        if not webbrowser.open(url):
            notice(f"No browser could be opened; open {url} yourself.")
    serve(create_app(live, folder.name), sock)
    out.print("Preview stopped.", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(preview)
