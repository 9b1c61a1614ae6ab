"""The real `newsletter send` command, end to end, next to Postfix's smtp-source.

Run: cd bench && ../.venv/bin/python send_command.py [--members 10000] [--concurrency 4] [--rounds 3] [--dkim]

``--dkim`` signs every message (an RSA-2048 key in the workspace, [dkim] set); with
``--ed25519`` an Ed25519 signature besides.

send_smtp_sink.py measures the sending engine with one prepared message; this one runs
the whole command a member list gets: a workspace with the sample issue rendered and
N members imported, `newsletter send ISSUE --yes` as its own process (start-up, summary,
snapshot, each member's message filled from the per-issue template, journal, SMTP) to
smtp-sink on 127.0.0.1, then smtp-source with messages of the same size over the same
number of connections, in rounds (each from a fresh copy of the workspace); the figure is
the median of the rounds' ratios. Needs the Debian package postfix (the daemon is never started).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.demo import demo_workspace
from send_smtp_sink import _free_port, _sink, _theirs

ISSUE = "2026-11"


def _run(workspace: Path, *args: str) -> None:
    command = [sys.executable, "-m", "newsletter", "--workspace", str(workspace), *args]
    subprocess.run(command, check=True, capture_output=True)


def _sign(workspace: Path, *, ed25519_too: bool) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    keys: dict[str, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey] = {
        "dkim.pem": rsa.generate_private_key(public_exponent=65537, key_size=2048)
    }
    table = '\n[dkim]\nselector = "bench"\ndomain = "example.org"\nkey_file = "dkim.pem"\n'
    if ed25519_too:
        keys["dkim-ed25519.pem"] = ed25519.Ed25519PrivateKey.generate()
        table += 'ed25519_key_file = "dkim-ed25519.pem"\n'
    for name, key in keys.items():
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (workspace / name).write_bytes(pem)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as settings:
        settings.write(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dkim", action="store_true", help="sign with an RSA key")
    parser.add_argument("--ed25519", action="store_true", help="with --dkim: Ed25519 too")
    options = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        prepared = demo_workspace(Path(folder) / "prepared", port)
        settings = prepared.settings_file.read_text(encoding="utf-8")
        settings = re.sub(r'(?m)^rate = ".*"$', 'rate = "1000000/s"', settings)
        settings = re.sub(
            r"(?m)^concurrency = \d+$", f"concurrency = {options.concurrency}", settings
        )
        prepared.settings_file.write_text(settings, encoding="utf-8")
        if options.dkim:
            _sign(prepared.root, ed25519_too=options.ed25519)
        members = prepared.root / "members.csv"
        members.write_text(
            "email,name\n"
            + "".join(
                f"mitglied{n:06d}@example.org,Erika Muster\n" for n in range(options.members)
            ),
            encoding="utf-8",
        )
        _run(prepared.root, "members", "import", str(members))
        _run(prepared.root, "render", ISSUE)
        size = len((prepared.issues_dir / ISSUE / "build" / "preview.eml").read_bytes())
        ratios, ours, theirs = [], [], []
        for number in range(1, options.rounds + 1):
            # Each round sends the issue for the first time, from a copy of the workspace.
            workspace = Path(folder) / f"round-{number}"
            shutil.copytree(prepared.root, workspace)
            sink = _sink(port)
            try:
                started = time.perf_counter()
                _run(workspace, "send", ISSUE, "--yes")
                ours.append(options.members / (time.perf_counter() - started))
                theirs.append(
                    options.members / _theirs(port, options.concurrency, options.members, size)
                )
            finally:
                sink.kill()
                sink.wait()
            ratios.append(ours[-1] / theirs[-1])
            print(
                f"round {number}: newsletter send {ours[-1]:.0f} msg/s, smtp-source {theirs[-1]:.0f} msg/s, {100 * ratios[-1]:.0f} %"
            )
    signed = (" + Ed25519" if options.ed25519 else "") if options.dkim else ""
    signed = f", DKIM RSA-2048{signed}" if options.dkim else ", unsigned"
    print(
        f"{options.members} members{signed}, messages of about {size} bytes, {options.concurrency} "
        f"connections, median of {options.rounds} rounds: newsletter send "
        f"{statistics.median(ours):.0f} msg/s, smtp-source {statistics.median(theirs):.0f} "
        f"msg/s, {100 * statistics.median(ratios):.0f} %"
    )


if __name__ == "__main__":
    main()
