"""Finding the workspace (like git finds a repository) and the paths inside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from newsletter.errors import WorkspaceError
from newsletter.settings import SETTINGS_FILE, Settings, load_settings

WORKSPACE_ENV = "NEWSLETTER_WORKSPACE"
SECRETS_FILE = "secrets.toml"
STATE_DIR = ".newsletter"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS_FILE

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.settings_file)

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def posts_dir(self) -> Path:
        return self.root / "posts"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def secrets_file(self) -> Path:
        return self.root / SECRETS_FILE

    @property
    def state_dir(self) -> Path:
        """Caches and bookkeeping that are not worth keeping in git (feed cache, sync state)."""
        return self.root / STATE_DIR

    @property
    def database_path(self) -> Path:
        return self.settings.database_path


def find_workspace(
    explicit: Path | None = None,
    start: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Workspace:
    """``--workspace`` first, then ``NEWSLETTER_WORKSPACE``, then upward from ``start``."""
    env = os.environ if environ is None else environ
    if explicit is None and env.get(WORKSPACE_ENV):
        explicit = Path(env[WORKSPACE_ENV])
    if explicit is not None:
        if not (explicit / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"{explicit} is not a workspace (it has no {SETTINGS_FILE})",
                f'create one with "newsletter init {explicit}"',
            )
        return Workspace(explicit.resolve())
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return Workspace(folder)
    raise WorkspaceError(
        f"no {SETTINGS_FILE} in {here} or any folder above it",
        'run "newsletter init" to create a workspace, or pass --workspace DIR',
    )
