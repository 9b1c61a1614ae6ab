"""The desk's templates, texts, script and styles ship inside the wheel (nothing is
fetched from elsewhere when staff open it)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_the_desk(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("newsletter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO_ROOT / "src" / "newsletter" / "desk"
    files = {
        f"newsletter/desk/{p.relative_to(package).as_posix()}"
        for folder in ("templates", "static", "texts")
        for p in (package / folder).rglob("*")
        if p.is_file()
    }
    assert "newsletter/desk/static/desk.js" in files
    assert files <= names
    assert "newsletter/docs/desk.md" in names
