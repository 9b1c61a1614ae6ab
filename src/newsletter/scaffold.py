"""``newsletter init``: a new workspace with settings, templates, folders and keys."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.bundled import data_file, default_templates
from newsletter.errors import WorkspaceError
from newsletter.files import write_text_atomic
from newsletter.keys import new_secrets_text
from newsletter.settings import SETTINGS_FILE
from newsletter.textfile import read_text
from newsletter.workspace import SECRETS_FILE, Workspace


def create_workspace(folder: Path) -> Workspace:
    """Create a workspace in ``folder``; refuse if it already holds one."""
    if (folder / SETTINGS_FILE).exists():
        raise WorkspaceError(
            f"{folder} already is a workspace (it has a {SETTINGS_FILE})",
            "nothing was changed; choose another folder",
        )
    if (folder / "templates").exists():
        raise WorkspaceError(
            f"{folder / 'templates'} already exists",
            "nothing was changed; move it away or choose another folder",
        )
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(default_templates(), folder / "templates")
    for name in ("issues", "posts"):
        (folder / name).mkdir(exist_ok=True)
    _extend_gitignore(folder / ".gitignore")
    write_text_atomic(folder / SECRETS_FILE, new_secrets_text(), private=True)
    # The settings file comes last: until it exists, a failed init is no workspace.
    write_text_atomic(folder / SETTINGS_FILE, data_file(SETTINGS_FILE).read_text(encoding="utf-8"))
    return Workspace(folder.resolve())


def _extend_gitignore(path: Path) -> None:
    """Add our ignore rules, keeping whatever an existing .gitignore already says."""
    existing = read_text(path) if path.exists() else ""
    present = set(existing.splitlines())
    missing = [
        line
        for line in data_file("gitignore").read_text(encoding="utf-8").splitlines()
        if line not in present
    ]
    if missing:
        prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
        write_text_atomic(path, prefix + "\n".join(missing) + "\n")
