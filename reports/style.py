"""One look for every figure: print-readable fonts, one colour per method, shared helpers.

Every figure calls :func:`apply_style` (through ``reports.build``) and takes its colours
from :func:`method_palette`, so a method has the same colour in every figure of a report
and, for the known methods, across reports too. The two reference rows have neutral
colours of their own: ``original`` (the model before unlearning) light grey and
``retrain`` (the gold standard) near-black, so they never look like a competing method.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # reports are written to files; never open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

REFERENCE_METHODS = ("original", "retrain")
REFERENCE_COLOURS = {"original": "#b3b3b3", "retrain": "#262626"}

# Known methods get fixed colours (seaborn's colour-blind palette, its grey left out so it
# cannot be confused with ``original``); unknown ones take the unused colours in order.
_CB = sns.color_palette("colorblind")
_METHOD_COLOURS = [_CB[i] for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
KNOWN_METHOD_COLOURS = {"unsir": _METHOD_COLOURS[0], "fisher": _METHOD_COLOURS[1],
                        "finetune": _METHOD_COLOURS[2]}

DISPLAY_NAMES = {"original": "Original", "retrain": "Retrain", "unsir": "UNSIR",
                 "fisher": "Fisher", "finetune": "Fine-tune"}
ZERO_GLANCE_MARK = " †"  # appended to zero-glance methods (they never see forget samples)
LEGEND_TITLE = "Method († zero-glance)"

MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")
KNOWN_MARKERS = {"original": "o", "retrain": "s", "unsir": "D", "fisher": "^", "finetune": "v"}
RETRAIN_DASHES = (4, 2)

PANEL_WIDTH = 4.2  # inches; two panels fit a printed page column pair
PANEL_HEIGHT = 3.2


def apply_style() -> None:
    """The seaborn/matplotlib settings every report figure uses."""
    sns.set_theme(context="paper", style="whitegrid", font="DejaVu Sans", rc={
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "legend.title_fontsize": 9,
        "figure.titlesize": 12,
        "axes.titleweight": "bold",
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        # TrueType fonts in the PDF: text stays selectable and editable in print tools.
        "pdf.fonttype": 42,
        "grid.linewidth": 0.6,
        "hatch.linewidth": 0.8,
    })


def method_display(method: str, zero_glance: bool = False) -> str:
    """The label a method gets in legends and tables."""
    label = DISPLAY_NAMES.get(method, method)
    return label + ZERO_GLANCE_MARK if zero_glance else label


def method_order(methods: Iterable[str]) -> list[str]:
    """original, retrain, unsir first (the paper's comparison), then others as first seen."""
    seen = list(dict.fromkeys(methods))
    head = [m for m in ("original", "retrain", "unsir") if m in seen]
    return head + [m for m in seen if m not in head]


def method_palette(methods: Sequence[str]) -> dict[str, tuple[float, float, float] | str]:
    """Colour per method name: references neutral, known methods fixed, others in order."""
    palette: dict[str, tuple[float, float, float] | str] = {}
    free = [c for c in _METHOD_COLOURS if c not in KNOWN_METHOD_COLOURS.values()]
    for method in methods:
        if method in REFERENCE_COLOURS:
            palette[method] = REFERENCE_COLOURS[method]
        elif method in KNOWN_METHOD_COLOURS:
            palette[method] = KNOWN_METHOD_COLOURS[method]
        else:
            spare = sns.color_palette("husl", 12)[len(palette) % 12]
            palette[method] = free.pop(0) if free else spare
    return palette


def method_markers(methods: Sequence[str]) -> dict[str, str]:
    """Marker per method for line plots (a second cue besides colour, for grey-scale print).

    Known methods keep their marker in every figure, whatever subset of methods it shows.
    """
    free = [k for k in MARKERS if k not in KNOWN_MARKERS.values()]
    markers = {}
    for method in methods:
        markers[method] = KNOWN_MARKERS.get(method) or free[len(markers) % len(free)]
    return markers


def line_dashes(labels: dict[str, str]) -> dict[str, str | tuple[float, float]]:
    """seaborn ``dashes`` keyed by display label: retrain (the reference) dashed, others solid."""
    return {label: RETRAIN_DASHES if method == "retrain" else ""
            for method, label in labels.items()}


def panel_grid(n_panels: int, max_cols: int = 3, width: float = PANEL_WIDTH,
               height: float = PANEL_HEIGHT, sharey: bool = True) -> tuple[Figure, list]:
    """A figure with ``n_panels`` axes in rows of at most ``max_cols``; spare axes removed."""
    cols = min(max(n_panels, 1), max_cols)
    rows = math.ceil(max(n_panels, 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows),
                             sharey=sharey, squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        fig.delaxes(ax)
    for ax in flat[:n_panels]:
        ax.yaxis.set_tick_params(labelleft=True)  # shared y: keep labels on every panel
    return fig, flat[:n_panels]


def method_legend(fig: Figure, methods: Sequence[str], labels: dict[str, str],
                  palette: dict, hatched: Iterable[str] = (),
                  lines: bool = False) -> None:
    """One legend for the whole figure, below the panels, one entry per method.

    ``lines`` gives line-and-marker entries (for line plots) instead of filled boxes.
    """
    if lines:
        markers = method_markers(methods)
        handles: list = [Line2D([], [], color=palette[m], marker=markers[m], label=labels[m],
                                linestyle="--" if m == "retrain" else "-") for m in methods]
    else:
        handles = [Patch(facecolor=palette[m], edgecolor="black", linewidth=0.5, label=labels[m])
                   for m in methods]
    handles += [Patch(facecolor="white", edgecolor="black", hatch="///", label=text)
                for text in hatched]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6),
               title=LEGEND_TITLE, frameon=False)


def percent_bars(ax: Axes, rows: pd.DataFrame, columns: dict[str, str], group: str,
                 value: str, order: Sequence[str], palette: dict) -> pd.DataFrame:
    """Bars of fraction ``columns`` (shown by their labels) in %, one hue per method.

    Mean +- sd over seeds; returns the long frame so callers can label or annotate bars.
    """
    long = rows.melt(id_vars=["method_label", "seed"], value_vars=list(columns),
                     var_name=group, value_name=value)
    long[group] = long[group].map(columns)
    long[value] *= 100
    sns.barplot(data=long, x=group, y=value, hue="method_label", hue_order=order,
                order=list(columns.values()), palette=palette, errorbar="sd", capsize=0.15,
                err_kws={"linewidth": 1.0, "color": "black"}, edgecolor="black",
                linewidth=0.5, legend=False, ax=ax)
    return long


def label_grouped_bars(ax: Axes, long: pd.DataFrame, group: str, groups: Sequence[str],
                       order: Sequence[str], value: str, fmt: str = ".0f") -> None:
    """Write each bar's mean above it (above its sd error bar): 0 % bars are otherwise invisible.

    For seaborn bar plots with ``x=group`` and ``hue=method_label`` in ``order``.
    """
    stats = long.groupby([group, "method_label"])[value].agg(["mean", "std"])
    present = [label for label in order if label in set(long["method_label"])]
    width = 0.8 / max(len(present), 1)  # seaborn's dodge: 0.8 of a category, split evenly
    for x, name in enumerate(groups):
        for k, label in enumerate(present):
            if (name, label) not in stats.index:
                continue
            mean, sd = stats.loc[(name, label)]
            if np.isnan(mean):
                continue
            centre = x - 0.4 + width * (k + 0.5)
            ax.annotate(format(mean, fmt), (centre, mean + (0 if np.isnan(sd) else sd)),
                        xytext=(0, 1), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7)


def save_figure(fig: Figure, folder: Path, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` into ``folder``; closes the figure."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    try:
        for path in paths:
            fig.savefig(path)
    finally:
        plt.close(fig)
    return paths
