"""Where forget-class samples go after unlearning, and what a membership attack still sees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from benchmark.core.roles import GOLD_METHOD
from reports.frame import (
    SkipPart,
    has_metric,
    label_palette,
    labels_of,
    methods_of,
    palette_of,
    settings,
    sort_methods,
)
from reports.style import (
    label_grouped_bars,
    method_legend,
    panel_grid,
    percent_bars,
)

ATTACKS = {"mia_entropy_member_rate": "Entropy attack", "mia_loss_member_rate": "Loss attack"}
MAX_FULL_CLASSES = 20  # up to this many classes every class gets a readable, annotated column
TOP_K = 10  # beyond that: the classes with the largest shares, the rest pooled as "other"
OTHER = "other"


def prediction_shares(rows: pd.DataFrame) -> pd.DataFrame:
    """Methods x classes: % of forget-class test predictions per class, pooled over seeds."""
    shares = {}
    for label, group in sort_methods(rows).groupby("method_label", sort=False):
        hists = [h for h in group["pred_histogram"] if isinstance(h, list) and h]
        if not hists:
            continue
        width = max(len(h) for h in hists)
        counts = np.sum([np.pad(np.asarray(h, float), (0, width - len(h))) for h in hists], axis=0)
        total = counts.sum()
        shares[label] = counts / total * 100 if total else np.full(width, np.nan)
    return pd.DataFrame(shares).T


def top_classes(shares: pd.DataFrame, forget: set[int], k: int = TOP_K) -> list[int]:
    """The ``k`` classes with the largest share for any method, in class order.

    The largest share of any method, not the sum: one method sending everything to a single
    class is exactly what the figure must show. Ties go to forgotten classes first.
    """
    peak = shares.max(axis=0).fillna(0.0)
    ranked = sorted(peak.index, key=lambda c: (-peak[c], c not in forget, c))
    return sorted(ranked[:k])


def shown_shares(shares: pd.DataFrame, forget: set[int]) -> pd.DataFrame:
    """The columns to draw, named "3", "3*" (forgotten) or "other" (all classes not shown).

    Every class while there are at most ``MAX_FULL_CLASSES``; else the top ``TOP_K`` and an
    "other" column holding the rest, so a 100-class heatmap stays a readable size.
    """
    if shares.shape[1] <= MAX_FULL_CLASSES:
        shown = shares.copy()
    else:
        shown = shares[top_classes(shares, forget)].copy()
        shown[OTHER] = (shares.sum(axis=1, min_count=1) - shown.sum(axis=1)).clip(lower=0)
    shown.columns = [f"{c}*" if c in forget else str(c) for c in shown.columns]
    return shown


def prediction_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Heatmap per setting: rows methods, columns predicted classes, cells % of predictions.

    The paper's claim is that UNSIR spreads forget-class samples over the retained classes
    (like the retrained model) rather than sending them to one class; the original model
    puts nearly all of them on the forgotten class itself (its column is starred). With
    more than ``MAX_FULL_CLASSES`` classes only the top ``TOP_K`` and "other" are drawn.
    """
    if "pred_histogram" not in frame or not frame["pred_histogram"].map(
            lambda h: isinstance(h, list) and sum(h or []) > 0).any():
        raise SkipPart("the results have no `pred_histogram` values")
    panels = list(settings(frame))
    n_classes = max(len(h) for h in frame["pred_histogram"] if isinstance(h, list))
    n_shown = n_classes if n_classes <= MAX_FULL_CLASSES else TOP_K + 1
    n_methods = frame["method"].nunique()
    fig, axes = panel_grid(len(panels), max_cols=2, width=max(4.8, 0.42 * n_shown + 2.2),
                           height=0.38 * n_methods + 1.9, sharey=False)
    for ax, (title, rows) in zip(axes, panels, strict=True):
        shares = prediction_shares(rows)
        forget = {int(c) for c in rows["forget"].iloc[0].split(",") if c.strip().isdigit()}
        shown = shown_shares(shares, forget)
        sns.heatmap(shown, ax=ax, vmin=0, vmax=100, cmap="Blues", annot=True, fmt=".0f",
                    annot_kws={"fontsize": 7}, linewidths=0.4, linecolor="white",
                    xticklabels=True, cbar_kws={"label": "% of predictions", "shrink": 0.9})
        for tick in ax.get_xticklabels():
            if tick.get_text().endswith("*"):
                tick.set_color("#c0392b")
                tick.set_fontweight("bold")
        ax.tick_params(axis="x", rotation=0)
        ax.tick_params(axis="y", rotation=0)
        xlabel = "Predicted class (* = forgotten class)"
        if OTHER in shown:
            xlabel = (f"Predicted class: top {TOP_K} of {shares.shape[1]}, rest in "
                      f"'{OTHER}' (* = forgotten)")
        ax.set(title=title, xlabel=xlabel, ylabel="")
    if n_classes > MAX_FULL_CLASSES:
        notes.append(f"prediction_distribution: {n_classes} classes; each panel shows the "
                     f"{TOP_K} classes with the largest share for any method and pools the "
                     f"rest as '{OTHER}'.")
    fig.suptitle("Predictions on forget-class test samples (% per class, pooled over seeds)")
    return fig


def mia_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Share of forget-train samples a membership attack flags as members, per method.

    The retrained model never saw them, so its rate is the target (short dashed lines);
    a rate far above it means the model still "remembers" the forget samples.
    """
    attacks = {c: name for c, name in ATTACKS.items() if has_metric(frame, c)}
    if not attacks:
        raise SkipPart("membership inference was not measured (metrics.mia = false)")
    order, palette = label_palette(frame)
    panels = list(settings(frame))
    fig, axes = panel_grid(len(panels), width=max(4.2, 0.5 * len(order) * len(attacks) / 2 + 2.2))
    retrain_label = labels_of(frame).get(GOLD_METHOD)
    for ax, (title, rows) in zip(axes, panels, strict=True):
        long = percent_bars(ax, rows, attacks, "attack", "rate", order, palette)
        if retrain_label is not None:
            target = long[long["method_label"] == retrain_label].groupby("attack")["rate"].mean()
            for x, attack in enumerate(attacks.values()):
                if attack in target:  # above the bars and unclipped: visible at 0 % too
                    ax.hlines(target[attack], x - 0.45, x + 0.45, colors="black",
                              linestyles="--", linewidth=1.6, zorder=5, clip_on=False)
                    ax.annotate(f"retrain {target[attack]:.0f}%", (x + 0.45, target[attack]),
                                xytext=(2, 2), textcoords="offset points", ha="right",
                                va="bottom", fontsize=7, zorder=6)
        label_grouped_bars(ax, long, "attack", list(attacks.values()), order, "rate")
        ax.set(title=title, xlabel="", ylabel="Flagged as members (%)", ylim=(0, 112))
    methods = methods_of(frame)
    method_legend(fig, methods, labels_of(frame), palette_of(frame))
    fig.suptitle("Membership inference on the forget set: closer to retrain's rate (dashed) "
                 "is better")
    return fig
