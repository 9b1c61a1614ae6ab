"""Shared by the render tests: the fixture workspace with the real default templates."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.bundled import default_templates
from newsletter.workspace import Workspace

FIXTURE = Path(__file__).parent / "fixtures" / "render"
SLUG = "2026-11"
# A fixed signing key: the preview's token, and so the golden .eml, stay the same.
KEY = b"render-tests-unsubscribe-key-0123456789"


def render_workspace(tmp_path: Path, settings_edit: tuple[str, str] | None = None) -> Workspace:
    """A copy of tests/fixtures/render with the default templates; ``settings_edit``
    replaces one text in its newsletter.toml."""
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    shutil.copytree(default_templates(), root / "templates")
    (root / "posts").mkdir()
    if settings_edit is not None:
        settings = root / "newsletter.toml"
        old, new = settings_edit
        text = settings.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in the fixture settings"
        settings.write_text(text.replace(old, new), encoding="utf-8")
    return Workspace(root)


def issue_dir(workspace: Workspace) -> Path:
    return workspace.issues_dir / SLUG
