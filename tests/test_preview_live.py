"""The preview's build stays current: rebuilt on a change, kept through a failure."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from newsletter.errors import TemplateError
from newsletter.preview.content import PreviewContent
from newsletter.preview.live import LiveBuild, Snapshot
from newsletter.preview.page import page_html


def content(subject: str) -> PreviewContent:
    return PreviewContent(
        subject=subject,
        preheader="",
        html=f"<h1>{subject}</h1>",
        text=subject,
        warnings=(),
        own_hosts=frozenset({"www.example.org"}),
    )


class Builds:
    """A build that follows what a test tells it, counting its calls."""

    def __init__(self, watched: Path) -> None:
        self.watched = watched
        self.calls = 0
        self.result: PreviewContent | Exception = content("Erste Ausgabe")

    def __call__(self) -> PreviewContent:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def live(self) -> LiveBuild:
        return LiveBuild(self, lambda: [self.watched])

    def touch(self) -> None:
        # A later mtime than any write before, whatever the file system's clock resolution.
        stat = self.watched.stat()
        os.utime(self.watched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_nothing_is_rebuilt_while_no_watched_file_changes(tmp_path: Path) -> None:
    (tmp_path / "issue.md").write_text("x")
    builds = Builds(tmp_path / "issue.md")
    live = builds.live()
    assert live.current().version == live.current().version == 1
    assert builds.calls == 1


def test_a_changed_file_means_a_new_build_and_version(tmp_path: Path) -> None:
    (tmp_path / "issue.md").write_text("x")
    builds = Builds(tmp_path / "issue.md")
    live = builds.live()
    live.current()
    builds.result = content("Zweite Ausgabe")
    builds.touch()
    snapshot = live.current()
    assert snapshot.version == 2
    assert snapshot.content == content("Zweite Ausgabe")


def test_a_deleted_watched_file_counts_as_a_change(tmp_path: Path) -> None:
    (tmp_path / "issue.md").write_text("x")
    builds = Builds(tmp_path / "issue.md")
    live = builds.live()
    live.current()
    (tmp_path / "issue.md").unlink()
    assert live.current().version == 2


def test_a_failed_build_keeps_the_last_good_email_until_the_next_good_one(tmp_path: Path) -> None:
    (tmp_path / "issue.md").write_text("x")
    builds = Builds(tmp_path / "issue.md")
    live = builds.live()
    live.current()
    builds.result = TemplateError("templates/email.mjml, line 3: unexpected '}'")
    builds.touch()
    broken = live.current()
    assert broken.error == "templates/email.mjml, line 3: unexpected '}'"
    assert broken.content == content("Erste Ausgabe")
    builds.result = content("Repariert")
    builds.touch()
    fixed = live.current()
    assert fixed.error is None and fixed.content == content("Repariert")


def test_a_bug_in_a_build_is_shown_and_does_not_escape(tmp_path: Path) -> None:
    (tmp_path / "issue.md").write_text("x")
    builds = Builds(tmp_path / "issue.md")
    builds.result = RuntimeError("kaputt")
    snapshot = builds.live().current()
    assert snapshot.content is None
    assert snapshot.error is not None
    assert "unexpected RuntimeError: kaputt" in snapshot.error and "bug" in snapshot.error


def test_without_any_good_build_the_page_shows_only_the_error() -> None:
    snapshot = Snapshot(1, datetime.now().astimezone(), None, "email.mjml, line 2: <b> & </i>")
    html = page_html("2026-12", snapshot)
    assert "email.mjml, line 2: &lt;b&gt; &amp; &lt;/i&gt;" in html
    assert "<iframe" not in html


def test_the_page_escapes_what_the_issue_says() -> None:
    snapshot = Snapshot(1, datetime.now().astimezone(), content("<script>alert(1)</script>"), None)
    html = page_html("2026-12", snapshot)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
