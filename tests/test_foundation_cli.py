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


def _groups() -> Iterator[tuple[str, typer.core.TyperGroup]]:
    def walk(prefix: str, command: object) -> Iterator[tuple[str, typer.core.TyperGroup]]:
        sub = getattr(command, "commands", None)
        if sub is not None:
            yield prefix, command  # type: ignore[misc]
            for name, child in sub.items():
                yield from walk(f"{prefix} {name}".strip(), child)

    yield from walk("", typer.main.get_command(app))


def _listed(help_output: str) -> dict[str, str]:
    """The "Commands:" section of --help: each command's summary, its wrapped lines joined."""
    rows: dict[str, str] = {}
    current = ""
    for line in help_output.split("Commands:\n", 1)[1].splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.strip():
            current, _, text = line.strip().partition(" ")
            rows[current] = text.strip()
        elif line.strip():
            rows[current] += " " + line.strip()
    return rows


@pytest.mark.parametrize("group", [name for name, _ in _groups()])
def test_command_lists_show_each_summary_whole_never_cut_mid_phrase(group: str) -> None:
    # Click cuts a summary at 45 characters or at its first ". ": "forget  Erase a person (GDPR Art."
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, [*group.split(), "--help"])
    assert result.exit_code == 0, result.output
    listed = _listed(result.stdout)
    commands = dict(_groups())[group].commands
    assert set(listed) == set(commands)
    for name, command in commands.items():
        assert command.help, f"`newsletter {group} {name}` has no help"
        first_paragraph = " ".join(command.help.strip().split("\n\n")[0].split())
        assert listed[name] == first_paragraph, f"`newsletter {group} {name}`"
        assert "..." not in listed[name]
