"""The command line: one error path, help everywhere, the packaged templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from newsletter import __version__
from newsletter.cli import app

from .conftest import REPO_ROOT


def all_commands() -> Iterator[tuple[str, typer.core.TyperCommand]]:
    root = typer.main.get_command(app)

    def walk(prefix: str, command: object) -> Iterator[tuple[str, typer.core.TyperCommand]]:
        sub = getattr(command, "commands", None)
        if sub is None:
            yield prefix, command  # type: ignore[misc]
            return
        for name, child in sub.items():
            yield from walk(f"{prefix} {name}".strip(), child)

    yield from walk("", root)


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"newsletter {__version__}\n"


@pytest.mark.parametrize("name", [name for name, _ in all_commands()])
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: newsletter " in result.stdout, f"`newsletter {name} --help` shows no example"
    for param in dict(all_commands())[name].params:
        if param.name != "help":
            assert param.help, f"option {param.name} of `newsletter {name}` has no help text"  # type: ignore[attr-defined]


def test_an_unexpected_error_is_one_line_without_verbose(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(folder: Path) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("newsletter.scaffold.create_workspace", broken)
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr == (
        "Error: unexpected RuntimeError: disk on fire. This is a bug in newsletter; "
        "run the command again with --verbose and report the output\n"
    )
    verbose = CliRunner().invoke(app, ["--verbose", "init", str(tmp_path)])
    assert verbose.exit_code == 1
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "disk on fire" in verbose.stderr


def test_usage_errors_keep_exit_code_2() -> None:
    result = CliRunner().invoke(app, ["init", "--no-such-option"])
    assert result.exit_code == 2


def test_running_as_a_module_works(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"newsletter {__version__}"


@pytest.mark.slow
def test_the_wheel_carries_templates_sample_posts_and_settings(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("newsletter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "templates").rglob("*")
        if p.is_file()
    }
    assert templates, "the repository has no default templates"
    assert {f"newsletter/{t}" for t in templates} <= names
    assert "newsletter/sample/newsletter.toml" in names
    assert "newsletter/data/newsletter.toml" in names
    assert any(n.startswith("newsletter/sample/posts/") for n in names)
    assert "newsletter/cli/app.py" in names
