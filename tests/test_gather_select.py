"""Choosing posts for an issue, and merging them with what staff left in issue.md."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from newsletter.gather import (
    GatherRequest,
    SentHistory,
    SkipReason,
    cutoff,
    merge_posts,
    select_posts,
)
from newsletter.issue import KnownPosts, PostKey
from newsletter.post import Post
from newsletter.sources.dates import BERLIN
from newsletter.sources.summary import summarise

from .test_gather_support import NOW

SINCE = datetime(2026, 11, 1, tzinfo=BERLIN)
NOTHING_SENT = SentHistory(KnownPosts(frozenset(), frozenset()), None)


def post(
    name: str, day: int | None, url: str | None = None, categories: tuple[str, ...] = ()
) -> Post:
    return Post(
        id=f"id-{name}",
        title=name,
        url=url if url is not None else f"https://www.example.org/{name}",
        date=datetime(2026, 11, day, 12, tzinfo=BERLIN) if day else None,
        summary="",
        categories=categories,
    )


def reasons(posts: list[Post], category: str | None = None) -> dict[str, SkipReason]:
    selection = select_posts(posts, since=SINCE, history=NOTHING_SENT, category=category)
    return {skip.post.title: skip.reason for skip in selection.skipped}


def test_newest_first_and_undated_last_when_asked_for() -> None:
    posts = [post("mitte", 10), post("ohne", None), post("neu", 15), post("alt", 2)]
    selection = select_posts(posts, since=SINCE, history=NOTHING_SENT, include_undated=True)
    assert [p.title for p in selection.taken] == ["neu", "mitte", "alt", "ohne"]
    assert selection.skipped == ()


def test_each_skipped_post_has_its_reason() -> None:
    sent = SentHistory(KnownPosts(frozenset({"id-gesendet"}), frozenset()), None)
    posts = [
        post("neu", 15),
        replace(post("zu-alt", 1), date=datetime(2026, 10, 31, 23, 59, tzinfo=BERLIN)),
        post("ohne", None),
        post("gesendet", 12),
        Post(id="id-neu", title="gleiche id", url="", date=None, summary=""),
        post("gleiche-url", 14, url="https://www.example.org/neu"),
    ]
    selection = select_posts(posts, since=SINCE, history=sent)
    assert [p.title for p in selection.taken] == ["neu"]
    assert {s.post.title: s.reason for s in selection.skipped} == {
        "zu-alt": SkipReason.TOO_OLD,
        "ohne": SkipReason.UNDATED,
        "gesendet": SkipReason.ALREADY_SENT,
        "gleiche id": SkipReason.DUPLICATE,
        "gleiche-url": SkipReason.DUPLICATE,
    }


def test_a_post_already_sent_is_recognised_by_its_url_too() -> None:
    sent = SentHistory(KnownPosts(frozenset(), frozenset({"https://www.example.org/x"})), None)
    selection = select_posts([post("x", 12)], since=SINCE, history=sent)
    assert selection.skipped[0].reason is SkipReason.ALREADY_SENT


def test_category_filter_ignores_case() -> None:
    posts = [post("rad", 5, categories=("Verkehr",)), post("baum", 6, categories=("Umwelt",))]
    assert reasons(posts, category="verkehr") == {"baum": SkipReason.CATEGORY}


def test_posts_without_url_are_never_duplicates_of_each_other() -> None:
    posts = [post("a", 5, url=""), post("b", 6, url="")]
    assert reasons(posts) == {}


def test_cutoff_since_days_last_send_or_thirty_days() -> None:
    last_sent = datetime(2026, 11, 3, 8, 0, tzinfo=BERLIN)
    assert cutoff(GatherRequest(since=date(2026, 11, 5)), last_sent, NOW) == datetime(
        2026, 11, 5, tzinfo=BERLIN
    )
    assert cutoff(GatherRequest(days=7), last_sent, NOW) == datetime(2026, 11, 13, tzinfo=BERLIN)
    assert cutoff(GatherRequest(), last_sent, NOW) == last_sent
    assert cutoff(GatherRequest(), None, NOW) == datetime(2026, 10, 21, tzinfo=BERLIN)


def test_merge_keeps_staff_posts_as_they_are_and_appends_new_ones() -> None:
    edited = Post(
        id="id-a",
        title="Von Hand geändert",
        url="https://www.example.org/a",
        date=None,
        summary="eigener Text",
    )
    kept_only_by_staff = post("eigener", 3)
    gathered = [
        PostKey("id-a", "https://www.example.org/a"),
        PostKey("id-weg", "https://www.example.org/weg"),
    ]
    taken = [post("neu", 15), post("a", 9), post("weg", 8)]
    merged = merge_posts([kept_only_by_staff, edited], gathered, taken)
    assert [p.title for p in merged.posts] == ["eigener", "Von Hand geändert", "neu"]
    assert [p.title for p in merged.added] == ["neu"]
    assert [(s.post.title, s.reason) for s in merged.removed] == [("weg", SkipReason.REMOVED)]


def test_summary_is_about_sixty_words_cut_at_a_word() -> None:
    text = " ".join(f"Wort{n}," for n in range(100))
    summary = summarise(text)
    assert summary.endswith("Wort59 …")
    assert len(summary.split()) == 61
    assert summarise("Kurz und gut.") == "Kurz und gut."
