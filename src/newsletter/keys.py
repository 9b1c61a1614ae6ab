"""The workspace's secret keys: they sign unsubscribe and confirmation links.

They live in the git-ignored secrets file (created on first use) or come from the
environment, never from newsletter.toml.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newsletter.errors import SettingsError
from newsletter.files import write_text_atomic
from newsletter.settings import unknown_key
from newsletter.textfile import parse_toml, read_text
from newsletter.workspace import Workspace

UNSUBSCRIBE_ENV = "NEWSLETTER_UNSUBSCRIBE_KEY"
CONFIRMATION_ENV = "NEWSLETTER_CONFIRMATION_KEY"
_KEY_NAMES = {"unsubscribe_key": UNSUBSCRIBE_ENV, "confirmation_key": CONFIRMATION_ENV}
_MIN_KEY_CHARS = 32

_HEADER = """\
# Secrets of this newsletter workspace. Keep this file private: never commit, mail or
# share it. Whoever has these keys can unsubscribe any member. To run `newsletter serve`
# on another machine, copy this file into that machine's workspace (see README).
"""


@dataclass(frozen=True)
class SigningKeys:
    unsubscribe: bytes
    confirmation: bytes


def new_secrets_text() -> str:
    lines = [f'{name} = "{secrets.token_hex(32)}"' for name in _KEY_NAMES]
    return _HEADER + "\n".join(lines) + "\n"


def load_keys(
    workspace: Workspace,
    on_create: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SigningKeys:
    """Keys from the environment, else the secrets file, which is created when missing."""
    env = os.environ if environ is None else environ
    path = workspace.secrets_file
    values: dict[str, str] = {}
    if not all(env.get(var) for var in _KEY_NAMES.values()):
        if not path.exists():
            write_text_atomic(path, new_secrets_text(), private=True)
            if on_create:
                on_create(f"Created {path} with new signing keys (keep it private, out of git).")
        try:
            values = parse_toml(read_text(path))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise SettingsError(
                f"{path}: not a valid secrets file: {error}",
                key="secrets_not_toml",
                params={"file": path, "reason": str(error)},
            ) from None
    for name in values:
        if name not in _KEY_NAMES:
            raise SettingsError(
                f"{path}: {unknown_key(name, tuple(_KEY_NAMES), path.name)}",
                key="secrets_unknown_key",
                params={"file": path, "name": name, "known": ", ".join(_KEY_NAMES)},
            )
    keys: dict[str, bytes] = {}
    for name, var in _KEY_NAMES.items():
        value = env.get(var) or values.get(name)
        if not isinstance(value, str) or len(value) < _MIN_KEY_CHARS:
            raise SettingsError(
                f"{path}: {name} is missing or shorter than {_MIN_KEY_CHARS} characters",
                f"set {var} or delete the file to get new keys (old unsubscribe links then stop working)",
                key="secrets_key_short",
                params={"file": path, "name": name, "most": _MIN_KEY_CHARS, "variable": var},
            )
        keys[name] = value.encode("utf-8")
    return SigningKeys(unsubscribe=keys["unsubscribe_key"], confirmation=keys["confirmation_key"])
