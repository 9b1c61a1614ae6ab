"""A send run by the desk: ``run_send`` in a thread of the desk's process, under the same
lock and journal as ``newsletter send``, with a stop that lets the messages in flight
finish (Anhalten). What the progress view shows comes from the journal, so it is right
after a reload, a closed tab, or for a send the CLI runs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from newsletter.deliver.sender import Progress
from newsletter.desk.work import now
from newsletter.errors import NewsletterError
from newsletter.sending import SendPlan, run_send

log = logging.getLogger("newsletter.desk")


class JobState(StrEnum):
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    DONE = "done"
    FAILED = "failed"


@dataclass
class SendJob:
    plan: SendPlan
    password: str | None
    started: float = field(default_factory=time.monotonic)
    state: JobState = JobState.RUNNING
    progress: Progress | None = None
    error: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"send-{self.plan.slug}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self.state is JobState.RUNNING:
            self.state = JobState.STOPPING
            self._stop.set()

    def wait(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def active(self) -> bool:
        return self.state in (JobState.RUNNING, JobState.STOPPING)

    def per_minute(self) -> float:
        accepted = self.progress.accepted if self.progress else 0
        elapsed = time.monotonic() - self.started
        return accepted / elapsed * 60 if elapsed > 1 else 0.0

    def _update(self, progress: Progress) -> None:
        self.progress = progress

    def _run(self) -> None:
        try:
            result = run_send(
                self.plan, self.password, progress=self._update, clock=now, stop=self._stop.is_set
            )
        except NewsletterError as error:
            self.error = str(error)
            self.state = JobState.FAILED
            return
        except Exception as error:  # the desk goes on; the journal is as the sender left it
            log.exception("the send of %s stopped with an unexpected error", self.plan.slug)
            self.error = f"{type(error).__name__}: {error}"
            self.state = JobState.FAILED
            return
        stopped = self._stop.is_set() and bool(result.status.unfinished)
        self.state = JobState.STOPPED if stopped else JobState.DONE
