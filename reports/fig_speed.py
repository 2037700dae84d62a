"""Cost figures: speed-up over retraining, and relearn time (how quickly the forgotten returns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from benchmark.core.roles import Role
from reports.frame import (
    SkipPart,
    label_palette,
    labels_of,
    methods_of,
    palette_of,
    relearn_summary,
    require,
    settings,
)
from reports.style import method_legend, panel_grid

NEVER_HATCH = "///"
# A white box behind value labels, so reference lines (1×, the cap) never cut through them.
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85}


def speedup_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Speed-up over retraining (retrain time / method time) per method, log y axis.

    ``original`` has no speed-up (its time is training time) and is left out; retrain is
    1x by definition and drawn as the dashed reference line.
    """
    require(frame, "speedup_vs_retrain")
    rows_all = frame[frame["method"] != Role.ORIGINAL.value].dropna(subset=["speedup_vs_retrain"])
    if rows_all.empty:
        raise SkipPart("no method has a speed-up value")
    order, palette = label_palette(rows_all)
    panels = list(settings(rows_all))
    fig, axes = panel_grid(len(panels), width=max(4.2, 0.6 * len(order) + 1.5))
    low = rows_all["speedup_vs_retrain"].min()
    high = rows_all["speedup_vs_retrain"].max()
    for ax, (title, rows) in zip(axes, panels, strict=True):
        sns.barplot(data=rows, x="method_label", y="speedup_vs_retrain", hue="method_label",
                    order=order, hue_order=order, palette=palette, errorbar="sd", capsize=0.2,
                    err_kws={"linewidth": 1.0, "color": "black"}, edgecolor="black",
                    linewidth=0.5, legend=False, ax=ax)
        # Log axis after drawing: the bars then run from the bottom of the axis (seaborn's
        # own log_scale left them invisible here).
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
        stats = rows.groupby("method_label")["speedup_vs_retrain"].agg(["mean", "std"])
        for i, label in enumerate(order):
            if label in stats.index:
                mean, sd = stats.loc[label, "mean"], stats.loc[label, "std"]
                top = mean + (0 if np.isnan(sd) else sd)  # above the error bar's cap
                ax.annotate(f"{mean:.2g}×", (i, top), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8, bbox=LABEL_BOX)
        # Bars on a log axis need a floor below the smallest value and room for labels.
        ax.set_ylim(min(low, 1.0) / 3, max(high, 1.0) * 4)
        ax.set(title=title, xlabel="", ylabel="Speed-up (×, log scale)")
        ax.tick_params(axis="x", rotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    methods = methods_of(rows_all)
    method_legend(fig, methods, labels_of(rows_all), palette_of(rows_all))
    fig.suptitle("Speed-up over retraining from scratch (dashed: retrain = 1×)")
    return fig


def relearn_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Epochs of fine-tuning until the forget accuracy returns, per method.

    Solid bar: every seed relearned (mean and 95 % t interval). Hatched bar: some or all seeds never
    reached the threshold within the cap; its height is a lower bound (never-runs counted at
    the cap) and its label says how many never did. A dotted line marks the cap.
    """
    if "relearn_epochs" not in frame:
        raise SkipPart("relearn time was not measured (metrics.relearn = false)")
    require(frame, "relearn_cap_epochs")
    methods = methods_of(frame)
    labels = labels_of(frame)
    palette = palette_of(frame)
    panels = list(settings(frame))
    fig, axes = panel_grid(len(panels), width=max(4.2, 0.6 * len(methods) + 1.5))
    any_never = False
    for ax, (title, rows) in zip(axes, panels, strict=True):
        summary = relearn_summary(rows)
        any_never |= _relearn_panel(ax, summary, [m for m in methods if m in summary.index],
                                    labels, palette)
        ax.set_title(title)
    hatched = ["never relearned within the cap"] if any_never else []
    method_legend(fig, methods, labels, palette, hatched=hatched)
    fig.suptitle("Relearn time: epochs until the forget classes come back")
    return fig


def _relearn_panel(ax: Axes, summary: pd.DataFrame, methods: list[str],
                   labels: dict[str, str], palette: dict) -> bool:
    cap = float(summary["cap"].max())
    any_never = False
    for x, method in enumerate(methods):
        item = summary.loc[method]
        colour = palette[method]
        if item["relearned"] == item["runs"]:
            top = item["mean"]
            ax.bar(x, top, color=colour, edgecolor="black", linewidth=0.5)
            if item["runs"] > 1 and not np.isnan(item["ci"]):
                ax.errorbar(x, top, yerr=item["ci"], color="black", capsize=4, lw=1)
                top += item["ci"]
            text = f"{item['mean']:.1f}"
        else:
            any_never = True
            top = item["lower_bound"]  # a lower bound: no error bar, the label says so
            # White fill hatched in the method's colour: visibly "not a measured value".
            ax.bar(x, top, color="white", edgecolor=colour, hatch=NEVER_HATCH, linewidth=1.2)
            never = int(item["runs"] - item["relearned"])
            text = (f"never\n(>{cap:g} ep)" if item["relearned"] == 0
                    else f"≥{item['lower_bound']:.1f}\n({never}/{int(item['runs'])} never)")
        ax.annotate(text, (x, top), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8, bbox=LABEL_BOX)
    ax.axhline(cap, color="black", linestyle=":", linewidth=1)
    # The cap's label sits just outside the axes, where no bar label can collide with it.
    ax.annotate(f"cap\n{cap:g}", (1.0, cap), xycoords=("axes fraction", "data"),
                xytext=(3, 0), textcoords="offset points", ha="left", va="center", fontsize=8)
    ax.set_xticks(range(len(methods)), [labels[m] for m in methods], rotation=30, ha="right")
    ax.set(xlabel="", ylabel="Epochs to relearn", ylim=(0, cap * 1.4))
    return any_never
