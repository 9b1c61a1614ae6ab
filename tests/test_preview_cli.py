"""`newsletter preview` as a user runs it: a real process, a real port, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from newsletter.workspace import Workspace

from .conftest import CliRun
from .preview_support import FIXTURES


@pytest.fixture
def issue(workspace: Workspace) -> str:
    folder = workspace.issues_dir / "2026-12"
    folder.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "issue.md", folder / "issue.md")
    return folder.name


@pytest.mark.skipif(os.name == "nt", reason="Ctrl-C cannot be sent to a process on Windows")
def test_the_preview_serves_its_page_and_ctrl_c_ends_it_cleanly(
    workspace: Workspace, issue: str
) -> None:
    command = [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root)]
    process = subprocess.Popen(
        [*command, "preview", issue, "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"Preview of {issue}: http://127.0.0.1:"), first
        url = first.split(": ", 1)[1].strip()
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert "Neues aus Musterstadt im Dezember" in reply.read().decode("utf-8")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Preview stopped." in out
    assert "Traceback" not in err and "Aborted" not in err, err
    # The preview renders in memory: build/ stays what `newsletter render` made.
    assert not (workspace.issues_dir / issue / "build").exists()


def test_a_port_in_use_is_a_one_line_error(cli: CliRun, issue: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("preview", issue, "--no-open", "--port", str(port))
    assert result.exit_code == 1, result.output
    assert f"Error: cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port" in result.output


def test_an_unknown_issue_is_a_one_line_error(cli: CliRun) -> None:
    result = cli("preview", "1999-01", "--no-open")
    assert result.exit_code == 1
    assert 'Error: no issue "1999-01"' in result.output
