"""Speed-up figure: median and min–max, plain "140×" labels, "did not forget", timing setups."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from benchmark.core.roles import GOLD_METHOD, Role
from reports.fig_speed import NOT_FORGOTTEN_TEXT, speedup_figure, times
from reports.forgetting import forget_threshold, not_forgotten
from reports.style import HATCH
from reports.summary import summary_table
from reports.timing import UNKNOWN, mixed_setups_note, setup_label
from tests.test_reports_frame import cell, frame_of, result_row

UNSIR_SPEEDUPS = [2.0, 4.0, 140.0]


def _three_seeds(unsir_forget: tuple[float, ...] = (0.02, 0.02, 0.02)) -> list[dict]:
    """Original, retrain, fine-tune (typical values) and UNSIR (given values) on seeds 0-2."""
    rows = []
    for seed, (speedup, forget) in enumerate(zip(UNSIR_SPEEDUPS, unsir_forget, strict=True)):
        rows += cell(seed, methods=(Role.ORIGINAL.value, GOLD_METHOD, "finetune"))
        rows.append(result_row("unsir", seed, speedup_vs_retrain=speedup, forget_acc_test=forget))
    return rows


def _unsir_bar(ax) -> tuple[int, object]:
    labels = [t.get_text() for t in ax.get_xticklabels()]
    index = next(i for i, t in enumerate(labels) if t.startswith("UNSIR"))
    return index, ax.patches[index]


def test_labels_are_plain_multiples() -> None:
    assert times(143.2) == "140×" and times(3.47) == "3.5×" and times(0.8157) == "0.82×"
    assert "e" not in times(1.4e6) and times(1.0) == "1×"


def test_bars_are_medians_with_min_max_whiskers_inside_the_axis() -> None:
    notes: list[str] = []
    fig = speedup_figure(frame_of(_three_seeds()), notes)
    ax = fig.axes[0]
    index, bar = _unsir_bar(ax)
    assert bar.get_y() + bar.get_height() == pytest.approx(np.median(UNSIR_SPEEDUPS))
    segments = [s for c in ax.collections for s in c.get_segments()]
    whisker = next(s for s in segments if np.allclose(s[:, 0], index))
    assert sorted(whisker[:, 1]) == pytest.approx([min(UNSIR_SPEEDUPS), max(UNSIR_SPEEDUPS)])
    bottom, top = ax.get_ylim()
    assert all(bottom <= y <= top for s in segments for y in s[:, 1])
    texts = {t.get_text() for t in ax.texts}
    assert "4×" in texts and not any("e+" in t for t in texts)
    fig.canvas.draw()
    assert not any("e+" in t.get_text() for t in ax.get_yticklabels())
    plt.close(fig)


def test_a_method_that_did_not_forget_is_hatched_and_not_labelled_with_its_speed() -> None:
    frame = frame_of(_three_seeds())  # fine-tune keeps 97 % forget accuracy (original: 95 %)
    notes: list[str] = []
    fig = speedup_figure(frame, notes)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    finetune = ax.patches[next(i for i, t in enumerate(labels) if t.startswith("Fine-tune"))]
    assert finetune.get_hatch() == HATCH and _unsir_bar(ax)[1].get_hatch() in (None, "")
    assert NOT_FORGOTTEN_TEXT in {t.get_text() for t in ax.texts}
    assert "3×" not in {t.get_text() for t in ax.texts}  # fine-tune's speed-up is not shown
    assert any("Fine-tune did not forget" in n for n in notes)
    plt.close(fig)


def test_not_forgotten_uses_medians_and_both_bounds() -> None:
    # One seed of UNSIR kept everything; its median (2 %) still counts as forgotten.
    setting = frame_of(_three_seeds(unsir_forget=(0.02, 0.02, 0.99)))
    assert "unsir" not in not_forgotten(setting) and "finetune" in not_forgotten(setting)
    # Threshold: max(0.5 × original, retrain + 0.10); with the original's median at 95 %
    # the first bound decides, with a high retrain the second does.
    assert forget_threshold(setting) == pytest.approx(0.475)
    high_gold = frame_of([result_row(Role.ORIGINAL.value),
                          result_row(GOLD_METHOD, forget_acc_test=0.5)])
    assert forget_threshold(high_gold) == pytest.approx(0.60)
    assert forget_threshold(frame_of([result_row(GOLD_METHOD)])) == pytest.approx(0.10)


def test_rows_timed_on_different_setups_are_split_and_flagged() -> None:
    gpu = {"timing_device": "cuda:0", "timing_threads": 8, "timing_precision": "bf16"}
    cpu = {"timing_device": "cpu", "timing_threads": 1, "timing_precision": "fp32"}
    rows = _three_seeds()
    for row in rows:
        row.update(gpu if row["seed"] < 2 else cpu)
    frame = frame_of(rows)
    fig = speedup_figure(frame, [])
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_title())
    plt.close(fig)
    assert len(titles) == 2
    assert titles[0].endswith("timing: cpu, 1 thread, fp32")
    assert titles[1].endswith("timing: cuda:0, 8 threads, bf16")
    note = mixed_setups_note(frame)
    assert note is not None and "2 different setups" in note
    table = summary_table(frame)
    time_column = table.header.index("Time (s)")
    assert all(line[time_column].endswith("‡") for line in table.rows)
    assert "different setups" in table.caption


def test_unknown_setups_of_old_rows_are_one_setup() -> None:
    frame = frame_of(_three_seeds())  # no timing_* columns at all
    assert set(frame["timing_setup"]) == {UNKNOWN} and mixed_setups_note(frame) is None
    assert "‡" not in "".join("".join(line) for line in summary_table(frame).rows)
    assert setup_label("cpu", float("nan"), None) == "cpu, ? threads, ?"
