"""Shared fixtures: real workspaces on disk, a real SMTP server, real programs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner, Result

from newsletter.bundled import sample_settings
from newsletter.cli import app
from newsletter.mailsink import MailSink
from newsletter.scaffold import create_workspace
from newsletter.workspace import Workspace
from tests.test_gather_support import FeedServer

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI"))

# Fuzz tests (tests/test_fuzz_*.py): bounded in CI and `make test`, long with `make fuzz`.
_FUZZ_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=_FUZZ_CHECKS, derandomize=IN_CI
)
settings.register_profile(
    "long", max_examples=5_000, deadline=None, suppress_health_check=_FUZZ_CHECKS
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace made by `init`, with the sample workspace's settings."""
    ws = create_workspace(tmp_path / "ws")
    shutil.copyfile(sample_settings(), ws.settings_file)
    return ws


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    """A real aiosmtpd server on 127.0.0.1 at a free port, keeping what it receives."""
    with MailSink(tmp_path / "received") as sink:
        yield sink


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """The fixture feeds over real HTTP on 127.0.0.1 (test_gather_support.FeedServer)."""
    with FeedServer() as running:
        yield running


@pytest.fixture
def need_program() -> Callable[[str], str]:
    """The path of an installed program; skips without it on a laptop, fails in CI."""

    def find(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            if IN_CI:
                pytest.fail(f"{name} is not installed, and CI must run every test")
            pytest.skip(f"{name} is not installed (make test installs it when run as root)")
        return path

    return find


CliRun = Callable[..., Result]


@pytest.fixture
def cli(workspace: Workspace) -> CliRun:
    """Run `newsletter ARGS...` in the workspace fixture, like a user in a terminal."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(app, ["--workspace", str(workspace.root), *args], input=input, env=env)

    return run
