"""Worker processes made by fork: where they are possible, and how a worker behaves.

Two stages hand work to forked workers (gather reads each source in one, send signs
DKIM in one). A forked worker shares everything its parent has loaded and starts in
milliseconds; without fork (Windows; macOS, whose system libraries do not survive it) a
worker would start Python and import everything again, which costs more than it saves
here, so there the work stays in the parent process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import suppress

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_CHECK_SECONDS = 1.0


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def become_worker(parent: int) -> None:
    """First thing in a forked worker: end with the parent, leave Ctrl-C to it."""
    _end_with_parent(parent)
    # Ctrl-C reaches the whole process group; the parent alone answers it and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _end_with_parent(parent: int) -> None:
    """The worker ends when the process that forked it does, even by kill -9.

    Otherwise it would work on for nobody, or wait for ever on a pipe that other
    workers, forked with copies of its ends, keep open. Linux kills it at once
    (PR_SET_PDEATHSIG); elsewhere a thread notices that its parent has changed.
    """
    if sys.platform == "linux":
        with suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Also when the parent died before the line above: the worker then has a new parent.
    if os.getppid() != parent:
        os._exit(1)
    if sys.platform != "linux":

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(_PARENT_CHECK_SECONDS)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
