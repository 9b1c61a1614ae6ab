"""An issue: ``issues/<slug>/issue.md`` (YAML front matter + Markdown editorial).

issue.md is what office staff edit, so reading it forgives nothing silently but
explains everything: each problem names the file, the post and the field. An unknown
field is an error too: gather rewrites the file, and a misspelt field would be lost.

Beside issue.md, an issue folder holds:
- ``gathered.json``: what gather remembers. Every post it has put into this issue (id
  and url): a post listed there but no longer in issue.md was deleted by staff, and a
  later gather leaves it out; deleting its entry lets gather offer the post again.
  When gather last ran (the next issue's default cut-off looks at it). And the texts
  gather derived (default subject, preheader): while issue.md still holds them
  unchanged they follow the issue's content (``follow_content``); once staff change
  one, theirs stays.
- ``sent.json``: the sent mark, written when the first real send starts. A sent issue
  is frozen: gather refuses it and skips its posts in later issues.
- ``build/``: what render makes.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from newsletter.errors import IssueError
from newsletter.files import write_text_atomic
from newsletter.post import Image, Post
from newsletter.textfile import read_text
from newsletter.workspace import Workspace

if TYPE_CHECKING:
    from newsletter.settings import NewsletterSettings

ISSUE_FILE = "issue.md"
BUILD_DIR = "build"
# Written by the first real send; gather refuses to touch a sent issue and skips its posts.
SENT_MARK = "sent.json"
GATHERED_FILE = "gathered.json"
_FENCE = "---"
# libyaml's safe loader and dumper where PyYAML has them: same YAML, several times faster.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_ISSUE_FIELDS = ("subject", "preheader", "date", "list", "posts")
_POST_FIELDS = ("id", "title", "url", "date", "summary", "image", "categories", "source")
_IMAGE_FIELDS = ("url", "alt", "caption")
# How many post titles the derived preheader names.
PREHEADER_TITLES = 3
_MONTH_SLUG = re.compile(r"^(\d{4})-(\d{2})(?:-\d+)?$")


@dataclass(frozen=True)
class Issue:
    slug: str
    subject: str
    preheader: str
    date: datetime
    list_name: str | None
    posts: tuple[Post, ...]
    editorial: str


@dataclass(frozen=True)
class PostKey:
    """What identifies a post across gathers: its id, and its url when it has one."""

    id: str
    url: str

    @classmethod
    def of(cls, post: Post) -> PostKey:
        return cls(post.id, post.url)


@dataclass(frozen=True)
class KnownPosts:
    """Posts known by id or by url: a post is among them when either is the same."""

    ids: frozenset[str]
    urls: frozenset[str]

    @classmethod
    def of(cls, keys: Iterable[PostKey]) -> KnownPosts:
        keys = tuple(keys)
        return cls(frozenset(key.id for key in keys), frozenset(key.url for key in keys if key.url))

    def contains(self, post: Post) -> bool:
        return post.id in self.ids or (bool(post.url) and post.url in self.urls)


@dataclass(frozen=True)
class DerivedTexts:
    """The texts made from an issue's content rather than written by a person."""

    subject: str
    preheader: str


@dataclass(frozen=True)
class Gathered:
    """What gather remembers about an issue (``gathered.json``)."""

    posts: tuple[PostKey, ...] = ()
    gathered_at: datetime | None = None
    derived: DerivedTexts | None = None


@dataclass(frozen=True)
class SentMark:
    started_at: datetime
    build_hash: str


def issue_folder(workspace: Workspace, name: str) -> Path:
    """The folder of ISSUE given as a slug (``2024-10``) or a folder (``issues/2024-10``)."""
    candidates = [Path(name), workspace.issues_dir / name]
    for folder in candidates:
        if (folder / ISSUE_FILE).is_file():
            return folder.resolve()
    known = sorted(p.parent.name for p in workspace.issues_dir.glob(f"*/{ISSUE_FILE}"))
    hint = (
        f"existing issues: {', '.join(known)}" if known else 'create one with "newsletter gather"'
    )
    raise IssueError(
        f'no issue "{name}" (looked for {workspace.issues_dir / name / ISSUE_FILE})',
        hint,
        key="issue_unknown",
        params={"slug": name},
    )


def read_sent_mark(folder: Path) -> SentMark | None:
    path = folder / SENT_MARK
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SentMark(datetime.fromisoformat(data["started_at"]), str(data["build_hash"]))
    except (ValueError, KeyError, TypeError) as error:
        raise IssueError(
            f"{path}: damaged sent mark ({error}); restore it from a backup",
            key="issue_sent_mark_damaged",
            params={"file": path, "reason": str(error)},
        ) from None


def write_sent_mark(folder: Path, mark: SentMark) -> None:
    data = {"started_at": mark.started_at.isoformat(), "build_hash": mark.build_hash}
    write_text_atomic(folder / SENT_MARK, json.dumps(data, indent=2) + "\n")


def read_gathered(folder: Path) -> Gathered:
    path = folder / GATHERED_FILE
    if not path.exists():
        return Gathered()
    try:
        data = json.loads(read_text(path))
        posts = tuple(PostKey(str(p["id"]), str(p.get("url", ""))) for p in data["posts"])
        at = data.get("gathered_at")
        gathered_at = datetime.fromisoformat(at) if isinstance(at, str) else None
        texts = data.get("derived")
        derived = (
            DerivedTexts(str(texts["subject"]), str(texts["preheader"]))
            if isinstance(texts, dict)
            else None
        )
    except (ValueError, KeyError, TypeError) as error:
        raise IssueError(
            f"{path}: damaged ({error})",
            "delete it; then gather may offer posts again that were deleted from issue.md",
            key="issue_gathered_damaged",
            params={"file": path, "reason": str(error)},
        ) from None
    if gathered_at is not None and gathered_at.tzinfo is None:
        gathered_at = None
    return Gathered(posts, gathered_at, derived)


def write_gathered(folder: Path, gathered: Gathered) -> None:
    data: dict[str, Any] = {
        "about": "What gather remembers. posts: posts it has put into this issue; one "
        "deleted from issue.md stays out (delete its entry here to have gather offer it "
        "again). derived: the subject and preheader gather made; while issue.md holds them "
        "unchanged they follow the posts.",
    }
    if gathered.gathered_at is not None:
        data["gathered_at"] = gathered.gathered_at.isoformat()
    if gathered.derived is not None:
        data["derived"] = {
            "subject": gathered.derived.subject,
            "preheader": gathered.derived.preheader,
        }
    data["posts"] = [{"id": key.id, "url": key.url} for key in gathered.posts]
    write_text_atomic(folder / GATHERED_FILE, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def issue_month(issue: Issue) -> date:
    """The month an issue is for: its slug's (2027-01, 2027-01-2), else its date's."""
    match = _MONTH_SLUG.match(issue.slug)
    if match and 1 <= int(match.group(2)) <= 12:
        return date(int(match.group(1)), int(match.group(2)), 1)
    return issue.date.date().replace(day=1)


def derive_texts(issue: Issue, settings: NewsletterSettings) -> DerivedTexts:
    """The default subject (the issue's month) and preheader (first titles).

    Not the office's name: mail apps show it as the sender beside the subject, and the
    email's header shows it again."""
    from babel.dates import format_date

    month = format_date(issue_month(issue), "LLLL y", locale=settings.locale.value)
    return DerivedTexts(
        subject=f"Newsletter {month}",
        preheader=" · ".join(post.title for post in issue.posts[:PREHEADER_TITLES]),
    )


def follow_content(
    issue: Issue, derived: DerivedTexts | None, settings: NewsletterSettings
) -> Issue:
    """The issue with each derived text that nobody has edited made anew from its content."""
    if derived is None:
        return issue
    now = derive_texts(issue, settings)
    return replace(
        issue,
        subject=now.subject if issue.subject == derived.subject else issue.subject,
        preheader=now.preheader if issue.preheader == derived.preheader else issue.preheader,
    )


def load_current_issue(folder: Path, settings: NewsletterSettings) -> Issue:
    """The issue as render shows it: issue.md, with unedited derived texts made anew."""
    return follow_content(load_issue(folder), read_gathered(folder).derived, settings)


class _Fields:
    """Typed access to one mapping of the front matter, with errors that point at it."""

    def __init__(self, path: Path, where: str, data: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise self.error("expected a mapping of fields")
        self.data: dict[str, Any] = data

    def error(self, text: str, key: str | None = None) -> IssueError:
        parts = [str(self.path), self.where, key, text]
        where = ": ".join(p for p in (self.where, key) if p)
        # The desk shows the English text after its German lead-in: the texts name fields.
        return IssueError(
            ": ".join(p for p in parts if p),
            key="issue_field",
            params={"file": self.path, "where": where, "problem": text},
        )

    def only(self, known: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f'did you mean "{close[0]}"?' if close else f"known: {', '.join(known)}"
                raise self.error(f'unknown field "{key}"; {hint}')

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.error("missing", key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.error("expected a text", key)
        return value

    def date(self, key: str, required: bool) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error("missing", key)
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise self.error('expected a date with time zone like "2024-10-01T09:00:00+02:00"', key)
        return value


def _post(fields: _Fields) -> Post:
    fields.only(_POST_FIELDS)
    image = None
    if fields.data.get("image"):
        img = _Fields(fields.path, f"{fields.where} image", fields.data["image"])
        img.only(_IMAGE_FIELDS)
        # No url: the source named a caption but no picture (a page export).
        image = Image(
            url=img.text("url", ""), alt=img.text("alt", ""), caption=img.text("caption", "")
        )
    categories = fields.data.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise fields.error("expected a list of texts", "categories")
    return Post(
        id=fields.text("id"),
        title=fields.text("title"),
        url=fields.text("url", ""),
        date=fields.date("date", required=False),
        summary=fields.text("summary", ""),
        image=image,
        categories=tuple(categories),
        source=fields.text("source", ""),
    )


_KNOWN_FIELDS = frozenset((*_ISSUE_FIELDS, *_POST_FIELDS, *_IMAGE_FIELDS))
# `key: value` on one line, the value unquoted (no quote, block or flow start).
_PLAIN_FIELD = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<key>\w+):[ \t]+(?P<value>[^'\"|>\[{&*!%@`#\s].*)$"
)
_MAPPING_IN_VALUE = "mapping values are not allowed"
# Each mended line costs one more parse; a file with more such lines gets the message.
_MAX_MENDED = 50


def _mended(lines: list[str], number: int) -> str | None:
    """Line ``number`` with its unquoted value in quotes, when that is surely what was meant.

    Staff write `subject: Grüne Musterstadt: Radweg`; YAML reads the second colon as a
    new mapping. The line is mended only when it is a known field with the whole value
    on that line (a value continued on the next lines is left to the message).
    """
    match = _PLAIN_FIELD.match(lines[number])
    if match is None or match["key"] not in _KNOWN_FIELDS:
        return None
    column = len(match["lead"])
    for following in lines[number + 1 :]:
        if following.strip() and not following.lstrip().startswith("#"):
            if len(following) - len(following.lstrip()) > column:
                return None  # continued below
            break
    value, hash_, comment = match["value"].partition(" #")
    quoted = json.dumps(value.rstrip(), ensure_ascii=False)
    return f"{match['lead']}{match['key']}: {quoted}" + (f"  #{comment}" if hash_ else "")


def _load_front_matter(path: Path, lines: list[str]) -> Any:
    lines = list(lines)
    for _ in range(_MAX_MENDED + 1):
        try:
            return yaml.load("\n".join(lines), Loader=_LOADER) or {}  # noqa: S506 (safe)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            problem = str(getattr(error, "problem", None) or error)
            if mark is None:
                raise IssueError(
                    f"{path}: front matter is not valid YAML: {problem}",
                    key="issue_unreadable_front_matter",
                    params={"file": path, "reason": problem},
                ) from None
            mended = (
                _mended(lines, mark.line)
                if problem.startswith(_MAPPING_IN_VALUE) and mark.line < len(lines)
                else None
            )
            if mended is None:
                raise _yaml_error(path, lines, mark.line, problem) from None
            lines[mark.line] = mended
    raise IssueError(
        f"{path}: too many unquoted texts with a colon; put each in quotes",
        key="issue_colons",
        params={"file": path},
    )


def _yaml_error(path: Path, lines: list[str], number: int, problem: str) -> IssueError:
    # Line numbers count in issue.md: the front matter starts after the first "---".
    where = f"{path}: line {number + 2}"
    field = re.match(r"^\s*(?:-\s+)?(\w+):", lines[number]) if number < len(lines) else None
    if field is not None and problem.startswith(_MAPPING_IN_VALUE):
        key = field.group(1)
        return IssueError(
            f"{where}: the {key} has a colon that YAML reads as a new field",
            f'put the {key} in quotes: {key}: "…"',
            key="issue_colon",
            params={"file": path, "line": number + 2, "field": key},
        )
    return IssueError(
        f"{where}: front matter is not valid YAML ({problem})",
        'if a text there holds a colon or starts with a special sign, put it in quotes: title: "…"',
        key="issue_not_yaml",
        params={"file": path, "line": number + 2, "reason": problem},
    )


def parse_issue(path: Path, slug: str, text: str) -> Issue:
    lines = text.splitlines()
    try:
        end = lines.index(_FENCE, 1) if lines and lines[0].strip() == _FENCE else -1
    except ValueError:
        end = -1
    if end < 0:
        raise IssueError(
            f"{path}: the front matter must start and end with a line of three dashes (---)",
            key="issue_dashes",
            params={"file": path},
        )
    data = _load_front_matter(path, lines[1:end])
    top = _Fields(path, "", data)
    top.only(_ISSUE_FIELDS)
    raw_posts = data.get("posts") or []
    if not isinstance(raw_posts, list):
        raise top.error("expected a list of posts", "posts")
    posts = tuple(_post(_Fields(path, f"posts #{n}", p)) for n, p in enumerate(raw_posts, start=1))
    date = top.date("date", required=True)
    assert date is not None
    list_name = data.get("list")
    if list_name is not None and not isinstance(list_name, str):
        raise top.error("expected a list name", "list")
    return Issue(
        slug=slug,
        subject=top.text("subject"),
        preheader=top.text("preheader", ""),
        date=date,
        list_name=list_name or None,
        posts=posts,
        editorial="\n".join(lines[end + 1 :]).strip("\n"),
    )


def load_issue(folder: Path) -> Issue:
    path = folder / ISSUE_FILE
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise IssueError(
            f"{path}: file not found", key="issue_not_found", params={"file": path}
        ) from None
    except UnicodeDecodeError:
        raise IssueError(
            f"{path}: not UTF-8 text; save it as UTF-8",
            key="issue_not_utf8",
            params={"file": path},
        ) from None
    return parse_issue(path, folder.name, text)


def _post_data(post: Post) -> dict[str, Any]:
    data: dict[str, Any] = {"id": post.id, "title": post.title, "url": post.url}
    if post.date is not None:
        data["date"] = post.date.isoformat()
    data["summary"] = post.summary
    if post.image is not None:
        image = {"url": post.image.url, "alt": post.image.alt, "caption": post.image.caption}
        data["image"] = {k: v for k, v in image.items() if v}
    if post.categories:
        data["categories"] = list(post.categories)
    if post.source:
        data["source"] = post.source
    return data


# What staff read above each field of the issue.md gather writes (English, like the
# command line; the examples are what members read). A re-gather writes them again.
_FIELD_NOTES = {
    "subject": "# subject: the subject line in members' inboxes (made from the month until you change it).",
    "preheader": "# preheader: the line mail apps show after the subject (the first post titles until you change it).",
    "date": "# date: the issue's date, shown in the email's header.",
    "list": "# list: the member list to send to; without it, default_list in newsletter.toml. Example:",
    "posts": "# posts: in the order the email shows them. Reorder or delete freely: gather never adds a deleted one again.",
}
_POST_NOTES = (
    "#   id: how gather recognises the post; leave it as it is.",
    "#   title: the heading of the teaser.",
    '#   url: where the title and "Weiterlesen" lead; empty for no link.',
    "#   date: when the post was published, shown under the title.",
    "#   summary: the teaser text.",
    "#   image: url: the picture; alt: what screen readers say (describe the picture); caption: shown below it.",
    "#   categories: the site's categories (gather --category picks by them).",
    "#   source: the source in newsletter.toml the post came from.",
)
_EDITORIAL_NOTES = (
    "# ------------------------------------------------------------------------------------",
    "# Write the editorial below the next line of three dashes: the letter at the top of the email.",
    "# Markdown: an empty line starts a new paragraph, a line break stays a line break,",
    "# **bold**, *italic*, [link text](https://www.example.org/...).",
    '# One salutation per email: if the first line ends with a comma, like "Liebe Mitglieder,",',
    '# it replaces the greeting ("Hallo Erika,"). Write {first_name} in it to name each member:',
    '# "Hallo {first_name}, liebe Mitglieder," (members without a first name get "Hallo,").',
)


def _dump(data: dict[str, Any]) -> str:
    text: str = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=100)
    return text


def format_issue(issue: Issue) -> str:
    """issue.md as gather writes it: every field with a one-line note for staff above it."""
    parts = [
        _FIELD_NOTES["subject"],
        _dump({"subject": issue.subject}),
        _FIELD_NOTES["preheader"],
        _dump({"preheader": issue.preheader}),
        _FIELD_NOTES["date"],
        _dump({"date": issue.date.isoformat()}),
        _FIELD_NOTES["list"],
        _dump({"list": issue.list_name}) if issue.list_name else "# list: mitglieder",
        _FIELD_NOTES["posts"],
        *_POST_NOTES,
        _dump({"posts": [_post_data(post) for post in issue.posts]}),
        *_EDITORIAL_NOTES,
    ]
    front = "\n".join(part.rstrip("\n") for part in parts)
    return f"{_FENCE}\n{front}\n{_FENCE}\n\n{issue.editorial.strip()}\n"


def save_issue(folder: Path, issue: Issue) -> None:
    write_text_atomic(folder / ISSUE_FILE, format_issue(issue))
