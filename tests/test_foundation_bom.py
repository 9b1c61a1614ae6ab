"""Files saved by Windows Notepad as "UTF-8 mit BOM" read like any other UTF-8 file.

The byte-order mark is handled in one place (newsletter.textfile); these tests put a
BOM in front of every file a workspace holds and run the real commands over it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.bundled import sample_posts
from newsletter.errors import NewsletterError, SettingsError
from newsletter.issue import GATHERED_FILE, ISSUE_FILE, load_issue, read_gathered
from newsletter.keys import load_keys
from newsletter.render.texts import load_texts, load_theme
from newsletter.scaffold import create_workspace
from newsletter.settings import load_settings
from newsletter.web.pages import Pages
from newsletter.workspace import Workspace
from tests.conftest import CliRun

BOM = b"\xef\xbb\xbf"
_TEXT_SUFFIXES = {".toml", ".mjml", ".txt", ".html", ".css", ".md", ".json"}


def add_bom(path: Path) -> None:
    data = path.read_bytes()
    assert not data.startswith(BOM)
    path.write_bytes(BOM + data)


def add_bom_everywhere(folder: Path) -> list[Path]:
    """A BOM in front of every text file under ``folder``, as Notepad would save them."""
    changed = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in _TEXT_SUFFIXES and ".newsletter" not in path.parts:
            add_bom(path)
            changed.append(path)
    return changed


def test_a_workspace_saved_with_byte_order_marks_gathers_renders_and_serves(
    workspace: Workspace, cli: CliRun
) -> None:
    shutil.rmtree(workspace.posts_dir)
    shutil.copytree(sample_posts(), workspace.posts_dir)
    changed = add_bom_everywhere(workspace.root)
    names = {p.relative_to(workspace.root).as_posix() for p in changed}
    assert {"newsletter.toml", "secrets.toml", "templates/email.mjml", "templates/theme.toml"} <= (
        names
    )
    assert any(n.startswith("posts/") and n.endswith(".md") for n in names)
    assert any(n.startswith("posts/") and n.endswith(".txt") for n in names)

    gathered = cli("gather", "--slug", "2026-11", "--since", "2026-10-01")
    assert gathered.exit_code == 0, gathered.output
    issue = workspace.issues_dir / "2026-11"
    add_bom(issue / ISSUE_FILE)
    add_bom(issue / GATHERED_FILE)
    assert cli("gather", "--slug", "2026-11", "--since", "2026-10-01").exit_code == 0

    rendered = cli("render", "2026-11")
    assert rendered.exit_code == 0, rendered.output
    built = [p.read_text(encoding="utf-8") for p in (issue / "build").iterdir() if p.is_file()]
    assert built
    assert not any("\ufeff" in text for text in built)

    pages = Pages.load(workspace.templates_dir / "web", workspace.settings.newsletter)
    assert "\ufeff" not in pages.unsubscribe("token")


def _web_pages(workspace: Workspace) -> Pages:
    return Pages.load(workspace.templates_dir / "web", workspace.settings.newsletter)


def _workspace_file(workspace: Workspace, name: str) -> Path:
    path = workspace.root / name
    add_bom(path)
    return path


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("newsletter.toml", lambda ws: load_settings(ws.settings_file).newsletter.name),
        ("secrets.toml", lambda ws: load_keys(ws, environ={}).unsubscribe.decode()),
        ("templates/theme.toml", lambda ws: str(load_theme(ws.templates_dir))),
        ("templates/texts/de.toml", lambda ws: str(load_texts(ws.templates_dir, "de"))),
        ("templates/web/invalid.html", lambda ws: _web_pages(ws).invalid_link()),
        ("templates/web/texts/de.toml", lambda ws: _web_pages(ws).invalid_link()),
    ],
)
def test_each_file_people_edit_reads_the_same_with_a_byte_order_mark(
    workspace: Workspace, name: str, read: object
) -> None:
    assert callable(read)
    before = read(workspace)
    _workspace_file(workspace, name)
    assert read(workspace) == before


def test_an_issue_and_its_gathered_list_read_the_same_with_a_byte_order_mark(
    workspace: Workspace, cli: CliRun
) -> None:
    shutil.rmtree(workspace.posts_dir)
    shutil.copytree(sample_posts(), workspace.posts_dir)
    assert cli("gather", "--slug", "2026-11", "--since", "2026-10-01").exit_code == 0
    folder = workspace.issues_dir / "2026-11"
    issue, gathered = load_issue(folder), read_gathered(folder)
    add_bom(folder / ISSUE_FILE)
    add_bom(folder / GATHERED_FILE)
    assert load_issue(folder) == issue
    assert read_gathered(folder) == gathered


def test_init_keeps_a_gitignore_saved_with_a_byte_order_mark_without_doubling_lines(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / ".gitignore").write_bytes(BOM + b"secrets.toml\n*.bak\n")
    create_workspace(folder)
    lines = (folder / ".gitignore").read_text(encoding="utf-8-sig").splitlines()
    assert lines.count("secrets.toml") == 1
    assert lines[:2] == ["secrets.toml", "*.bak"]


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        ("name = Grüne Teststadt", "name", "Grüne Teststadt"),
        (
            "responsible = Erika Beispiel, Musterstraße 1",
            "responsible",
            "Erika Beispiel, Musterstraße 1",
        ),
        ("site_url = https://www.example.org", "site_url", "https://www.example.org"),
    ],
)
def test_a_text_without_quotes_says_to_put_it_in_quotes_with_the_line(
    workspace: Workspace, line: str, key: str, value: str
) -> None:
    path = workspace.settings_file
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, old in enumerate(lines, start=1) if old.startswith(f"{key} = "))
    lines[number - 1] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f'{path}: not valid TOML: line {number}: a text must be in quotes; write {key} = "{value}"'
    )


def test_other_toml_mistakes_still_name_the_line(workspace: Workspace) -> None:
    path = workspace.settings_file
    path.write_text('[newsletter]\nname = "Grüne\n', encoding="utf-8")
    with pytest.raises(NewsletterError, match=r"not valid TOML: .*line 2"):
        load_settings(path)


def test_a_text_file_far_too_large_is_refused_in_one_line(tmp_path: Path) -> None:
    from newsletter.errors import TextFileTooLargeError
    from newsletter.textfile import read_text

    path = tmp_path / "issue.md"
    path.write_bytes(BOM + b"x" * 2048)
    assert read_text(path, limit=4096) == "x" * 2048
    with pytest.raises(TextFileTooLargeError) as caught:
        read_text(path, limit=1024)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)
