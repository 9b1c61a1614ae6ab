"""Jinja2 over the workspace's ``templates/``: strict, escaped, and errors with a line.

Any mistake in a template ends as one TemplateError naming the template file and
line, never a Jinja traceback.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date as babel_format_date
from markdown_it import MarkdownIt
from markupsafe import Markup

from newsletter.errors import TemplateError
from newsletter.render.plaintext import markdown_to_text
from newsletter.textfile import TEXT_ENCODING

# Raw HTML in the editorial is shown as text, not passed through: staff write
# Markdown, and the email must stay well-formed (xhtmlOut) for our MJML check.
# breaks: a line break staff typed is one in the email too (a letter's signature),
# not Markdown's "join into one line".
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "xhtmlOut": True, "breaks": True})


# What XML 1.0 forbids (C0 controls but tab and newlines, DEL, lone surrogates, U+FFFE/F):
# from a post or issue.md it made the MJML document unparseable, reported as a broken
# template. Every value a template prints goes through ``_printable`` (Jinja's finalize).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _printable(value: Any) -> Any:
    if isinstance(value, str) and _NOT_XML.search(value):
        cleaned = _NOT_XML.sub("", value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned  # noqa: S704 - already markup
    return value


def _markdown(text: str) -> Markup:
    return Markup(_MARKDOWN.render(text).strip())  # noqa: S704 - html is off, so this is our own markup


@jinja2.pass_context
def _format_date(context: jinja2.runtime.Context, value: datetime | None) -> str:
    if value is None:
        return ""
    return babel_format_date(value, format=context["texts"]["date_format"], locale=context["lang"])


@lru_cache(maxsize=8)
def environment(templates_dir: Path) -> jinja2.Environment:
    """One environment per templates folder, kept for the process: compiled templates are
    cached, and ``auto_reload`` picks up edits (``newsletter preview``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir, encoding=TEXT_ENCODING),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["mjml", "html"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        finalize=_printable,
    )
    env.filters["markdown"] = _markdown
    env.filters["markdown_text"] = markdown_to_text
    env.filters["format_date"] = _format_date
    return env


def render_template(templates_dir: Path, name: str, context: Mapping[str, Any]) -> str:
    try:
        return environment(templates_dir).get_template(name).render(context)
    except jinja2.TemplateNotFound as error:
        missing = templates_dir / (error.name or name)
        raise TemplateError(
            f"template {missing} not found",
            "restore it from a new workspace (newsletter init) or fix the name that includes it",
            key="template_missing",
            params={"file": missing},
        ) from None
    except jinja2.TemplateSyntaxError as error:
        path, line = _location(templates_dir, error.filename or name, error.lineno)
        raise _broken(path, line, str(error.message)) from None
    except (
        jinja2.TemplateError,
        LookupError,
        ValueError,
        TypeError,
        AttributeError,
        ArithmeticError,
    ) as error:
        # Templates are maintainers' code: a bad filter argument (e.g. a date format
        # Babel rejects) is their mistake too, reported at the template's line.
        path, line = _failing_line(templates_dir, error, name)
        raise _broken(path, line, str(error)) from None


def _broken(path: Path, line: int | None, problem: str) -> TemplateError:
    where = f"{path}, line {line}" if line else str(path)
    return TemplateError(
        f"{where}: {problem}",
        key="template_broken_at" if line else "template_broken",
        params={"file": path, "line": line or "", "problem": problem},
    )


def _location(templates_dir: Path, filename: str, line: int | None) -> tuple[Path, int | None]:
    path = Path(filename)
    return (path if path.is_absolute() else templates_dir / path), line


def _failing_line(templates_dir: Path, error: BaseException, name: str) -> tuple[Path, int | None]:
    """The innermost template frame of a render-time error.

    Jinja rewrites tracebacks so that template code appears with the template's own
    file name and line; the last such frame is where the template went wrong.
    """
    root = str(templates_dir.resolve())
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if str(Path(frame.filename).resolve()).startswith(root)
    ]
    if frames:
        return _location(templates_dir, frames[-1].filename, frames[-1].lineno)
    return templates_dir / name, None
