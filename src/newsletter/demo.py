"""``newsletter demo``: the whole pipeline on embedded sample data, sending to loopback only."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsletter.bundled import sample_posts, sample_settings
from newsletter.errors import WorkspaceError
from newsletter.files import write_text_atomic
from newsletter.mailsink import MailSink
from newsletter.scaffold import create_workspace
from newsletter.workspace import Workspace

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    workspace: Workspace
    received_dir: Path
    messages: int


def _demo_workspace(folder: Path, smtp_port: int) -> Workspace:
    workspace = create_workspace(folder)
    shutil.rmtree(workspace.posts_dir)
    shutil.copytree(sample_posts(), workspace.posts_dir)
    # The sample settings point at a local server on a fixed port; the demo's server
    # listens on a free one, and the kept workspace must still work when run again.
    settings, count = re.subn(
        r"(?m)^port = \d+$", f"port = {smtp_port}", sample_settings().read_text(encoding="utf-8")
    )
    if count != 1:
        raise WorkspaceError("the bundled sample settings have no single [smtp] port line")
    write_text_atomic(workspace.settings_file, settings)
    return workspace


def run_demo(folder: Path, step: Step) -> DemoResult:
    """Run every stage there is, in ``folder``, against an SMTP server on 127.0.0.1."""
    if folder.exists() and any(folder.iterdir()):
        raise WorkspaceError(f"{folder} is not empty", "give the demo an empty or new folder")
    received = folder / "received"
    with MailSink(received) as sink:
        step(
            f"Started a local SMTP server on {sink.host}:{sink.port} (nothing leaves this machine)"
        )
        workspace = _demo_workspace(folder / "workspace", sink.port)
        step(f"Created a sample workspace in {workspace.root}")
        messages = len(sink.received)
    return DemoResult(workspace=workspace, received_dir=received, messages=messages)
