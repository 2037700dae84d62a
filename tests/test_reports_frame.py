"""Reports' view of the results: labels, colours and markers from the method classes.

Also home of :func:`result_row` and :func:`frame_of`, small hand-made results the other
``test_reports_*`` files build on (no training run needed, so they take a second).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from benchmark.core.roles import GOLD_METHOD, Role
from benchmark.harness.frames import rows_to_dataframe
from methods import METHODS, Access, MethodStyle, UnlearningMethod
from reports.frame import labels_of, markers_of, palette_of, prepare
from reports.identity import ORIGINAL_STYLE, PALETTE, method_palette
from reports.style import line_dashes

# Forget accuracy, retain accuracy and speed-up of a typical cell, per method.
TYPICAL = {
    Role.ORIGINAL.value: (0.95, 0.99, None),
    GOLD_METHOD: (0.0, 0.99, 1.0),
    "unsir": (0.02, 0.90, 4.0),
    "finetune": (0.97, 0.98, 3.0),
}


def result_row(method: str, seed: int = 0, forget: str = "3", **metrics: Any) -> dict[str, Any]:
    """One stored row (JSON columns as Python objects), as ``ResultStore.rows`` returns it.

    Metrics default to ``TYPICAL`` for the method; keyword arguments override or add.
    """
    forget_acc, retain_acc, speedup = TYPICAL.get(method, (0.1, 0.9, 2.0))
    values: dict[str, Any] = {
        "forget_acc_test": forget_acc, "retain_acc_test": retain_acc, "test_acc": retain_acc,
        "time_s": 10.0 / (speedup or 1.0), "speedup_vs_retrain": speedup,
        "pred_histogram": [0, 0, 0, 50, 0, 0, 0, 0, 0, 0] if method == Role.ORIGINAL.value
        else [5, 10, 5, 0, 10, 5, 5, 5, 5, 0],
    }
    values.update(metrics)
    return {
        "row_id": f"{method}-{forget}-{seed}", "method": method, "model": "smallcnn",
        "dataset": "synthetic", "forget": forget, "n_forget": forget.count(",") + 1,
        "seed": seed, "device": "cpu",
        "zero_glance": int(method not in (Role.ORIGINAL.value, "finetune")),
        "access": [], "spec": {}, "hparams": {}, "metrics": values, "timings": {},
        "provenance": {"torch_version": "2.x", "device": "cpu"}, "artifacts": {},
        "created_at": f"2026-01-01T00:00:{seed:02d}+00:00",
    }


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The prepared frame reports draw from, as ``load_results`` would give for ``rows``."""
    return prepare(rows_to_dataframe(rows))


def cell(seed: int = 0, methods: tuple[str, ...] = tuple(TYPICAL), **metrics: Any) -> list[dict]:
    """Rows of one cell: the references and methods of ``TYPICAL`` for one seed."""
    return [result_row(m, seed, **metrics) for m in methods]


@dataclass(frozen=True)
class _Config:
    pass


class _Throwaway(UnlearningMethod):
    """A method only this test knows; nothing in reports/ names it."""

    name = "zz_reports_throwaway"
    needs = frozenset({Access.RETAIN})
    Config = _Config
    style = MethodStyle(label="Throwaway", colour="#123456", marker="X")

    def unlearn(self, model, request):
        return model


@pytest.fixture
def throwaway() -> Iterator[str]:
    """Registered for one test, then unregistered again."""
    METHODS.register(_Throwaway.name, _Throwaway)
    yield _Throwaway.name
    METHODS.unregister(_Throwaway.name)


def test_a_new_method_class_brings_its_own_label_colour_and_marker(throwaway: str) -> None:
    frame = frame_of(cell() + [result_row(throwaway)])
    assert labels_of(frame)[throwaway] == "Throwaway †"  # RETAIN only: zero-glance
    assert palette_of(frame)[throwaway] == "#123456"
    assert markers_of(frame)[throwaway] == "X"


def test_styles_come_from_the_method_classes_and_the_original_role() -> None:
    frame = frame_of(cell())
    labels, palette, markers = labels_of(frame), palette_of(frame), markers_of(frame)
    assert labels[Role.ORIGINAL.value] == ORIGINAL_STYLE.label == "Original"
    assert palette[Role.ORIGINAL.value] == "#b3b3b3" and markers[Role.ORIGINAL.value] == "o"
    gold = METHODS.get(GOLD_METHOD).display()
    assert labels[GOLD_METHOD] == gold.label + " †"
    assert palette[GOLD_METHOD] == to_hex(gold.colour) and markers[GOLD_METHOD] == gold.marker
    unsir = METHODS.get("unsir").display()
    assert labels["unsir"].startswith(unsir.label) and palette["unsir"] == to_hex(unsir.colour)
    # The gold reference is dashed, compared by role, whatever its label says.
    dashes = line_dashes(labels)
    assert dashes[labels[GOLD_METHOD]] and not dashes[labels["unsir"]]


def test_unregistered_and_undeclared_methods_take_free_colours_and_markers() -> None:
    frame = frame_of(cell() + [result_row("gone_a"), result_row("gone_b")])
    labels, palette, markers = labels_of(frame), palette_of(frame), markers_of(frame)
    assert labels["gone_a"] == "gone_a †"  # no longer registered: its stored name
    declared = {palette[m] for m in TYPICAL}
    assert palette["gone_a"] in PALETTE and palette["gone_a"] not in declared
    assert len({palette["gone_a"], palette["gone_b"]} | declared) == len(declared) + 2
    assert markers["gone_a"] not in {markers[m] for m in TYPICAL}
    # Free colours also avoid registered methods absent from these results.
    fisher = to_hex(METHODS.get("fisher").display().colour)
    assert fisher not in method_palette(["gone_a", "gone_b"]).values()


def test_a_method_keeps_its_colour_in_a_figure_that_shows_a_subset() -> None:
    frame = frame_of(cell() + [result_row("gone_a"), result_row("gone_b")])
    subset = frame[frame["method"] != "gone_a"]
    assert palette_of(subset)["gone_b"] == palette_of(frame)["gone_b"]


def test_a_plugin_that_fails_to_import_does_not_break_the_palette() -> None:
    METHODS.register("zz_reports_broken", "zz_no_such_module:Method")  # lazy entry, never loads
    try:
        palette = method_palette(["unsir", "gone_a"])
    finally:
        METHODS.unregister("zz_reports_broken")
    assert palette["unsir"] == to_hex(METHODS.get("unsir").display().colour)
    assert palette["gone_a"] in PALETTE
