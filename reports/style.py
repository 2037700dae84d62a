"""One look for every figure: print-readable fonts, shared panel, legend and bar helpers.

Every figure calls :func:`apply_style` (through ``reports.build``). Method colours, markers
and labels come from :mod:`reports.identity` (declared on each method's class), carried on
the prepared frame so a method looks the same in every figure of a report.
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

from reports.identity import is_gold  # noqa: E402
from reports.stats import half_width, percent_interval  # noqa: E402

LEGEND_TITLE = "Method († zero-glance)"
RETRAIN_DASHES = (4, 2)
HATCH = "///"  # a bar whose height is not a plain measured value (lower bound, not forgotten)
# A white box behind value labels, so reference lines (1×, a cap) never cut through them.
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85}

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


def line_dashes(labels: dict[str, str]) -> dict[str, str | tuple[float, float]]:
    """seaborn ``dashes`` keyed by display label: retrain (the reference) dashed, others solid."""
    return {label: RETRAIN_DASHES if is_gold(method) else ""
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
                  markers: dict[str, str] | None = None) -> None:
    """One legend for the whole figure, below the panels, one entry per method.

    With ``markers`` the entries are line-and-marker ones (for line plots), else filled boxes.
    """
    if markers is not None:
        handles: list = [Line2D([], [], color=palette[m], marker=markers[m], label=labels[m],
                                linestyle="--" if is_gold(m) else "-") for m in methods]
    else:
        handles = [Patch(facecolor=palette[m], edgecolor="black", linewidth=0.5, label=labels[m])
                   for m in methods]
    handles += [Patch(facecolor="white", edgecolor="black", hatch=HATCH, label=text)
                for text in hatched]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6),
               title=LEGEND_TITLE, frameon=False)


def percent_bars(ax: Axes, rows: pd.DataFrame, columns: dict[str, str], group: str,
                 value: str, order: Sequence[str], palette: dict) -> pd.DataFrame:
    """Bars of fraction ``columns`` (shown by their labels) in %, one hue per method.

    Mean over seeds with its 95 % t interval (clipped to 0-100 %); returns the long frame so callers can label or
    annotate bars.
    """
    long = rows.melt(id_vars=["method_label", "seed"], value_vars=list(columns),
                     var_name=group, value_name=value)
    long[group] = long[group].map(columns)
    long[value] *= 100
    sns.barplot(data=long, x=group, y=value, hue="method_label", hue_order=order,
                order=list(columns.values()), palette=palette, errorbar=percent_interval, capsize=0.15,
                saturation=1.0,  # the legend's swatches are full colour: so are the bars
                err_kws={"linewidth": 1.0, "color": "black"}, edgecolor="black",
                linewidth=0.5, legend=False, ax=ax)
    return long


def label_grouped_bars(ax: Axes, long: pd.DataFrame, group: str, groups: Sequence[str],
                       order: Sequence[str], value: str, fmt: str = ".0f") -> None:
    """Write each bar's mean above it (above its interval): 0 % bars are otherwise invisible.

    For seaborn bar plots with ``x=group`` and ``hue=method_label`` in ``order``.
    """
    stats = long.groupby([group, "method_label"])[value].agg(["mean", half_width])
    present = [label for label in order if label in set(long["method_label"])]
    width = 0.8 / max(len(present), 1)  # seaborn's dodge: 0.8 of a category, split evenly
    for x, name in enumerate(groups):
        for k, label in enumerate(present):
            if (name, label) not in stats.index:
                continue
            mean, half = stats.loc[(name, label)]
            if np.isnan(mean):
                continue
            centre = x - 0.4 + width * (k + 0.5)
            ax.annotate(format(mean, fmt), (centre, mean + (0 if np.isnan(half) else half)),
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
