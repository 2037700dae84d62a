"""Layer-wise weight distance to the original model (the UNSIR paper's Fig. 4).

The stored ``layer_distance`` is a dict keyed by parameter name (JSON sorts its keys), so
the model's own order is recovered from the original checkpoint when it is on disk, else
from a freshly built model, else by natural sort of the names. Only weight tensors of
convolutions and linear layers (two or more dimensions) are shown, as in the paper: biases
and normalisation scales are tiny vectors whose distances would clutter the axis.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure

from benchmark.core.roles import Role
from reports.frame import (
    SkipPart,
    label_palette,
    labels_of,
    markers_of,
    methods_of,
    palette_of,
    settings,
)
from reports.stats import t_interval
from reports.style import (
    line_dashes,
    method_legend,
    panel_grid,
)

MAX_TICK_LABELS = 40


def layer_order(rows: pd.DataFrame, names: set[str]) -> tuple[list[str], str]:
    """Weight tensors among ``names`` in model order, and how that order was found."""
    for artifacts in rows.get("artifacts", pd.Series(dtype=object)):
        path = (artifacts or {}).get("original_path") if isinstance(artifacts, dict) else None
        if path and Path(path).is_file():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a damaged checkpoint only costs us the exact order
                continue
            return [k for k, v in state.items() if k in names and v.dim() >= 2], "checkpoint"
    try:
        from benchmark.models import create_model

        first = rows.iloc[0]
        kwargs = (first.get("spec") or {}).get("model_kwargs", {}) or {}
        histogram = first.get("pred_histogram")
        classes = len(histogram) if isinstance(histogram, list) else 10
        model = create_model(first["model"], classes, **kwargs)
        return [k for k, p in model.named_parameters() if k in names and p.dim() >= 2], "model"
    except Exception:  # unknown or third-party model: fall back to names only
        weights = [n for n in names if n.endswith("weight")]
        return sorted(weights, key=_natural_key), "names"


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def layer_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Long table: method_label, seed, layer, distance, for every row with layer distances."""
    records = []
    for _, row in rows.iterrows():
        distances = row.get("layer_distance")
        if not isinstance(distances, dict):
            continue
        for name, value in distances.items():
            records.append({"method": row["method"], "method_label": row["method_label"],
                            "seed": row["seed"], "layer": name,
                            "distance": np.nan if value is None else float(value)})
    return pd.DataFrame(records)


def layer_distance_figure(frame: pd.DataFrame, notes: list[str]) -> Figure:
    """Per layer, L2 distance of each method's weights to the original's (log y); lines."""
    if "layer_distance" not in frame or not frame["layer_distance"].map(
            lambda v: isinstance(v, dict) and bool(v)).any():
        raise SkipPart("the results have no `layer_distance` values")
    # The original has zero distance to itself: nothing to draw.
    rows_all = frame[frame["method"] != Role.ORIGINAL.value]
    order, palette = label_palette(rows_all)
    labels = labels_of(rows_all)
    markers = {labels[m]: k for m, k in markers_of(rows_all).items()}
    dashes = line_dashes(labels)
    panels = list(settings(rows_all))
    tables = [layer_table(rows) for _, rows in panels]
    n_layers = max((t["layer"].nunique() for t in tables if not t.empty), default=0)
    if n_layers == 0:
        raise SkipPart("the results have no `layer_distance` values")
    fig, axes = panel_grid(len(panels), max_cols=2 if n_layers > 10 else 3,
                           width=max(4.5, 0.3 * min(n_layers, 60) + 1.5), height=3.8)
    zero_seen = False
    sources = set()
    for ax, (title, rows), long in zip(axes, panels, tables, strict=True):
        if long.empty:
            ax.set_title(f"{title}\n(no layer distances)")
            continue
        layers, source = layer_order(rows, set(long["layer"]))
        sources.add(source)
        long = long[long["layer"].isin(layers)].copy()
        zero_seen |= bool((long["distance"] <= 0).any())
        long.loc[long["distance"] <= 0, "distance"] = np.nan  # log axis: 0 cannot be drawn
        long["position"] = long["layer"].map({name: i for i, name in enumerate(layers)})
        sns.lineplot(data=long, x="position", y="distance", hue="method_label", hue_order=order,
                     palette=palette, style="method_label", style_order=order, markers=markers,
                     dashes=dashes, errorbar=t_interval, markersize=5, legend=False, ax=ax)
        ax.set_yscale("log")
        step = max(1, int(np.ceil(len(layers) / MAX_TICK_LABELS)))
        ticks = list(range(0, len(layers), step))
        # Upright names while they fit, slanted then vertical as the layers multiply.
        rotation = 0 if len(layers) <= 4 else 45 if len(layers) <= 12 else 90
        ax.set_xticks(ticks, [_short(layers[i]) for i in ticks], rotation=rotation,
                      ha="right" if rotation == 45 else "center",
                      fontsize=8 if len(layers) <= 20 else 6)
        ax.set_xlim(-0.5, len(layers) - 0.5)
        ax.set(title=title, xlabel="Layer (weight tensor, input → output)",
               ylabel="L2 distance to original (log)")
    if zero_seen:
        notes.append("layer_distance: some layers were unchanged (distance 0) and cannot be "
                     "drawn on the log axis; they are left as gaps.")
    if "names" in sources:
        notes.append("layer_distance: layer order guessed from parameter names "
                     "(no original checkpoint and the model could not be rebuilt).")
    methods = methods_of(rows_all)
    method_legend(fig, methods, labels, palette_of(rows_all), markers=markers_of(rows_all))
    fig.suptitle("Layer-wise weight distance to the original model (mean and 95 % CI over seeds)")
    return fig


def _short(name: str) -> str:
    return name.removesuffix(".weight")
