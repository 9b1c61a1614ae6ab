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


def register(app: typer.Typer) -> None:
    app.command()(init)
