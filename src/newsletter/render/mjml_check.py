"""Our own check of MJML templates: well-formed XML, known tags, known attributes.

mjml-python accepts unknown tags and attributes silently and reports parse errors
without a line, so we check first and name the file and line. Templates are checked
as written, with the Jinja parts blanked out (line numbers stay true); this needs each
MJML tag to be whole within one file, which the templates' README asks for.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.parsers import expat

from newsletter.errors import TemplateError
from newsletter.render.mjml_schema import ANY_ATTRIBUTE, ATTRIBUTES, DROPPED, HTML_CONTENT
from newsletter.textfile import read_text

TEMPLATE_SUFFIX = ".mjml"
_WRAPPER = "nl-template"
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
# HTML entities such as &nbsp; are fine in MJML but unknown to XML; so is a bare "&".
_NON_XML_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")
_WELL_FORMED_HINT = "every tag must be closed (or end in />) and attribute values quoted"


@dataclass(frozen=True)
class _Open:
    tag: str
    line: int
    in_html: bool


def _blank_jinja(text: str) -> str:
    return _JINJA.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _did_you_mean(name: str, known: frozenset[str] | dict[str, frozenset[str]]) -> str:
    near = difflib.get_close_matches(name, known, n=1)
    return f'; did you mean "{near[0]}"?' if near else ""


def _tag_problem(tag: str, attributes: list[str], parent: _Open) -> str | None:
    if parent.in_html:
        if tag.startswith("mj"):
            return f"<{tag}> inside <{parent.tag}> is copied as HTML, not rendered as MJML"
        return None
    if tag not in ATTRIBUTES:
        place = "" if tag.startswith("mj") else " (HTML belongs inside mj-text or mj-raw)"
        return f"unknown MJML tag <{tag}>{place}{_did_you_mean(tag, ATTRIBUTES)}"
    allowed = ATTRIBUTES[tag]
    if parent.tag == "mj-attributes" and tag in ("mj-all", "mj-class"):
        allowed = ANY_ATTRIBUTE | {"name"}
    for name in attributes:
        if name in DROPPED.get(tag, frozenset()):
            return f'"{name}" on <{tag}> never reaches the email (mjml-python drops it); remove it'
        if name not in allowed:
            return f'unknown attribute "{name}" on <{tag}>{_did_you_mean(name, allowed)}'
    return None


def check_source(text: str, where: Path) -> None:
    """Check one template file's text; ``where`` names it in the error."""
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    stack: list[_Open] = []

    def start(tag: str, attributes: list[str]) -> None:
        line = parser.CurrentLineNumber
        if not stack:  # our wrapper around the file's elements
            stack.append(_Open(tag, line, in_html=False))
            return
        problem = _tag_problem(tag, attributes[::2], stack[-1])
        if problem:
            raise TemplateError(
                f"{where}, line {line}: {problem}",
                key="template_broken_at",
                params={"file": where, "line": line, "problem": problem},
            )
        stack.append(_Open(tag, line, stack[-1].in_html or tag in HTML_CONTENT))

    def end(tag: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(f"<{_WRAPPER}>{_NON_XML_AMPERSAND.sub('&amp;', _blank_jinja(text))}", False)
        parser.Parse(f"</{_WRAPPER}>", True)
    except expat.ExpatError as error:
        raise TemplateError(
            f"{where}, line {error.lineno}: not well-formed MJML: {_explain(error, stack)}",
            _WELL_FORMED_HINT,
            key="template_not_well_formed",
            params={"file": where, "line": error.lineno, "problem": _explain(error, stack)},
        ) from None


def _explain(error: expat.ExpatError, stack: list[_Open]) -> str:
    if error.code == expat.errors.codes[expat.errors.XML_ERROR_TAG_MISMATCH] and len(stack) > 1:
        return f"expected </{stack[-1].tag}> (opened on line {stack[-1].line}) before this"
    if error.code == expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS] and len(stack) > 1:
        return f"<{stack[-1].tag}> (opened on line {stack[-1].line}) is never closed"
    return expat.ErrorString(error.code)


@lru_cache(maxsize=256)
def _check_file(path: Path, mtime_ns: int, size: int) -> None:
    # mtime and size are in the key so an edited file is checked again.
    try:
        text = read_text(path)
    except UnicodeDecodeError:
        raise TemplateError(
            f"{path}: not UTF-8 text; save it as UTF-8",
            key="template_not_utf8",
            params={"file": path},
        ) from None
    check_source(text, path)


def check_templates(templates_dir: Path) -> None:
    """Check every .mjml file under ``templates_dir``; unchanged files are not re-read."""
    for path in sorted(templates_dir.rglob(f"*{TEMPLATE_SUFFIX}")):
        stat = path.stat()
        _check_file(path, stat.st_mtime_ns, stat.st_size)


def check_document(mjml: str, origin: Path) -> None:
    """The rendered MJML must still be well-formed: content (the editorial, a post's
    title) must not break it. ``origin`` is the template it came from."""
    parser = expat.ParserCreate()
    try:
        parser.Parse(_NON_XML_AMPERSAND.sub("&amp;", mjml), True)
    except expat.ExpatError as error:
        lines = mjml.splitlines()
        excerpt = lines[error.lineno - 1].strip()[:100] if 0 < error.lineno <= len(lines) else ""
        raise TemplateError(
            f"{origin}: the rendered MJML is not well-formed at its line {error.lineno} "
            f"({expat.ErrorString(error.code)}): {excerpt}",
            "check the Jinja expressions that write markup there",
            key="template_output_broken",
            params={
                "file": origin,
                "line": error.lineno,
                "problem": expat.ErrorString(error.code),
                "excerpt": excerpt,
            },
        ) from None
