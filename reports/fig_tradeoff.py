"""The leaderboard's trade-off figure: one board's methods by their gaps to the gold model.

x: the forget-accuracy gap to gold, y: the retain-accuracy gap (percentage points, means over
seeds with their 95 % t intervals as thin bars); the gold model sits at (0, 0), a star; the
original (no unlearning) is a grey square. Marker area grows with the unlearning time, colour
names the method (its tuned variant a darker shade, as everywhere in the reports), the marker
shape the settings (circle: default, diamond: tuned) and an arrow runs from a method's default
to its tuned entry. Labels come from the metric registry (reports.leaderboard).
"""

from __future__ import annotations

import math

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from benchmark.core.roles import Role
from benchmark.metrics.registry import metric
from reports.leaderboard import DEFAULT, REFERENCE, RETAIN, TUNED, Board, Entry

MARKERS = {DEFAULT: "o", TUNED: "D"}
TIME = metric("time_s")


def _point(entry: Entry) -> dict[str, object] | None:
    forget, retain = entry.stats["forget_gap"], entry.stats["retain_gap"]
    if math.isnan(forget.mean) or math.isnan(retain.mean):
        return None
    time = entry.stats.get("time_s")
    return {"Method": entry.display, "Settings": entry.settings, "key": entry.method,
            "x": 100 * forget.mean, "y": 100 * retain.mean,
            "xerr": 0.0 if math.isnan(forget.half) else 100 * forget.half,
            "yerr": 0.0 if math.isnan(retain.half) else 100 * retain.half,
            TIME.header: time.mean if time is not None else math.nan, "colour": entry.colour}


def tradeoff_figure(board: Board) -> Figure:
    """The figure of ``board`` (see the module docstring)."""
    methods = [e for e in board.entries if e.settings != REFERENCE]
    points = pd.DataFrame([p for p in map(_point, methods) if p is not None])
    figure = Figure(figsize=(8.2, 5.2), layout="constrained")
    ax = figure.add_subplot()
    ax.axhline(0, color="0.75", linewidth=0.8, zorder=0)
    ax.axvline(0, color="0.75", linewidth=0.8, zorder=0)
    for point in points.itertuples():
        ax.errorbar(point.x, point.y, xerr=point.xerr, yerr=point.yerr, fmt="none",
                    ecolor=point.colour, alpha=0.45, linewidth=0.9, zorder=1)
    for _, pair in points.groupby("key", sort=False):
        if set(pair["Settings"]) == {DEFAULT, TUNED}:
            start, end = (pair[pair["Settings"] == s].iloc[0] for s in (DEFAULT, TUNED))
            ax.annotate("", xy=(end["x"], end["y"]), xytext=(start["x"], start["y"]),
                        arrowprops={"arrowstyle": "->", "color": end["colour"], "alpha": 0.6,
                                    "linewidth": 0.9, "shrinkA": 6, "shrinkB": 6}, zorder=2)
    timed = TIME.header if points[TIME.header].notna().any() else None
    sns.scatterplot(data=points, x="x", y="y", hue="Method", hue_order=list(points["Method"]),
                    palette=dict(zip(points["Method"], points["colour"], strict=True)),
                    style="Settings", markers=MARKERS, size=timed, sizes=(30, 320),
                    alpha=0.8, edgecolor="black", linewidth=0.5, zorder=3, legend="brief", ax=ax)
    _references(ax, board)
    forget = board.forget_metric
    ax.set(title=board.figure_title,
           xlabel=f"{forget.label} − gold (percentage points; {forget.name})",
           ylabel=f"{metric(RETAIN).label} − gold (percentage points; {RETAIN})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, title_fontsize=7,
              markerscale=0.8, frameon=False)
    figure.text(0.01, -0.02, "Best: at the gold star (0, 0), with a small marker (fast). Right "
                "of 0: forgets less than retraining; below 0: keeps less. Bars: 95 % t interval "
                "over seeds; arrows: default -> tuned.", fontsize=7, color="0.3", ha="left",
                va="top", wrap=True)
    return figure


def _references(ax, board: Board) -> None:
    """The gold model at (0, 0) and the original where its gaps put it."""
    gold = board.gold
    ax.scatter([0], [0], marker="*", s=200, color=gold.colour, edgecolor="white",
               linewidth=0.6, zorder=5, label=f"{gold.label} (gold)")
    original = next((e for e in board.entries if e.method == Role.ORIGINAL.value), None)
    if original is not None:
        point = _point(original)
        if point is not None:
            ax.scatter([point["x"]], [point["y"]], marker="s", s=60, color=original.colour,
                       edgecolor="0.3", linewidth=0.6, zorder=4,
                       label=f"{original.label} (no unlearning)")
