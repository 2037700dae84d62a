"""When the command started: ``python -m benchmark`` marks it before its heavy imports.

The cost estimate is printed after start-up (imports, loading the data sets), which it
cannot count as work still to do; with the mark it also says what the whole command will
have taken, the figure a user timing the command compares it with. Library use (and tests
calling ``main`` in-process) leave it unmarked: there is no command to time.
"""

from __future__ import annotations

import time

_started: float | None = None


def mark() -> None:
    """Called first thing by ``python -m benchmark``."""
    global _started
    _started = time.perf_counter()


def since_start() -> float | None:
    """Seconds since the command started; None when no command marked it."""
    return None if _started is None else time.perf_counter() - _started
