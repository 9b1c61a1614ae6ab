"""A fault hook for crash tests: die like kill -9 at a chosen point of a real send.

``NEWSLETTER_FAULT="after-250:3"`` kills the process when the 3rd message has been
accepted by the server and before the journal has recorded it: the one moment an
ordinary test cannot hit. The points: ``before-data`` (the batch is committed as
``sending``, nothing written yet), ``after-data`` (a message's content is written, its
reply not read) and ``after-250``. The variable is read here and nowhere else.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

FAULT_VARIABLE = "NEWSLETTER_FAULT"


class FaultHook:
    def __init__(self, spec: str | None) -> None:
        self._point: str | None = None
        self._at = 0
        if spec:
            point, _, count = spec.partition(":")
            self._point, self._at = point, int(count or "1")
        self._seen: Counter[str] = Counter()

    @classmethod
    def from_environment(cls) -> FaultHook:
        return cls(os.environ.get(FAULT_VARIABLE))

    def reached(self, point: str) -> None:
        if point != self._point:
            return
        self._seen[point] += 1
        if self._seen[point] == self._at:
            # SIGKILL where it exists: no cleanup, no flush, exactly like kill -9.
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
