"""``newsletter render``: build an issue's email, text and preview message."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.state import err, notice, out, state


def render(
    ctx: typer.Context,
    issue: Annotated[str, typer.Argument(help="The issue: its slug (2026-11) or folder.")],
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the rendered email in the default browser.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit with an error, and write no build, when there are warnings (CI)."
        ),
    ] = False,
    screenshots: Annotated[
        bool,
        typer.Option(
            "--screenshots",
            help="Also save PNGs at 375 px, 700 px and in dark mode to build/ (needs Chromium).",
        ),
    ] = False,
) -> None:
    """Render an issue: HTML email, plain text and a preview message in its build/ folder.

    Example: newsletter render 2026-11 --open
    """
    from newsletter.errors import StrictWarningsError
    from newsletter.issue import issue_folder
    from newsletter.keys import load_keys
    from newsletter.render.checks import encoded_size
    from newsletter.rendering import build_issue

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    keys = load_keys(workspace, on_create=notice)
    try:
        build = build_issue(workspace, folder, keys.unsubscribe, strict=strict)
    except StrictWarningsError as failed:
        for warning in failed.warnings:
            err.print(f"Warning: {warning}", style="yellow", markup=False)
        raise
    result = build.result
    out.print(
        # The size Gmail's clip counts, as the size warning does: encoded, as sent.
        f"Rendered {folder.name}: {encoded_size(result.email.html) / 1024:.0f} KB HTML as sent",
        markup=False,
    )
    for path in build.files:
        out.print(f"  {path}", markup=False)
    for warning in result.warnings:
        err.print(f"Warning: {warning}", style="yellow", markup=False)
    if screenshots:
        from newsletter.cli.screenshots import save_screenshots

        save_screenshots(result.email, build.folder, keys.unsubscribe)
    if open_browser:
        import webbrowser

        webbrowser.open(build.files[0].as_uri())


def register(app: typer.Typer) -> None:
    app.command()(render)
