"""A folder of posts: each file read by the reader for its format.

A file that cannot be read is left out and listed with the reason; the other posts still
come in. Files of other kinds (pictures, notes) and hidden files are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from newsletter.errors import SourceError
from newsletter.settings import SourceSettings
from newsletter.sources.contract import (
    PostFile,
    PostFileReader,
    SourceResult,
    Unreadable,
    read_post,
)
from newsletter.sources.markdown_post import read_markdown_post
from newsletter.sources.page_export import read_page_export
from newsletter.textfile import decode_text

# Limits on work start with bytes: a post of a few pages is a few KB.
MAX_POST_BYTES = 2 * 1024 * 1024

READERS: dict[str, PostFileReader] = {
    ".md": read_markdown_post,
    ".markdown": read_markdown_post,
    ".txt": read_page_export,
}


def read_text(path: Path) -> str:
    """UTF-8 (with or without BOM); else Windows-1252, which Notepad on German PCs writes."""
    data = path.read_bytes()
    try:
        return decode_text(data)
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@dataclass(frozen=True)
class FolderSource:
    settings: SourceSettings
    label: str
    site_url: str

    def _files(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise SourceError(
                f'folder source "{self.label}": {folder} {what}',
                'create the folder or fix "path" of this source in newsletter.toml',
                key="source_folder_is_file" if folder.exists() else "source_folder_missing",
                params={"label": self.label, "path": folder},
            )
        return sorted(
            path
            for path in folder.rglob("*")
            if path.suffix.lower() in READERS
            and path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )

    def collect(self, since: datetime | None = None) -> SourceResult:
        assert self.settings.path is not None
        folder = self.settings.path
        posts, unreadable = [], []
        for path in self._files(folder):
            name = (Path(folder.name) / path.relative_to(folder)).as_posix()
            try:
                too_big = path.stat().st_size > MAX_POST_BYTES
                text = "" if too_big else read_text(path)
            except OSError as error:
                unreadable.append(Unreadable(name, f"cannot be read ({error.strerror})"))
                continue
            if too_big:
                limit = f"{MAX_POST_BYTES // 1024 // 1024} MB"
                unreadable.append(Unreadable(name, f"larger than {limit}; no post is that long"))
                continue
            file = PostFile(name, text, self.site_url, self.label, since)
            post = read_post(name, partial(READERS[path.suffix.lower()], file))
            if isinstance(post, Unreadable):
                unreadable.append(post)
            elif post is not None:
                posts.append(post)
        return SourceResult(label=self.label, posts=tuple(posts), unreadable=tuple(unreadable))
