"""Prediction heatmap: every class up to 20, else the top 10 and "other" (readable size)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import imread

from benchmark.core.roles import GOLD_METHOD, Role
from reports.fig_predictions import OTHER, TOP_K, prediction_figure, prediction_shares, shown_shares
from reports.style import apply_style, save_figure
from tests.test_reports_frame import frame_of, result_row


def _histogram(n_classes: int, peaks: dict[int, int], seed: int) -> list[int]:
    """A few predictions on every class, plus ``peaks`` (class -> extra count)."""
    counts = np.random.default_rng(seed).integers(0, 3, n_classes)
    for c, extra in peaks.items():
        counts[c] += extra
    return counts.tolist()


def _frame(n_classes: int):
    rows = []
    for seed in (0, 1):
        rows += [result_row(Role.ORIGINAL.value, seed,
                            pred_histogram=_histogram(n_classes, {3: 500}, seed)),
                 result_row(GOLD_METHOD, seed, pred_histogram=_histogram(n_classes, {}, seed)),
                 result_row("unsir", seed,
                            pred_histogram=_histogram(n_classes, {77 % n_classes: 300}, seed))]
    return frame_of(rows)


def _columns(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_many_classes_show_the_top_ten_and_other(tmp_path: Path) -> None:
    frame = _frame(100)
    notes: list[str] = []
    apply_style()
    fig = prediction_figure(frame, notes)
    columns = _columns(fig)
    assert len(columns) == TOP_K + 1 and columns[-1] == OTHER
    assert "3*" in columns and "77" in columns  # the original's and UNSIR's dominant classes
    assert any(f"{TOP_K} classes with the largest share" in n for n in notes)
    png, _ = save_figure(fig, tmp_path, "predictions")
    height, width = imread(png).shape[:2]
    assert width < 2000 and height < 1000  # was 5816 x 707 px with all 100 columns


def test_other_holds_the_share_of_every_class_not_shown() -> None:
    shares = prediction_shares(_frame(100))
    shown = shown_shares(shares, {3})
    assert shown.sum(axis=1).to_numpy() == pytest.approx(100.0)
    kept = [int(c.rstrip("*")) for c in shown.columns if c != OTHER]
    assert shown[OTHER].to_numpy() == pytest.approx(
        shares.drop(columns=kept).sum(axis=1).to_numpy())


def test_up_to_twenty_classes_show_every_class() -> None:
    fig = prediction_figure(_frame(20), [])
    columns = _columns(fig)
    plt.close(fig)
    assert columns == [f"{c}*" if c == 3 else str(c) for c in range(20)]
