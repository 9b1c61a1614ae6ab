"""What every command shares: the global options, the consoles and the workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from newsletter.workspace import Workspace, find_workspace

# Results go to stdout (so they pipe), everything else to stderr.
# soft_wrap: long lines (paths, error messages) stay one line instead of breaking mid-word.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class AppState:
    workspace_option: Path | None = None
    verbose: bool = False

    def workspace(self) -> Workspace:
        workspace = find_workspace(self.workspace_option)
        # Every command stops at a broken newsletter.toml before it does or writes anything.
        _ = workspace.settings
        return workspace


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def notice(text: str) -> None:
    """A side remark for the user (a created file, a skipped step), never an error."""
    err.print(text, style="yellow", markup=False)


def error_line(text: str) -> None:
    # markup=False: messages quote TOML tables like [smtp], which Rich would eat as markup.
    err.print(f"Error: {text}", style="bold red", markup=False)


def warn_about_database(workspace: Workspace) -> None:
    """SQLite needs a local disk: say so when the database sits on a share or synced folder."""
    from newsletter.storage import storage_warning

    warning = storage_warning(workspace.database_path)
    if warning:
        notice(f"Note: {warning}")
