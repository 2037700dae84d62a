"""Accuracy figures: forget/retain accuracy per method, and against the number forgotten."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from reports.frame import (
    SkipPart,
    label_palette,
    labels_of,
    markers_of,
    methods_of,
    palette_of,
    require,
    settings,
)
from reports.stats import percent_interval
from reports.style import (
    PANEL_HEIGHT,
    label_grouped_bars,
    line_dashes,
    method_legend,
    panel_grid,
    percent_bars,
)

SPLITS = {"forget_acc_test": "Forget classes", "retain_acc_test": "Retained classes"}


def accuracy_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Bars of test accuracy on the forget and retained classes, one panel per setting.

    Bars are means over seeds with 95 % t-interval error bars; original and retrain are the grey and
    black reference bars, so a good method has the retrain bar's shape: ~0 % on the forget
    classes and the original's accuracy on the retained ones.
    """
    require(frame, "forget_acc_test", "retain_acc_test")
    order, palette = label_palette(frame)
    panels = list(settings(frame))
    fig, axes = panel_grid(len(panels), width=max(4.2, 0.55 * len(order) + 1.8))
    for ax, (title, rows) in zip(axes, panels, strict=True):
        long = percent_bars(ax, rows, SPLITS, "split", "accuracy", order, palette)
        label_grouped_bars(ax, long, "split", list(SPLITS.values()), order, "accuracy")
        ax.set(title=title, xlabel="", ylabel="Test accuracy (%)", ylim=(0, 112))
    methods = methods_of(frame)
    method_legend(fig, methods, labels_of(frame), palette_of(frame))
    fig.suptitle("Accuracy after unlearning (mean and 95 % CI over seeds)")
    _note_single_seed(frame, notes, "accuracy")
    return fig


def forget_count_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Retain and forget accuracy against the number of forgotten classes, per model/data set.

    Each point pools every forget set of that size and every seed (mean and 95 % t interval), so it
    answers "does the method still work when more classes go at once?".
    """
    require(frame, "forget_acc_test", "retain_acc_test")
    counts = frame.groupby("combo")["n_forget"].nunique()
    combos = sorted(counts[counts > 1].index)
    if not combos:
        raise SkipPart("every model/data set was run with one number of forgotten classes only; "
                       "add forget sets of other sizes (e.g. --forget 3 --forget 0,2)")
    skipped = sorted(set(counts.index) - set(combos))
    if skipped:
        notes.append(f"forget_count: {', '.join(skipped)} left out (one forget-set size only).")
    order, palette = label_palette(frame)
    labels = labels_of(frame)
    markers = {labels[m]: marker for m, marker in markers_of(frame).items()}
    methods = methods_of(frame)
    spread = 0.04 * (frame["n_forget"].max() - frame["n_forget"].min())
    offsets = {m: (k - (len(methods) - 1) / 2) * spread for k, m in enumerate(methods)}
    fig, axes = panel_grid(2 * len(combos), max_cols=2, height=PANEL_HEIGHT + 0.2)
    for i, combo in enumerate(combos):
        rows = frame[frame["combo"] == combo]
        sizes = sorted(rows["n_forget"].unique())
        pair = ("retain_acc_test", "forget_acc_test")
        for ax, column in zip(axes[2 * i : 2 * i + 2], pair, strict=True):
            # A small sideways offset per method keeps coinciding points and error bars
            # (e.g. several methods at 0 %) apart.
            data = rows.assign(accuracy=rows[column] * 100,
                               n_forget=rows["n_forget"] + rows["method"].map(offsets))
            sns.lineplot(data=data, x="n_forget", y="accuracy", hue="method_label",
                         hue_order=order, palette=palette, style="method_label",
                         style_order=order, markers=markers, dashes=line_dashes(labels),
                         errorbar=percent_interval,
                         err_style="bars", err_kws={"capsize": 3}, legend=False, ax=ax)
            ax.set_xticks(sizes)
            ax.set(title=f"{combo}: {SPLITS[column].lower()}", xlabel="Number of forgotten classes",
                   ylabel="Test accuracy (%)", ylim=(-3, 103))
    method_legend(fig, methods, labels, palette_of(frame), markers=markers_of(frame))
    fig.suptitle("Accuracy against the number of forgotten classes (mean and 95 % CI)")
    return fig


def _note_single_seed(frame: pd.DataFrame, notes: list[str], name: str) -> None:
    if frame.groupby(["setting", "method"])["seed"].nunique().max() < 2:
        notes.append(f"{name}: one seed per setting, so no error bars (run --seeds 0,1,2 for "
                     "95 % intervals).")
