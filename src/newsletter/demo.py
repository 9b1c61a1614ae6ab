"""``newsletter demo``: the whole pipeline on embedded sample data, sending to loopback only.

The demo runs the very commands office staff run, in order, on a workspace of its own,
so what it shows is what they will see.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from newsletter.bundled import (
    SAMPLE_ISSUE,
    data_file,
    sample_issue,
    sample_posts,
    sample_settings,
)
from newsletter.errors import WorkspaceError
from newsletter.files import write_text_atomic
from newsletter.issue import ISSUE_FILE
from newsletter.scaffold import create_workspace
from newsletter.workspace import Workspace

SAMPLE_MEMBERS = "sample-members.csv"


def check_demo_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise WorkspaceError(f"{folder} is not empty", "give the demo an empty or new folder")


def demo_workspace(folder: Path, smtp_port: int) -> Workspace:
    """A sample workspace in ``folder`` whose mail server is 127.0.0.1:``smtp_port``."""
    workspace = create_workspace(folder)
    shutil.rmtree(workspace.posts_dir)
    shutil.copytree(sample_posts(), workspace.posts_dir)
    issue_dir = workspace.issues_dir / SAMPLE_ISSUE
    issue_dir.mkdir(parents=True)
    shutil.copyfile(sample_issue(), issue_dir / ISSUE_FILE)
    shutil.copyfile(data_file(SAMPLE_MEMBERS), workspace.root / SAMPLE_MEMBERS)
    # The sample settings point at a local server on a fixed port; the demo's server
    # listens on a free one, and the kept workspace must still work when run again.
    settings, count = re.subn(
        r"(?m)^port = \d+$", f"port = {smtp_port}", sample_settings().read_text(encoding="utf-8")
    )
    if count != 1:
        raise WorkspaceError("the bundled sample settings have no single [smtp] port line")
    write_text_atomic(workspace.settings_file, settings)
    return workspace


def demo_commands(workspace: Workspace) -> list[list[str]]:
    """The commands the demo runs, as a user would type them."""
    return [
        # The sample posts are from 2026; a fixed early cut-off keeps the demo working later.
        ["gather", "--since", "2000-01-01", "--slug", SAMPLE_ISSUE],
        ["members", "import", str(workspace.root / SAMPLE_MEMBERS)],
        ["members", "lists"],
        ["render", SAMPLE_ISSUE],
        ["send", SAMPLE_ISSUE, "--yes"],
        ["status", SAMPLE_ISSUE],
    ]


def desk_hint(workspace: Workspace) -> str:
    """The demo's last line: the same workspace in the staff's browser interface."""
    return (
        f"In your browser: newsletter --workspace {workspace.root} desk "
        "(issues, preview, members; the demo's mail server has stopped, so send from there "
        "only after setting [smtp])"
    )
