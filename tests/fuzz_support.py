"""What every fuzz test asserts: a result or a clear error, never anything else, in a budget.

Fuzz tests live in ``tests/test_fuzz_*.py`` and carry the ``fuzz`` mark. In CI and
``make test`` they run the ``ci`` Hypothesis profile (few examples, a few minutes in all);
``make fuzz`` runs them with the ``long`` profile (``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from newsletter.errors import NewsletterError

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How much one reader may spend on one input: wall time and Python heap at peak."""

    seconds: float = 5.0
    megabytes: float = 200.0


def outcome(call: Callable[[], T], budget: Budget = Budget()) -> T | NewsletterError:
    """Run ``call``; return its result or the NewsletterError it raised.

    Anything else it raises propagates (the test fails); so does a clear error that is not
    one line, and a run over the budget.
    """
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result: T | NewsletterError = call()
    except NewsletterError as error:
        text = str(error)
        assert text.strip(), "a NewsletterError with no message"
        assert "\n" not in text, f"an error of more than one line: {text!r}"
        result = error
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed <= budget.seconds, f"took {elapsed:.2f} s (budget {budget.seconds} s)"
    megabytes = peak / 1_000_000
    assert megabytes <= budget.megabytes, (
        f"peaked at {megabytes:.0f} MB (budget {budget.megabytes} MB)"
    )
    return result
