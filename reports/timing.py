"""Which setup timed each row, so timings from different setups are never pooled silently.

Rows carry ``timing_device``, ``timing_threads`` and ``timing_precision`` (with
``timing_host``); older databases lack them and read as "unknown". Rows whose device, thread
count or precision differ get different :func:`setup_label`s: the speed-up figure draws them
in separate panels, the tables mark time cells that pool several setups, and the page says so.
The host is shown nowhere in the label: the same setup on two hosts of one kind is pooled.
"""

from __future__ import annotations

import math
import numbers

import pandas as pd

SETUP_COLUMNS = ("timing_device", "timing_threads", "timing_precision")
UNKNOWN = "unknown setup"
POOLED_MARK = " ‡"  # on a time cell whose seeds were timed on more than one setup
POOLED_CAPTION = ("‡ the time pools rows timed on different setups (device, threads or "
                  "precision); the speed-up figure shows them apart.")


def _known(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value).strip() != ""


def setup_label(device: object, threads: object, precision: object) -> str:
    """"cuda:0, 16 threads, bf16"; "?" for an unknown part; UNKNOWN when nothing is known."""
    if not any(_known(v) for v in (device, threads, precision)):
        return UNKNOWN
    if _known(threads) and isinstance(threads, numbers.Real):  # 8.0 from a column with gaps
        threads = int(threads)
    thread_text = f"{threads} thread{'' if str(threads) == '1' else 's'}" if _known(threads) \
        else "? threads"
    return ", ".join([str(device) if _known(device) else "?", thread_text,
                      str(precision) if _known(precision) else "?"])


def setup_labels(frame: pd.DataFrame) -> pd.Series:
    """The timing setup of every row of ``frame`` (UNKNOWN where not recorded)."""
    columns = [frame[c] if c in frame else pd.Series(None, index=frame.index, dtype=object)
               for c in SETUP_COLUMNS]
    return pd.Series([setup_label(*values) for values in zip(*columns, strict=True)],
                     index=frame.index, dtype=object)


def pooled_mark(rows: pd.DataFrame) -> str:
    """POOLED_MARK when ``rows`` (one table cell's seeds) span several timing setups."""
    return POOLED_MARK if rows["timing_setup"].nunique() > 1 else ""


def mixed_setups_note(frame: pd.DataFrame) -> str | None:
    """A note for the page when the timed rows come from more than one setup; else None."""
    counts = frame["timing_setup"].value_counts()
    if len(counts) < 2:
        return None
    listed = "; ".join(f"{setup} ({n} row{'' if n == 1 else 's'})" for setup, n in counts.items())
    return (f"timing: rows were timed on {len(counts)} different setups ({listed}). Times "
            "are only comparable within a setup: the speed-up figure has one panel per setup, "
            "and table times that pool setups are marked ‡.")
