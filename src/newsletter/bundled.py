"""Files that ship with the package: default templates, sample posts and settings, guides.

In a wheel they sit inside the package (see ``force-include`` in pyproject.toml);
in a source checkout, editable install included, they are the repository's own
top-level files, so there is exactly one copy of each.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent
SAMPLE_ISSUE = "2026-11"


def _locate(in_wheel: str, in_checkout: str) -> Path:
    for candidate in (_PACKAGE / in_wheel, _CHECKOUT / in_checkout):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"{in_checkout!r} is missing from this installation; reinstall newsletter"
    )


def default_templates() -> Path:
    """The default MJML/Jinja templates that ``init`` copies into a workspace."""
    return _locate("templates", "templates")


def sample_posts() -> Path:
    """Sample posts used by ``newsletter demo`` (the repository's ``posts/``)."""
    return _locate("sample/posts", "posts")


def sample_settings() -> Path:
    """The sample workspace's settings (the repository's ``newsletter.toml``)."""
    return _locate("sample/newsletter.toml", "newsletter.toml")


def sample_issue() -> Path:
    """The sample issue's issue.md (the repository's ``issues/2026-11``)."""
    return _locate("sample/issue.md", f"issues/{SAMPLE_ISSUE}/issue.md")


def docs_folder() -> Path:
    """The guides (web-setup.md, glossary.md): ``newsletter docs`` prints where they are,
    and messages name them by file name only, as an installation has no docs/ beside it."""
    return _locate("docs", "docs")


def data_file(name: str) -> Path:
    """A data file kept inside the package itself (``newsletter/data``)."""
    return _PACKAGE / "data" / name
