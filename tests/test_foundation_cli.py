"""The command line: one error path, help everywhere, the packaged templates."""

from __future__ import annotations

import os
import re
import shutil
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
    # What help texts point to ships too (`newsletter docs` prints where).
    guides = {p.name for p in (REPO_ROOT / "docs").glob("*.md")}
    assert "web-setup.md" in guides
    assert {f"newsletter/docs/{g}" for g in guides} <= names


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


_MENTIONED_DOC = re.compile(r"([\w-]+\.md)\b")
# Files of the workspace, not guides: issue.md is each issue's own file.
_WORKSPACE_FILES = {"issue.md"}


def _docs_folder() -> Path:
    result = CliRunner().invoke(app, ["docs"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.splitlines()[0])
    assert folder.is_absolute()
    return folder


def test_docs_prints_the_installed_guides_folder_and_what_is_in_it() -> None:
    folder = _docs_folder()
    result = CliRunner().invoke(app, ["docs"])
    for guide in ("web-setup.md", "glossary.md"):
        assert (folder / guide).is_file()
        assert guide in result.stdout


@pytest.mark.parametrize("name", [name for name, _ in all_commands()])
def test_every_guide_a_command_points_to_is_in_the_docs_folder(name: str) -> None:
    # `serve --help` said "See docs/web-setup.md": a path of the source checkout that an
    # installed wheel did not have.
    help_text = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*name.split(), "--help"]).stdout
    assert "docs/" not in help_text
    guides = set(_MENTIONED_DOC.findall(help_text)) - _WORKSPACE_FILES
    if guides:
        folder = _docs_folder()
        for guide in guides:
            assert (folder / guide).is_file(), f"`newsletter {name} --help` names {guide}"


def test_no_message_points_to_a_path_of_the_source_checkout() -> None:
    sources = sorted((REPO_ROOT / "src" / "newsletter").rglob("*.py"))
    assert sources
    for path in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert not re.search(r"docs/[\w-]+\.md", line), f"{path}:{number}: {line.strip()}"


_PIP_INSTALL = re.compile(r"\bpip install ([^`\n]+)")


def test_every_install_command_in_readme_and_docs_installs_the_wheel_or_a_checkout() -> None:
    # newsletter is not on PyPI: `pip install newsletter` finds nothing or someone else's
    # package, as the README warns; the guides must not tell anyone to run it.
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    commands = []
    for document in documents:
        for match in _PIP_INSTALL.finditer(document.read_text(encoding="utf-8")):
            commands.append((document.name, match.group(1).split("#")[0].strip()))
    assert any(name == "web-setup.md" for name, _ in commands)
    for name, args in commands:
        first = args.split()[0].strip("\"'")
        assert (
            first.endswith(".whl")
            or first == "."
            or first.startswith((".[", "./"))
            or "--find-links" in args
        ), f"{name}: pip install {args}"


def test_python_m_newsletter_works_where_the_newsletter_program_is_not_on_path(
    tmp_path: Path,
) -> None:
    # On Windows, pip's Scripts folder is often not on PATH: `python -m newsletter` is
    # the way in that the README gives, so it must do everything `newsletter` does.
    path = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not (Path(folder) / "newsletter").exists()
    )
    env = {**os.environ, "PATH": path}
    env.pop("NEWSLETTER_WORKSPACE", None)
    assert shutil.which("newsletter", path=path) is None

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "newsletter", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )

    shown = run("--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: python -m newsletter ")
    made = run("init", "kv-test")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "kv-test" / "newsletter.toml").is_file()
    listed = run("--workspace", str(tmp_path / "kv-test"), "members", "lists")
    assert listed.returncode == 0, listed.stderr
    refused = run("--workspace", str(tmp_path), "gather")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1


def test_readme_shows_python_m_and_the_password_variable_in_cmd_and_powershell() -> None:
    from newsletter.bundled import data_file

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    variable = re.search(
        r'^password_env = "(\w+)"', data_file("newsletter.toml").read_text(encoding="utf-8"), re.M
    )
    assert variable is not None
    assert "python -m newsletter" in readme
    # cmd: the quotes around it all keep & | < > in a password; PowerShell: single
    # quotes keep a $ in it.
    assert f'set "{variable.group(1)}=' in readme
    assert f"$env:{variable.group(1)} = '" in readme
