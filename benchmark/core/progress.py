"""Progress of long work, reported from any layer without knowing who listens.

Deep loops (training epochs, Fisher chunks, image decoding) call :func:`progress`; the
harness installs a listener with :func:`listening` for the phase it is in and shows it. With
no listener (library use, tests) a call costs one attribute lookup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

# done, total (None when unknown), a short note such as "loss 0.412"
Listener = Callable[[int, "int | None", str], None]

_listener: Listener | None = None


def progress(done: int, total: int | None = None, note: str = "") -> None:
    """Tell the current listener that ``done`` of ``total`` steps are finished."""
    if _listener is not None:
        _listener(done, total, note)


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Route :func:`progress` calls to ``listener`` inside the block (nesting restores)."""
    global _listener
    previous, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = previous
