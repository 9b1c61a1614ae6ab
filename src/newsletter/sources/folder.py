"""A folder of posts: each file read by the reader for its format.

A file that cannot be read becomes a warning; the other posts still come in.
Files of other kinds (pictures, notes) and hidden files are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.errors import SourceError
from newsletter.settings import SourceSettings
from newsletter.sources.contract import PostFile, PostFileReader, SourceResult
from newsletter.sources.markdown_post import read_markdown_post
from newsletter.sources.page_export import read_page_export
from newsletter.textfile import decode_text

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
        posts, warnings = [], []
        for path in self._files(folder):
            name = (Path(folder.name) / path.relative_to(folder)).as_posix()
            try:
                text = read_text(path)
                post = READERS[path.suffix.lower()](
                    PostFile(name, text, self.site_url, self.label, since)
                )
            except SourceError as error:
                warnings.append(f"{error}; the post was left out")
            except OSError as error:
                warnings.append(f"{name}: cannot be read ({error.strerror}); the post was left out")
            else:
                posts.append(post)
        return SourceResult(label=self.label, posts=tuple(posts), warnings=tuple(warnings))
