"""Filling members' messages of the sample issue: speed and memory.

    .venv/bin/python bench/messages_fill.py            # 10,000 fills, 5 rounds; DKIM; memory
    .venv/bin/python bench/messages_fill.py --quick    # 1 round, memory for 1,000 and 10,000 only

Renders ``issues/2026-11`` with the render pipeline (in memory, nothing written), builds
its message template once, then fills it for generated members: German names with and
without umlauts, some very long, an emoji, several domains, one internationalised. Goals:
10,000 fills under 1 s; peak memory (tracemalloc) the same for 1,000, 10,000 and
100,000 members when the messages are streamed (each filled, measured, dropped), as
``send`` and ``send --dry-run`` use them. DKIM signing is timed on its own: it is
optional and costs far more than the fill.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.issue import load_issue
from newsletter.messages.dryrun import dry_run
from newsletter.messages.signing import load_signer
from newsletter.messages.template import MessageTemplate, build_template
from newsletter.render.email import render_email
from newsletter.settings import DkimSettings
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
ISSUE = "2026-11"
KEY = b"bench-unsubscribe-key-0123456789abcdef"
FILLS = 10_000
DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)

_FIRST = ["Erika", "Jörg", "Anna", "Jürgen", "Lena", "Hans-Peter", "Zoë", "Mehmet", "Ute", "Björn"]
_LAST = ["Mustermann", "Müller", "Schmidt", "Weiß", "Öztürk", "Becker", "Groß", "Nguyen"]
_DOMAINS = ["gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de", "bücher.example"]


def members(count: int) -> Iterator[Member]:
    """Generated lazily, like the journal's pages: memory must not depend on ``count``."""
    for n in range(count):
        first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
        if n % 97 == 0:
            last = "von und zu " + "-".join(_LAST)  # very long
        if n % 101 == 0:
            first = "Sonne 🌻"
        by_name = n % 3 == 0  # some lists have one "name" column instead
        yield Member(
            subscription_id=f"{n:022d}",
            member_id=n,
            # Umlauts before the @ are rare (and need SMTPUTF8): one member in a thousand.
            email=f"{'jörg' if n % 1000 == 7 else 'm'}.{n}@{_DOMAINS[n % len(_DOMAINS)]}",
            first_name="" if by_name else first,
            last_name="" if by_name else last,
            name=f"{first} {last}" if by_name else "",
        )


def sample_template() -> MessageTemplate:
    workspace = Workspace(REPO)
    issue = load_issue(workspace.issues_dir / ISSUE)
    email = render_email(issue, workspace.settings, workspace.templates_dir).email
    return build_template(
        email,
        workspace.settings.newsletter,
        issue=ISSUE,
        list_name=issue.list_name or workspace.settings.newsletter.default_list,
        unsubscribe_key=KEY,
    )


def timed_fills(template: MessageTemplate, count: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``count`` fills; the members are made beforehand."""
    batch = list(members(count))
    start, start_cpu = time.perf_counter(), time.process_time()
    for member in batch:
        template.fill(member, date=DATE)
    return time.perf_counter() - start, time.process_time() - start_cpu


def peak_memory(template: MessageTemplate, count: int) -> int:
    """Peak bytes allocated while a dry run streams ``count`` members' messages."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    dry_run(template, members(count), date=DATE)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def signing_template(template: MessageTemplate, *, ed25519_too: bool) -> MessageTemplate:
    keys: dict[str, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey] = {
        "dkim.pem": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ed.pem": ed25519.Ed25519PrivateKey.generate(),
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, key in keys.items():
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            (Path(folder) / name).write_bytes(pem)
        ed = Path(folder) / "ed.pem" if ed25519_too else None
        settings = DkimSettings("bench", "example.org", Path(folder) / "dkim.pem", ed)
        signer = load_signer(settings)
    return MessageTemplate(**{**template.__dict__, "signer": signer})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, smaller memory runs")
    quick = parser.parse_args().quick

    start = time.perf_counter()
    template = sample_template()
    size = len(template.fill(next(members(1)), date=DATE).envelope.data)
    print(f"render + template: {time.perf_counter() - start:.2f} s; a message is {size:,} bytes")

    rounds = [timed_fills(template, FILLS) for _ in range(1 if quick else 5)]
    wall = statistics.median(r[0] for r in rounds)
    cpu = statistics.median(r[1] for r in rounds)
    print(
        f"{FILLS:,} fills: median {wall:.3f} s (CPU {cpu:.3f} s, {cpu / FILLS * 1e6:.0f} µs "
        f"per message), max {max(r[0] for r in rounds):.3f} s over {len(rounds)} rounds "
        "(goal: < 1 s)"
    )

    fill_cpu = cpu / FILLS
    for label, ed25519_too in (("RSA 2048", False), ("RSA 2048 + Ed25519", True)):
        signed = signing_template(template, ed25519_too=ed25519_too)
        dkim_wall, dkim_cpu = timed_fills(signed, 2000)
        signing = dkim_cpu / 2000 - fill_cpu
        print(
            f"with DKIM ({label}): {dkim_cpu / 2000 * 1e3:.2f} ms CPU per message, of it "
            f"signing {signing * 1e3:.2f} ms ({dkim_wall:.2f} s for 2,000; goal: signing ≤ 1 ms)"
        )

    counts = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    peaks = {count: peak_memory(template, count) for count in counts}
    print(
        "peak memory streaming: "
        + ", ".join(f"{count:,}: {peak / 2**20:.2f} MiB" for count, peak in peaks.items())
        + f" ({peaks[counts[-1]] / peaks[counts[0]]:.2f} ×)"
    )


if __name__ == "__main__":
    main()
