"""Fetching a feed over HTTP: timeouts, a size limit and a conditional-request cache.

The cache lives in the workspace's state folder (``.newsletter/feeds/``): per feed
address the last body and its ETag/Last-Modified, so an unchanged feed costs the
server one 304 and us nothing.

The standard library's urllib, not httpx: one GET needs nothing more, and importing httpx
and building its TLS context took 0.3 s of every gather (bench/gather_sources.py).
urllib also follows the system's proxy settings (environment, and the Windows registry)
and verifies certificates against the system's store. Its one timeout is split here
into a connect timeout and a read timeout (each wait for data), and a deadline for the
whole download holds besides: a server that sends a byte every few seconds never
reaches a read timeout. Feeds are asked for gzip-compressed; the size limit holds for
what they unpack to as well, and a compressed body that is cut off is an error.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from pathlib import Path
from typing import Any

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.files import write_bytes_atomic, write_text_atomic

_MB = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 20 * _MB
    # For everything from the request to the last byte: a 20 MB feed over a slow office
    # line takes a fraction of this.
    total_timeout: float = 60.0


@dataclass(frozen=True)
class Fetched:
    data: bytes
    from_cache: bool


@dataclass(frozen=True)
class _CacheEntry:
    body: Path
    meta: Path

    def validators(self) -> dict[str, str]:
        """The conditional-request headers, only when the body they describe is there."""
        if not (self.body.is_file() and self.meta.is_file()):
            return {}
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        headers = {"If-None-Match": meta.get("etag"), "If-Modified-Since": meta.get("modified")}
        return {name: value for name, value in headers.items() if isinstance(value, str)}

    def store(self, url: str, headers: Message, data: bytes) -> None:
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        if not (etag or modified):
            return
        write_bytes_atomic(self.body, data)
        meta = {"url": url, "etag": etag, "modified": modified}
        write_text_atomic(self.meta, json.dumps(meta, indent=2) + "\n")


def _cache_entry(cache_dir: Path, url: str) -> _CacheEntry:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return _CacheEntry(cache_dir / f"{key}.xml", cache_dir / f"{key}.json")


class _ConnectTimeoutError(TimeoutError):
    """The server did not take the connection in time (as opposed to a slow answer)."""


class _DeadlineError(TimeoutError):
    """The whole download took longer than ``FetchLimits.total_timeout``."""


class _DeadlineReads(io.RawIOBase):
    """A socket's reads, each waiting at most ``read_timeout`` and none past ``deadline``."""

    def __init__(self, sock: socket.socket, read_timeout: float, deadline: float) -> None:
        self.raw = sock.makefile("rb", buffering=0)
        self.sock, self.read_timeout, self.deadline = sock, read_timeout, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlineError("deadline reached")
        wait = min(self.read_timeout, remaining)
        self.sock.settimeout(wait)
        try:
            return self.raw.readinto(buffer)
        except TimeoutError:
            if wait < self.read_timeout:
                raise _DeadlineError("deadline reached") from None
            raise

    def close(self) -> None:
        self.raw.close()
        super().close()


class _DeadlineSocket:
    """The connected socket as http.client sees it: what it reads goes by the deadline."""

    def __init__(self, sock: socket.socket, read_timeout: float, deadline: float) -> None:
        self._sock, self._read_timeout, self._deadline = sock, read_timeout, deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        # http.client reads the status line, headers and body through this one file.
        return io.BufferedReader(_DeadlineReads(self._sock, self._read_timeout, self._deadline))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)  # sendall, close, ...


class _SplitTimeouts:
    """Connects within the connection's ``timeout``, then waits ``read_timeout`` for data,
    and reads nothing after ``deadline`` (a time.monotonic())."""

    read_timeout: float
    deadline: float
    sock: Any

    def connect(self) -> None:
        try:
            super().connect()  # type: ignore[misc]
        except TimeoutError as error:
            raise _ConnectTimeoutError(str(error)) from error
        self.sock.settimeout(self.read_timeout)
        self.sock = _DeadlineSocket(self.sock, self.read_timeout, self.deadline)


class _HTTPConnection(_SplitTimeouts, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_SplitTimeouts, http.client.HTTPSConnection):
    pass


def _opener(read_timeout: float, deadline: float) -> urllib.request.OpenerDirector:
    def connection(kind: type[_SplitTimeouts]) -> Any:
        def make(host: str, **options: Any) -> Any:
            made = kind(host, **options)  # type: ignore[call-arg]
            made.read_timeout = read_timeout
            made.deadline = deadline  # the same for every redirect
            return made

        return make

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(_HTTPConnection), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(_HTTPSConnection), req, context=self._context)  # type: ignore[attr-defined]

    # Exactly these handlers: no file:, ftp: or data: addresses, not even by a redirect.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        HTTP(),
        HTTPS(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _describe_status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def fetch(url: str, label: str, cache_dir: Path, limits: FetchLimits) -> Fetched:
    """The feed's bytes, from the server or, when it answers 304, from the cache."""
    where = f'feed "{label}"'
    fix = 'check "url" of this source in newsletter.toml'
    cache = _cache_entry(cache_dir, url)
    validators = cache.validators()
    headers = {
        "User-Agent": f"newsletter/{__version__}",
        # Feeds are text: compressed, a big one is a fifth of the download.
        "Accept-Encoding": "gzip",
        **validators,
    }
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (_opener: http(s) only)
    opener = _opener(limits.read_timeout, time.monotonic() + limits.total_timeout)
    try:
        with opener.open(request, timeout=limits.connect_timeout) as response:
            data = _read_limited(response, limits.max_bytes, label)
            final_url, answered = response.url, response.headers
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == HTTPStatus.NOT_MODIFIED and validators:
            try:
                return Fetched(cache.body.read_bytes(), from_cache=True)
            except OSError as unreadable:
                raise SourceError(
                    f"{where}: the cached copy cannot be read ({unreadable})",
                    key="feed_cache_unreadable",
                    params={"label": label, "reason": unreadable.strerror or str(unreadable)},
                ) from None
        # A redirect urllib does not follow (to file:, or in a loop) says why in its reason.
        redirect = 300 <= error.code < 400
        answer = f"{error.code} {error.reason}" if redirect else _describe_status(error.code)
        raise SourceError(
            f"{where}: {url} answered {answer}",
            fix,
            key="feed_answered",
            params={"label": label, "url": url, "answer": answer},
        ) from None
    except (urllib.error.URLError, TimeoutError, http.client.HTTPException, OSError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(reason, _DeadlineError):
            raise SourceError(
                f"{where}: {url} did not send the whole feed within "
                f"{limits.total_timeout:g} seconds",
                f"the server is very slow: try again later or {fix}",
                key="feed_too_slow",
                params={"label": label, "url": url, "seconds": f"{limits.total_timeout:g}"},
            ) from None
        if isinstance(reason, TimeoutError):
            kind = "connect" if isinstance(reason, _ConnectTimeoutError) else "read"
            seconds = limits.connect_timeout if kind == "connect" else limits.read_timeout
            raise SourceError(
                f"{where}: {url} did not answer within {seconds:g} seconds ({kind} timeout)",
                f"try again later or {fix}",
                key="feed_timeout",
                params={"label": label, "url": url, "seconds": f"{seconds:g}"},
            ) from None
        raise SourceError(
            f"{where}: cannot fetch {url} ({reason})",
            fix,
            key="feed_unreachable",
            params={"label": label, "url": url, "reason": str(reason)},
        ) from None
    cache.store(final_url, answered, data)
    return Fetched(data, from_cache=False)


def _read_limited(response: http.client.HTTPResponse, max_bytes: int, label: str) -> bytes:
    """The body, uncompressed; the size limit holds for what it unpacks to as well."""
    where = f'feed "{label}"'
    limit = SourceError(
        f"{where}: larger than the limit of {max_bytes / _MB:g} MB",
        "a feed that big is not a news feed; check the address",
        key="feed_too_large",
        params={"label": label, "most": f"{max_bytes / _MB:g} MB"},
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise limit
    chunks, size = [], 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise limit
        chunks.append(chunk)
    data = b"".join(chunks)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        return data
    server_fault = "the website's server is at fault: try again later or tell its maintainers"
    if encoding not in ("gzip", "x-gzip"):
        raise SourceError(
            f"{where}: the server sent the feed encoded as {encoding!r}, not gzip",
            server_fault,
            key="feed_bad_encoding",
            params={"label": label, "encoding": encoding},
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, max_bytes + 1)
    except zlib.error as error:
        raise SourceError(
            f"{where}: the compressed feed is damaged ({error})",
            server_fault,
            key="feed_damaged",
            params={"label": label, "reason": str(error)},
        ) from None
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise limit
    if not inflater.eof:
        # zlib returns what it could unpack of a cut-off body, even nothing, and no error.
        raise SourceError(
            f"{where}: the compressed feed ends before its end (the download was cut off)",
            server_fault,
            key="feed_cut_off",
            params={"label": label},
        )
    return body
