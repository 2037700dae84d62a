"""Speed-up over retraining (retrain time / method time) per method, on a log axis.

Each bar is the median over seeds and its whisker the seeds' minimum to maximum: a speed-up
is a ratio, and mean ± sd on a log axis is lopsided and can reach below zero, off the axis.
Every whisker end lies inside the axis. Labels read "140×", never "1.4e+02×".

A method that did not forget is drawn hatched and labelled "did not forget" instead of its
speed-up, so skipping the work never reads as the fastest unlearning. Definition
(:mod:`reports.forgetting`, medians over seeds, per setting): forget-class test accuracy
above max(0.5 × the original's forget accuracy, retrain's forget accuracy + 0.10).

Rows timed on different setups (device, threads or precision; :mod:`reports.timing`) are
never pooled: each setup gets its own panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from benchmark.core.roles import Role
from reports.forgetting import NotForgotten, not_forgotten
from reports.frame import SkipPart, labels_of, methods_of, palette_of, require, settings
from reports.style import HATCH, LABEL_BOX, method_legend, panel_grid

COLUMN = "speedup_vs_retrain"
NOT_FORGOTTEN_TEXT = "did not\nforget"


def times(value: float) -> str:
    """A speed-up for a label or tick: two significant digits, never scientific ("140×")."""
    text = np.format_float_positional(value, precision=2, unique=True, fractional=False,
                                      trim="-")
    return f"{text}×"


def speedup_stats(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: median, min and max speed-up over seeds, and the number of seeds."""
    grouped = rows.groupby("method", sort=False)[COLUMN]
    return pd.DataFrame({"median": grouped.median(), "low": grouped.min(),
                         "high": grouped.max(), "n": grouped.count()})


def _panels(frame: pd.DataFrame, timed: pd.DataFrame
            ) -> list[tuple[str, pd.DataFrame, dict[str, NotForgotten]]]:
    """(title, timed rows, methods that did not forget) per setting and timing setup."""
    split = timed["timing_setup"].nunique() > 1
    panels = []
    for title, setting in settings(frame):
        missed = not_forgotten(setting)  # judged on every seed of the setting, all setups
        rows = timed[timed["setting"] == title]
        parts = rows.groupby("timing_setup", sort=True) if split else [(None, rows)]
        for setup, part in parts:
            if not part.empty:
                panels.append((title if setup is None else f"{title}\ntiming: {setup}", part,
                               missed))
    return panels


def speedup_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Median speed-up with min–max whiskers per method; one panel per setting and setup."""
    require(frame, COLUMN)
    timed = frame[frame["method"] != Role.ORIGINAL.value].dropna(subset=[COLUMN])
    timed = timed[timed[COLUMN] > 0]  # a ratio of times; anything else cannot be drawn on log
    if timed.empty:
        raise SkipPart("no method has a speed-up value")
    methods, labels, palette = methods_of(timed), labels_of(timed), palette_of(timed)
    panels = _panels(frame, timed)
    # One range for every panel, with room above the top whisker for its label.
    limits = (min(timed[COLUMN].min(), 1.0) / 2.5, max(timed[COLUMN].max(), 1.0) * 5)
    fig, axes = panel_grid(len(panels), width=max(4.2, 0.6 * len(methods) + 1.5))
    any_missed = False
    for ax, (title, rows, missed) in zip(axes, panels, strict=True):
        shown = [m for m in methods if m in set(rows["method"])]
        any_missed |= _panel(ax, speedup_stats(rows), shown, labels, palette, missed, limits)
        ax.set_title(title)
    for title, setting in settings(frame):
        for item in not_forgotten(setting).values():
            notes.append(f"speedup: {title}: {labels.get(item.method, item.method)} did not "
                         f"forget (median forget accuracy {item.median:.0%} > "
                         f"{item.threshold:.0%}); drawn hatched, its speed-up is not a result.")
    hatched = ["did not forget (see caption)"] if any_missed else []
    method_legend(fig, methods, labels, palette, hatched=hatched)
    fig.suptitle("Speed-up over retraining (median, min–max over seeds)")
    return fig


def _panel(ax: Axes, stats: pd.DataFrame, methods: list[str], labels: dict[str, str],
           palette: dict, missed: dict[str, NotForgotten],
           limits: tuple[float, float]) -> bool:
    """Draw one panel's bars; True when some method in it did not forget."""
    bottom, top = limits
    for x, method in enumerate(methods):
        item = stats.loc[method]
        colour = palette[method]
        # Bars start at the axis floor: a log axis has no zero to start from.
        if method in missed:
            ax.bar(x, item["median"] - bottom, bottom=bottom, color="white", edgecolor=colour,
                   hatch=HATCH, linewidth=1.2)
            text = NOT_FORGOTTEN_TEXT
        else:
            ax.bar(x, item["median"] - bottom, bottom=bottom, color=colour, edgecolor="black",
                   linewidth=0.5)
            text = times(item["median"])
        low, high = np.clip([item["low"], item["high"]], bottom, top)
        if item["n"] > 1 and high > low:
            ax.errorbar(x, item["median"], yerr=[[item["median"] - low], [high - item["median"]]],
                        color="black", capsize=4, lw=1)
        ax.annotate(text, (x, high), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8, bbox=LABEL_BOX)
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: times(v)))
    ax.yaxis.set_minor_formatter(NullFormatter())  # minor ticks would print "2e+00×" style
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
    # The reference line's label sits just outside the axes, clear of every bar label.
    ax.annotate("retrain\n= 1×", (1.0, 1.0), xycoords=("axes fraction", "data"), xytext=(3, 0),
                textcoords="offset points", ha="left", va="center", fontsize=8)
    ax.set_xticks(range(len(methods)), [labels[m] for m in methods], rotation=30, ha="right")
    ax.grid(axis="x", visible=False)  # category axis: vertical lines would cut the bars
    ax.set(xlabel="", ylabel="Speed-up (×, log scale)")
    return any(m in missed for m in methods)
