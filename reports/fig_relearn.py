"""Relearn time: how many epochs of fine-tuning bring the forgotten classes back."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchmark.core.roles import Role
from reports.forgetting import not_forgotten
from reports.frame import (
    SkipPart,
    labels_of,
    methods_of,
    palette_of,
    relearn_summary,
    require,
    settings,
)
from reports.style import HATCH, LABEL_BOX, method_legend, panel_grid


def relearn_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Epochs of fine-tuning until the forget accuracy returns, per method.

    Solid bar: every seed relearned (mean and 95 % t interval). Hatched bar: some or all
    seeds never reached the threshold within the cap; its height is a lower bound (never-runs
    counted at the cap) and its label says how many never did. A dotted line marks the cap.
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
                                    labels, palette, set(not_forgotten(rows)))
        ax.set_title(title)
    hatched = ["never relearned within the cap, or did not forget"] if any_never else []
    method_legend(fig, methods, labels, palette, hatched=hatched)
    fig.suptitle("Relearn time: epochs until the forget classes come back")
    return fig


def _relearn_panel(ax: Axes, summary: pd.DataFrame, methods: list[str],
                   labels: dict[str, str], palette: dict, missed: set[str] = frozenset()) -> bool:
    cap = float(summary["cap"].max())
    any_never = False
    for x, method in enumerate(methods):
        item = summary.loc[method]
        colour = palette[method]
        if method == Role.ORIGINAL.value:  # the reference: it forgot nothing, relearns nothing
            ax.annotate("reference\n(not\nunlearned)", (x, 0), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8,
                        bbox=LABEL_BOX)
            continue
        if method in missed:  # it kept the forget classes: "0 epochs" would read as a result
            any_never = True
            ax.bar(x, cap * 0.04, color="white", edgecolor=colour, hatch=HATCH, linewidth=1.2)
            ax.annotate("did not\nforget", (x, cap * 0.04), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=8,
                        bbox=LABEL_BOX)
            continue
        if item["relearned"] == item["runs"]:
            top = item["mean"]
            ax.bar(x, top, color=colour, edgecolor="black", linewidth=0.5)
            if item["runs"] > 1 and not np.isnan(item["ci"]):
                ax.errorbar(x, top, yerr=item["ci"], color="black", capsize=4, lw=1)
                top += item["ci"]
            text = f"{item['mean']:.1f}" + ("\n(at the cap)" if item["mean"] >= cap else "")
        else:
            any_never = True
            top = item["lower_bound"]  # a lower bound: no error bar, the label says so
            # White fill hatched in the method's colour: visibly "not a measured value".
            ax.bar(x, top, color="white", edgecolor=colour, hatch=HATCH, linewidth=1.2)
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
