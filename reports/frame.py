"""The results DataFrame as the figures and tables want it: checked, typed, labelled.

``benchmark.harness.store.load_dataframe`` gives one row per (model, data set, forget set, seed,
method), failed cells included: their ``status`` is "failed" and their metrics are NaN; old
databases have no ``status``, ``error`` or ``warnings`` columns, read as ok and no warnings.
Figures and means use :func:`usable` rows only.

Here we add what every figure shares (each method's label, colour and marker, read once from
the method classes so they agree across figures; the setting title; the timing setup),
coerce metric columns to numbers (JSON nulls arrive as ``None`` in object columns), show rows
run with tuned settings as a variant of their method (``reports.identity.variant``), and
offer :func:`has_metric` so each figure can skip cleanly when its data is absent.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.core.errors import UserError
from benchmark.harness.schema import STATUS_OK
from benchmark.harness.store import load_dataframe
from benchmark.metrics.registry import numeric_columns
from reports.configs import split_configurations
from reports.identity import (
    method_display,
    method_markers,
    method_order,
    method_palette,
    variant,
)
from reports.stats import half_width
from reports.timing import setup_labels

SETTING_KEYS = ["model", "dataset", "forget"]
CELL_KEYS = [*SETTING_KEYS, "seed"]  # one cell: what a paired comparison pairs on
OK = STATUS_OK  # a row with metrics; "failed" and "skipped" rows have none


class SkipPart(Exception):
    """A figure or table cannot be drawn from this data; the message says why (for the page)."""


def load_results(db: str | Path) -> pd.DataFrame:
    """Read and prepare the results; a missing or empty database is a UserError."""
    frame = load_dataframe(db)  # raises UserError for a missing file
    if frame.empty:
        raise UserError(f"results database {db} has no rows; run `python -m benchmark run` first")
    return prepare(frame)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the shared label columns and make metric columns numeric."""
    frame = frame.copy()
    for column in numeric_columns():  # frames built by hand too (tests, notebooks)
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["forget"] = frame["forget"].astype(str)
    frame = split_configurations(frame)  # "cifar10 [A]" / "[B]" when settings differ
    _outcome_columns(frame)
    if "tuned_from" in frame:  # tuned rows are a variant of their own ("UNSIR (tuned)")
        frame["method"] = [variant(m, t) for m, t in zip(frame["method"], frame["tuned_from"],
                                                          strict=True)]
    frame["timing_setup"] = setup_labels(frame)
    if "n_forget" not in frame:
        frame["n_forget"] = frame["forget"].str.count(",") + 1
    zero_glance = frame.groupby("method")["zero_glance"].agg(lambda s: bool(s.astype(bool).all()))
    frame["method_label"] = [method_display(m, bool(zero_glance[m])) for m in frame["method"]]
    # Free colours and markers are handed out over all methods at once, so a figure that
    # shows a subset still draws each method as every other figure does.
    methods = method_order(frame["method"])
    frame["method_colour"] = frame["method"].map(method_palette(methods))
    frame["method_marker"] = frame["method"].map(method_markers(methods))
    frame["combo"] = frame["model"].astype(str) + " / " + frame["dataset"].astype(str)
    frame["forget_title"] = [_forget_title(f, spec, d) for f, spec, d in
                             zip(frame["forget"], _specs(frame), frame["dataset"], strict=True)]
    frame["setting"] = frame["combo"] + ", forget " + frame["forget_title"]
    return frame


def _specs(frame: pd.DataFrame) -> list:
    return list(frame["spec"]) if "spec" in frame else [None] * len(frame)


# Class names of rows stored before rows kept them (CIFAR-10's fixed order, as its folders sort).
KNOWN_CLASSES = {"cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                             "horse", "ship", "truck")}


def _forget_title(forget: str, spec: object, dataset: object = "") -> str:
    """``3 (cat)``, ``0,2 (airplane, bird)``: ids and the names rows store (issue 24); older
    rows stored no names: CIFAR-10's are known, others show the ids alone."""
    names = spec.get("forget_names") if isinstance(spec, dict) else None
    known = KNOWN_CLASSES.get(str(dataset))
    if not names and known and all(p.isdigit() and int(p) < len(known) for p in forget.split(",")):
        names = [known[int(p)] for p in forget.split(",")]
    if not names or forget.startswith("subclass:"):
        return forget
    return f"{forget} ({', '.join(map(str, names))})"


def _outcome_columns(frame: pd.DataFrame) -> None:
    """``status``, ``error`` and ``warnings`` in every frame, old databases included."""
    status = frame["status"] if "status" in frame else pd.Series(OK, index=frame.index)
    frame["status"] = status.fillna(OK).astype(str).str.lower()
    error = frame["error"] if "error" in frame else pd.Series(None, index=frame.index)
    frame["error"] = [e if isinstance(e, str) and e else None for e in error]
    warned = frame["warnings"] if "warnings" in frame else pd.Series(None, index=frame.index)
    frame["warnings"] = [_warning_list(w) for w in warned]


def _warning_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None and str(v)]
    return []  # None or NaN: nothing recorded


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with metrics (status ok); failed rows are never averaged, tested or drawn."""
    return frame[frame["status"] == OK]


def failed(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows whose cell did not finish ("failed", or any status but ok): no metrics."""
    return frame[frame["status"] != OK]


def has_metric(frame: pd.DataFrame, column: str) -> bool:
    """True when ``column`` exists and holds at least one value."""
    return column in frame and bool(frame[column].notna().any())


def require(frame: pd.DataFrame, *columns: str) -> None:
    """Raise SkipPart naming the first of ``columns`` that holds no data."""
    for column in columns:
        if not has_metric(frame, column):
            raise SkipPart(f"the results have no `{column}` values")


def methods_of(frame: pd.DataFrame) -> list[str]:
    """The methods present, references first (see ``reports.identity.method_order``)."""
    return method_order(frame["method"])


def labels_of(frame: pd.DataFrame) -> dict[str, str]:
    """Method name -> display label (with the zero-glance mark)."""
    return dict(zip(frame["method"], frame["method_label"], strict=True))


def palette_of(frame: pd.DataFrame) -> dict[str, str]:
    """Method name -> colour, as assigned for the whole report in :func:`prepare`."""
    return dict(zip(frame["method"], frame["method_colour"], strict=True))


def markers_of(frame: pd.DataFrame) -> dict[str, str]:
    """Method name -> marker, as assigned for the whole report in :func:`prepare`."""
    return dict(zip(frame["method"], frame["method_marker"], strict=True))


def label_palette(frame: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """Display labels in method order and their colours (seaborn ``hue`` keys on labels)."""
    methods = methods_of(frame)
    labels = labels_of(frame)
    by_method = palette_of(frame)
    return [labels[m] for m in methods], {labels[m]: by_method[m] for m in methods}


def settings(frame: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """(title, rows) per (model, data set, forget set): fewest forgotten classes first."""
    order = (frame[SETTING_KEYS + ["n_forget", "setting"]].drop_duplicates()
             .sort_values(["model", "dataset", "n_forget", "forget"]))
    for title in order["setting"]:
        yield title, frame[frame["setting"] == title]


def sort_methods(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered by method order (stable within a method)."""
    rank = {m: i for i, m in enumerate(methods_of(frame))}
    return frame.sort_values("method", key=lambda s: s.map(rank), kind="stable")


def relearn_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method: runs, runs relearned, mean, sd and 95 % interval half-width (``ci``) of
    the epochs of those relearned, and the cap.

    A run that never relearned within the cap is censored (``relearn_epochs`` is None): it
    is counted, never averaged in as if it had taken exactly the cap.
    """
    grouped = rows.groupby("method", sort=False)
    relearned = rows["relearn_epochs"].notna()
    return pd.DataFrame({
        "runs": grouped.size(),
        "relearned": relearned.groupby(rows["method"], sort=False).sum().astype(int),
        "mean": grouped["relearn_epochs"].mean(),
        "sd": grouped["relearn_epochs"].std(),
        "ci": grouped["relearn_epochs"].agg(half_width),
        "lower_bound": grouped.apply(_lower_bound, include_groups=False),
        "cap": grouped["relearn_cap_epochs"].max() if "relearn_cap_epochs" in rows
        else np.nan,
    })


def _lower_bound(rows: pd.DataFrame) -> float:
    """Mean with censored runs counted at the cap: a lower bound on the true mean."""
    cap = rows["relearn_cap_epochs"] if "relearn_cap_epochs" in rows else np.nan
    return float(rows["relearn_epochs"].fillna(cap).mean())
