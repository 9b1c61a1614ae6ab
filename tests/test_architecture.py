"""The layering is kept by the import contract in .importlinter, run by `make lint`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contract over the `newsletter` package found in ``source_root``."""
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO_ROOT / ".importlinter"), "--no-cache"],
        cwd=source_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def source_copy(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO_ROOT / "src" / "newsletter",
        tmp_path / "newsletter",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def test_the_code_keeps_the_contract(source_copy: Path) -> None:
    result = lint_imports(source_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("store/__init__.py", "newsletter.cli"),  # nothing imports the CLI
        ("render/model.py", "newsletter.deliver.transport"),  # a stage importing a later one
        ("errors.py", "newsletter.settings"),  # the foundation importing above it
    ],
)
def test_an_upward_import_breaks_the_contract(source_copy: Path, module: str, upward: str) -> None:
    path = source_copy / "newsletter" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\nimport {upward}  # noqa\n", "utf-8")
    result = lint_imports(source_copy)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout
    assert upward in result.stdout


def test_every_package_and_module_has_its_layer() -> None:
    """A module left out of the layers would be checked by nothing."""
    config = (REPO_ROOT / ".importlinter").read_text(encoding="utf-8")
    layers = config.split("layers =", 1)[1].split("#", 1)[0]
    named = {
        name.strip() for line in layers.splitlines() for name in line.replace(":", "|").split("|")
    }
    package = REPO_ROOT / "src" / "newsletter"
    present = {
        f"newsletter.{path.stem if path.is_file() else path.name}"
        for path in package.iterdir()
        if (path.suffix == ".py" and path.stem not in {"__init__", "__main__"})
        or (path.is_dir() and (path / "__init__.py").is_file())
    }
    assert present - named == set(), "add these to a layer in .importlinter"


def test_no_arrow_is_excused() -> None:
    """The layering is true, not tolerated: no upward import is listed as an exception."""
    config = (REPO_ROOT / ".importlinter").read_text(encoding="utf-8")
    assert "ignore_imports" not in config


def _subclasses(root: type) -> set[type]:
    found: set[type] = set(root.__subclasses__())
    for child in list(found):
        found |= _subclasses(child)
    return found


def test_every_error_is_defined_in_errors() -> None:
    """One exception root, in one module: a front end needs no stage to tell errors apart."""
    import importlib
    import pkgutil

    import newsletter
    from newsletter import errors

    for info in pkgutil.walk_packages(newsletter.__path__, "newsletter."):
        if not info.name.startswith(("newsletter.__main__", "newsletter.cli")):
            importlib.import_module(info.name)
    elsewhere = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(errors.NewsletterError)
        if cls.__module__ != errors.__name__
    }
    assert elsewhere == set()


def test_a_failed_message_does_not_stop_the_run() -> None:
    """``except DeliveryError`` means the run stops: one member's bad message must not."""
    from newsletter.errors import DeliveryError, MessageError

    assert not issubclass(MessageError, DeliveryError)
