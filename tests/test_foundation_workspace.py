"""Finding the workspace, creating one with init, and its signing keys."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.errors import SettingsError, WorkspaceError
from newsletter.keys import UNSUBSCRIBE_ENV, load_keys
from newsletter.scaffold import create_workspace
from newsletter.settings import load_settings
from newsletter.workspace import find_workspace


def test_finds_the_nearest_workspace_upward(tmp_path: Path) -> None:
    outer = create_workspace(tmp_path / "outer")
    inner = create_workspace(outer.root / "posts" / "inner")
    deep = inner.root / "issues" / "2026-11"
    deep.mkdir(parents=True)
    assert find_workspace(start=deep, environ={}).root == inner.root
    assert find_workspace(start=outer.root / "issues", environ={}).root == outer.root


def test_explicit_option_beats_environment_beats_cwd(tmp_path: Path) -> None:
    a = create_workspace(tmp_path / "a")
    b = create_workspace(tmp_path / "b")
    env = {"NEWSLETTER_WORKSPACE": str(b.root)}
    assert find_workspace(explicit=a.root, start=tmp_path, environ=env).root == a.root
    assert find_workspace(start=a.root, environ=env).root == b.root
    assert find_workspace(start=a.root, environ={}).root == a.root


def test_no_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        find_workspace(start=tmp_path, environ={})
    assert str(caught.value) == (
        f"no newsletter.toml in {tmp_path.resolve()} or any folder above it; "
        'run "newsletter init" to create a workspace, or pass --workspace DIR'
    )


def test_explicit_folder_without_settings_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="is not a workspace"):
        find_workspace(explicit=tmp_path, environ={})


def test_init_creates_a_complete_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "kv")])
    assert result.exit_code == 0, result.output
    root = tmp_path / "kv"
    for name in ("issues", "posts", "templates"):
        assert (root / name).is_dir()
    settings = load_settings(root / "newsletter.toml")
    assert settings.smtp is not None and settings.smtp.rate[0].count == 300
    assert settings.smtp.concurrency == 1
    ignored = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"secrets.toml", "newsletter.db", "newsletter.db-*"} <= set(ignored)
    secrets = tomllib.loads((root / "secrets.toml").read_text(encoding="utf-8"))
    assert len(secrets["unsubscribe_key"]) == 64
    assert secrets["unsubscribe_key"] != secrets["confirmation_key"]
    assert "secret" not in (root / "newsletter.toml").read_text(encoding="utf-8").lower().replace(
        "secrets", ""
    )


def test_init_documents_every_key_it_writes(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "kv")
    for line in ws.settings_file.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#") and not line.startswith("["):
            assert "#" in line, f"undocumented key: {line}"


def test_init_refuses_to_overwrite_and_changes_nothing(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "kv")
    ws.settings_file.write_text("edited", encoding="utf-8")
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*"))
    result = CliRunner().invoke(app, ["init", str(ws.root)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {ws.root} already is a workspace (it has a newsletter.toml); "
        "nothing was changed; choose another folder\n"
    )
    assert sorted(p.relative_to(ws.root) for p in ws.root.rglob("*")) == before
    assert ws.settings_file.read_text(encoding="utf-8") == "edited"


def test_init_keeps_an_existing_gitignore_and_adds_its_rules(tmp_path: Path) -> None:
    folder = tmp_path / "kv"
    folder.mkdir()
    (folder / ".gitignore").write_text("*.bak", encoding="utf-8")
    create_workspace(folder)
    lines = (folder / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "*.bak"
    assert "secrets.toml" in lines


def test_missing_secrets_file_is_created_on_first_use_with_a_notice(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "kv")
    ws.secrets_file.unlink()
    notices: list[str] = []
    keys = load_keys(ws, on_create=notices.append, environ={})
    assert ws.secrets_file.exists()
    assert notices == [
        f"Created {ws.secrets_file} with new signing keys (keep it private, out of git)."
    ]
    assert load_keys(ws, on_create=notices.append, environ={}) == keys
    assert len(notices) == 1


def test_keys_from_the_environment_need_no_file(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "kv")
    ws.secrets_file.unlink()
    env = {UNSUBSCRIBE_ENV: "u" * 40, "NEWSLETTER_CONFIRMATION_KEY": "c" * 40}
    keys = load_keys(ws, environ=env)
    assert keys.unsubscribe == b"u" * 40
    assert not ws.secrets_file.exists()


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "kv")
    ws.secrets_file.write_text('unsubscribe_key = "short"\nconfirmation_key = "short"\n')
    with pytest.raises(SettingsError, match="unsubscribe_key is missing or shorter than 32"):
        load_keys(ws, environ={})
