"""Why bounce mail stopped (or counts against) an address: for ``members show ADDRESS``."""

from __future__ import annotations

from newsletter import store
from newsletter.store.bounces import Decision, records_for

_DECISIONS = {
    Decision.BOUNCED: "marked bounced: no more mail to this address",
    Decision.COUNTED: "temporary failure, counted",
    Decision.UNSUBSCRIBED: "abuse complaint: unsubscribed from every list",
    Decision.IGNORED: "ignored",
}
_KINDS = {"permanent": "permanent failure", "temporary": "temporary failure"}


def bounce_history(db: store.Database, email: str) -> list[str]:
    """One line per bounce mail applied to the (normalised) address, oldest first:
    its date, the issue, the server's code and words, and what was decided."""
    lines = []
    for entry in records_for(db, email):
        about = f"issue {entry.issue}" if entry.issue else "no issue known"
        kind = _KINDS.get(entry.kind, entry.kind.replace("_", " "))
        detail = " ".join(part for part in (entry.code, entry.text) if part)
        reported = entry.reported_at.astimezone()
        lines.append(
            f"{reported:%Y-%m-%d}: {kind} ({about})"
            + (f": {detail}" if detail else "")
            + f" -> {_DECISIONS[entry.decision]}"
        )
    return lines
