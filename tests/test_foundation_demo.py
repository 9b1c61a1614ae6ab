"""`newsletter demo`: the pipeline on sample data, against a local SMTP server only."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.settings import load_settings


def test_demo_runs_the_pipeline_in_the_given_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    workspace = tmp_path / "demo" / "workspace"
    smtp = load_settings(workspace / "newsletter.toml").require_smtp()
    assert smtp.host == "127.0.0.1"
    build = workspace / "issues" / "2026-11" / "build"
    assert (build / "email.html").stat().st_size > 10_000
    assert (build / "preview.eml").exists()
    for step in ("newsletter gather", "newsletter members import", "newsletter render 2026-11"):
        assert step in result.stdout
    assert f"Workspace:         {workspace}" in result.stdout
    assert "nothing leaves this machine" in result.stdout


def test_demo_refuses_a_folder_with_content(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: {tmp_path} is not empty; give the demo an empty or new folder\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
