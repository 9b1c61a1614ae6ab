"""Feeds over HTTP from a real local server: cache and 304, and each failure one clear error."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.settings import SourceSettings, SourceType
from newsletter.sources.feed import FeedSource
from newsletter.sources.fetch import FetchLimits, fetch

from .test_gather_support import FEEDS, SITE_URL, FeedServer

FAST = FetchLimits(connect_timeout=1.0, read_timeout=0.3, max_bytes=1024 * 1024, total_timeout=1.5)


def feed(url: str, cache: Path) -> FeedSource:
    settings = SourceSettings(type=SourceType.FEED, url=url, path=None, name=None)
    return FeedSource(settings, url, SITE_URL, cache, FAST)


def test_a_feed_over_http_resolves_links_against_its_own_address(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.url("feeds/relative.xml")
    (post,) = feed(url, tmp_path).collect().posts
    assert post.url == f"{server.url('briefe/november')}"


def test_second_fetch_is_conditional_and_a_304_reads_the_cache(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.url("feeds/rss20.xml")
    first = fetch(url, "rss", tmp_path, FAST)
    second = fetch(url, "rss", tmp_path, FAST)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.data == first.data == (FEEDS / "rss20.xml").read_bytes()
    (_, first_headers), (_, second_headers) = server.requests
    assert "If-None-Match" not in first_headers
    assert second_headers["If-None-Match"].startswith('"')


def test_a_lost_cache_means_a_plain_request_again(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("feeds/rss20.xml")
    fetch(url, "rss", tmp_path, FAST)
    for cached in tmp_path.glob("*.xml"):
        cached.unlink()
    again = fetch(url, "rss", tmp_path, FAST)
    assert not again.from_cache
    assert "If-None-Match" not in server.requests[-1][1]


def test_404_names_the_source_and_the_fix(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("feeds/gibt-es-nicht.xml")
    with pytest.raises(SourceError) as caught:
        feed(url, tmp_path).collect()
    assert str(caught.value) == (
        f'feed "{url}": {url} answered 404 Not Found; check "url" of this source in newsletter.toml'
    )
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_does_not_answer_in_time(tmp_path: Path) -> None:
    with FeedServer(delay=2.0) as slow:
        url = slow.url("slow/rss20.xml")
        with pytest.raises(SourceError) as caught:
            feed(url, tmp_path).collect()
    assert str(caught.value) == (
        f'feed "{url}": {url} did not answer within 0.3 seconds (read timeout); '
        'try again later or check "url" of this source in newsletter.toml'
    )


def test_a_server_that_does_not_take_the_connection(tmp_path: Path) -> None:
    # A listening socket whose queue is full: the kernel leaves further connects hanging.
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        waiting = [socket.socket() for _ in range(4)]
        for client in waiting:
            client.setblocking(False)
            client.connect_ex(full.getsockname())
        url = f"http://127.0.0.1:{full.getsockname()[1]}/rss.xml"
        limits = FetchLimits(connect_timeout=0.3, read_timeout=5.0)
        with pytest.raises(SourceError) as caught:
            fetch(url, "rss", tmp_path, limits)
        for client in waiting:
            client.close()
    assert str(caught.value).startswith(
        f'feed "rss": {url} did not answer within 0.3 seconds (connect timeout); try again later'
    )


def test_a_moved_feed_is_followed(server: FeedServer, tmp_path: Path) -> None:
    fetched = fetch(server.url("moved/rss20.xml"), "rss", tmp_path, FAST)
    assert fetched.data == (FEEDS / "rss20.xml").read_bytes()
    assert [path for path, _ in server.requests] == ["/moved/rss20.xml", "/feeds/rss20.xml"]


def test_a_redirect_to_a_local_file_is_refused(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("elsewhere/etc/hostname")
    with pytest.raises(
        SourceError,
        match=r"answered 302 Found - Redirection to url 'file:///etc/hostname' is not allowed;",
    ):
        fetch(url, "rss", tmp_path, FAST)
    assert list(tmp_path.iterdir()) == []


def test_a_compressed_feed_is_asked_for_and_unpacked(server: FeedServer, tmp_path: Path) -> None:
    fetched = fetch(server.url("gzip/rss20.xml"), "rss", tmp_path, FAST)
    assert fetched.data == (FEEDS / "rss20.xml").read_bytes()
    assert "gzip" in server.requests[-1][1]["Accept-Encoding"]


def test_a_feed_that_unpacks_past_the_size_limit_is_refused(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.url(f"bomb/{3 * 1024 * 1024}")
    with pytest.raises(SourceError) as caught:
        fetch(url, "rss", tmp_path, FAST)
    assert str(caught.value).startswith('feed "rss": larger than the limit of 1 MB;')
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("encoding", "problem"),
    [
        (
            "gzip",
            "the compressed feed is damaged (Error -3 while decompressing data: incorrect header check)",
        ),
        ("br", "the server sent the feed encoded as 'br', not gzip"),
    ],
)
def test_a_feed_in_an_encoding_that_cannot_be_unpacked_is_one_clear_error(
    server: FeedServer, tmp_path: Path, encoding: str, problem: str
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(server.url(f"encoded/{encoding}"), "rss", tmp_path, FAST)
    assert str(caught.value) == (
        f'feed "rss": {problem}; the website\'s server is at fault: try again later or tell '
        "its maintainers"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_html_page_is_not_a_feed(server: FeedServer, tmp_path: Path) -> None:
    url = server.url("feeds/page.html")
    with pytest.raises(SourceError, match=r"is a web page, not an RSS or Atom feed; use the"):
        feed(url, tmp_path).collect()


def test_a_feed_over_the_size_limit_is_refused(server: FeedServer, tmp_path: Path) -> None:
    url = server.url(f"big/{2 * 1024 * 1024}")
    with pytest.raises(SourceError) as caught:
        feed(url, tmp_path).collect()
    assert str(caught.value).startswith(f'feed "{url}": larger than the limit of 1 MB;')


def test_nobody_listening(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rss.xml"
    with pytest.raises(SourceError) as caught:
        feed(url, tmp_path).collect()
    message = str(caught.value)
    assert message.startswith(f'feed "{url}": cannot fetch {url} (')
    assert message.endswith('; check "url" of this source in newsletter.toml')
    assert "\n" not in message


def test_a_server_that_trickles_is_given_up_at_the_overall_deadline(tmp_path: Path) -> None:
    # Each byte comes well within the read timeout; without a deadline this never ends.
    with FeedServer(delay=0.05) as trickling:
        url = trickling.url("trickle/")
        started = time.monotonic()
        with pytest.raises(SourceError) as caught:
            feed(url, tmp_path).collect()
        assert time.monotonic() - started < 3.0
    assert str(caught.value) == (
        f'feed "{url}": {url} did not send the whole feed within 1.5 seconds; the server is '
        'very slow: try again later or check "url" of this source in newsletter.toml'
    )
    assert list(tmp_path.iterdir()) == []


def test_the_overall_deadline_has_a_default() -> None:
    limits = FetchLimits()
    assert limits.read_timeout < limits.total_timeout <= 120


@pytest.mark.parametrize("size", [5, 200])
def test_a_truncated_compressed_feed_is_the_servers_fault_not_an_empty_feed(
    server: FeedServer, tmp_path: Path, size: int
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(server.url(f"truncated/{size}/rss20.xml"), "rss", tmp_path, FAST)
    assert str(caught.value) == (
        'feed "rss": the compressed feed ends before its end (the download was cut off); '
        "the website's server is at fault: try again later or tell its maintainers"
    )
    assert list(tmp_path.iterdir()) == []
