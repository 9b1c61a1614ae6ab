"""Commands about the workspace itself: init and demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli.state import out


def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for the new workspace (created if missing).")
    ] = Path(),
) -> None:
    """Create a workspace: settings, default templates, issues/, posts/ and signing keys.

    Example: newsletter init kv-musterstadt
    """
    from newsletter.scaffold import create_workspace

    workspace = create_workspace(directory)
    out.print(f"Created a newsletter workspace in {workspace.root}", markup=False)
    out.print(
        f"Next: edit {workspace.settings_file.name} (name, addresses, sources, [smtp]), "
        "then run: newsletter gather",
        markup=False,
    )


def demo(
    keep: Annotated[
        Path | None,
        typer.Option(
            help="Put the demo's workspace and received mail in this (new or empty) folder."
        ),
    ] = None,
) -> None:
    """Run the whole pipeline on sample posts and members, sending only to a local server.

    Nothing leaves this machine: the messages go to an SMTP server on 127.0.0.1 that the
    demo starts and stops itself, and end up as .eml files you can open.

    Example: newsletter demo --keep demo-output
    """
    import tempfile

    from newsletter.demo import run_demo

    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="newsletter-demo-"))
    result = run_demo(folder, lambda text: out.print(f"• {text}", markup=False))
    out.print(f"Received {result.messages} messages in {result.received_dir}", markup=False)
    out.print(f"Workspace: {result.workspace.root}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(demo)
