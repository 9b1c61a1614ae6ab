"""Fetching a feed over HTTP: timeouts, a size limit and a conditional-request cache.

The cache lives in the workspace's state folder (``.newsletter/feeds/``): per feed
address the last body and its ETag/Last-Modified, so an unchanged feed costs the
server one 304 and us nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import httpx

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.files import write_bytes_atomic, write_text_atomic

_MB = 1024 * 1024


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 20 * _MB


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

    def store(self, response: httpx.Response, data: bytes) -> None:
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if not (etag or modified):
            return
        write_bytes_atomic(self.body, data)
        meta = {"url": str(response.url), "etag": etag, "modified": modified}
        write_text_atomic(self.meta, json.dumps(meta, indent=2) + "\n")


def _cache_entry(cache_dir: Path, url: str) -> _CacheEntry:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return _CacheEntry(cache_dir / f"{key}.xml", cache_dir / f"{key}.json")


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
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    validators = cache.validators()
    headers = {"User-Agent": f"newsletter/{__version__}", **validators}
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code == HTTPStatus.NOT_MODIFIED and validators:
                return Fetched(cache.body.read_bytes(), from_cache=True)
            if response.status_code != HTTPStatus.OK:
                raise SourceError(
                    f"{where}: {url} answered {_describe_status(response.status_code)}", fix
                )
            data = _read_limited(response, limits.max_bytes, where)
    except httpx.TimeoutException as error:
        kind = "connect" if isinstance(error, httpx.ConnectTimeout) else "read"
        seconds = limits.connect_timeout if kind == "connect" else limits.read_timeout
        raise SourceError(
            f"{where}: {url} did not answer within {seconds:g} seconds ({kind} timeout)",
            f"try again later or {fix}",
        ) from None
    except httpx.HTTPError as error:
        raise SourceError(f"{where}: cannot fetch {url} ({error})", fix) from None
    except OSError as error:
        raise SourceError(f"{where}: the cached copy cannot be read ({error})") from None
    cache.store(response, data)
    return Fetched(data, from_cache=False)


def _read_limited(response: httpx.Response, max_bytes: int, where: str) -> bytes:
    limit = f"larger than the limit of {max_bytes / _MB:g} MB"
    hint = "a feed that big is not a news feed; check the address"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(f"{where}: {limit}", hint)
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(f"{where}: {limit}", hint)
        chunks.append(chunk)
    return b"".join(chunks)
