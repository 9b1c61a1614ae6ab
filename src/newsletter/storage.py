"""Where a database must not live: network shares, network file systems, synced folders.

SQLite's locking (and WAL above all) is unreliable there. A check on the file system,
not on the database, so it sits in the foundation and the store keeps only SQL.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePath

_NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "9p", "afs",
        "ceph", "glusterfs", "fuse.glusterfs", "davfs", "fuse.davfs2", "fuse.rclone",
        "fuse.s3fs", "lustre", "gpfs", "virtiofs", "vboxsf", "fuse.vmhgfs-fuse",
    }
)  # fmt: skip
_SYNCED_FOLDERS = (
    "dropbox", "onedrive", "nextcloud", "owncloud", "icloud drive", "iclouddrive",
    "mobile documents", "google drive", "googledrive", "cloudstorage", "seafile", "pcloud",
)  # fmt: skip
_LOCAL_ADVICE = "keep it on a local disk: change [database] path in newsletter.toml"


def storage_warning(path: Path, mounts: Path = Path("/proc/mounts")) -> str | None:
    """Say why ``path`` is a bad place for the database, or None when it looks local."""
    text = str(path)
    if text.startswith(("\\\\", "//")):
        return f"the database {path} is on a network share; {_LOCAL_ADVICE}"
    for part in PurePath(path).parts:
        lowered = part.lower()
        if lowered.startswith(_SYNCED_FOLDERS):
            return (
                f'the database {path} is in a synced folder ("{part}"): syncing can corrupt '
                f"it; {_LOCAL_ADVICE}"
            )
    filesystem = _mount_type(path, mounts)
    if filesystem in _NETWORK_FILESYSTEMS:
        return f"the database {path} is on a network file system ({filesystem}); {_LOCAL_ADVICE}"
    if _is_windows_network_drive(path):
        return f"the database {path} is on a network drive; {_LOCAL_ADVICE}"
    return None


def _mount_type(path: Path, mounts: Path) -> str | None:
    """The file system type of the mount holding ``path``, from /proc/mounts (Linux only)."""
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target = path.resolve()
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        # /proc/mounts writes a space in a mount point as \040.
        mount_point = Path(fields[1].replace("\\040", " "))
        if (target == mount_point or mount_point in target.parents) and (
            best is None or len(mount_point.parts) >= best[0]
        ):
            best = (len(mount_point.parts), fields[2])
    return best[1] if best else None


def _is_windows_network_drive(path: Path) -> bool:
    if sys.platform == "win32":
        import ctypes

        drive_remote = 4  # GetDriveTypeW's DRIVE_REMOTE: a mapped network drive
        drive = path.resolve().drive
        return bool(drive) and ctypes.windll.kernel32.GetDriveTypeW(drive + "\\") == drive_remote
    return False
