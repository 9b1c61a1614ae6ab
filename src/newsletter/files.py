"""Writing files so that a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``.

    ``private`` makes the file readable by its owner only (secrets); on Windows the
    mode is ignored and the user's profile permissions apply.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file owner-only; ordinary files get the usual rw-r--r--.
        Path(tmp).chmod(0o600 if private else 0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    # newline="\n" everywhere: files must not change when a Windows PC edits a workspace.
    write_bytes_atomic(path, text.encode("utf-8"), private=private)
