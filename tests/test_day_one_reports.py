"""Reports a new user cannot misread (issue 24): configurations never merged, class names in
titles, figures that carry the weak-original warning, bars that match their legend, a
relearn bar for a method that never forgot."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from benchmark.__main__ import main  # noqa: E402
from reports.build import weak_original_banner, write_tables  # noqa: E402
from reports.configs import configuration  # noqa: E402
from reports.frame import load_results, settings  # noqa: E402
from reports.outcomes import configurations_table  # noqa: E402

FAST = ["--datasets", "synthetic", "--methods", "finetune", "--set", "train.epochs=2",
        "--set", "metrics.relearn=false", "--set", "metrics.mia=false", "--device", "cpu",
        "--quiet"]


@pytest.fixture(scope="module")
def two_configurations(tmp_path_factory) -> Path:
    """One database, two runs: all 60 synthetic images a class, and 40 a class."""
    folder = tmp_path_factory.mktemp("configs")
    db = folder / "r.sqlite"
    for extra in ([], ["--set", "data.train_per_class=40"]):
        assert main(["run", "--db", str(db), "--cache-dir", str(folder / "c"), *FAST, *extra]) == 0
    return db


def test_rows_of_different_settings_are_reported_apart(two_configurations, tmp_path) -> None:
    frame = load_results(two_configurations)
    assert sorted(frame["dataset"].unique()) == ["synthetic [A]", "synthetic [B]"]
    assert frame.groupby("dataset")["row_id"].count().tolist() == [3, 3]
    table = configurations_table(frame)
    assert table is not None
    assert [line[1:] for line in table.rows] == [
        ["synthetic [A]", "data.train_per_class=unset"],
        ["synthetic [B]", "data.train_per_class=40"]]
    write_tables(frame, tmp_path, [table])
    summary = (tmp_path / "summary.md").read_text()
    assert "| smallcnn | synthetic [A] | 3 |" in summary and "## Configurations" in summary
    titles = [title for title, _ in settings(frame)]
    assert titles == ["smallcnn / synthetic [A], forget 3 (class3)",
                      "smallcnn / synthetic [B], forget 3 (class3)"]


def test_one_configuration_is_reported_as_before() -> None:
    published = Path(__file__).parent.parent / "docs/results/cifar10-cpu/results.sqlite"
    frame = load_results(published)
    assert set(frame["dataset"]) == {"cifar10"} and configurations_table(frame) is None


def test_defaults_and_settings_added_later_share_a_fingerprint() -> None:
    base = {"recipe": {"epochs": 4}, "data": {}, "metrics": {"relearn": True}, "precision": "fp32"}
    later = base | {"data": {"train_per_class": 0}, "metrics": {"relearn": True, "population": 0}}
    assert configuration(base) == configuration(later) == {"train.epochs": 4, "precision": "fp32"}


def test_figures_of_a_weak_original_carry_the_warning() -> None:
    frame = pd.DataFrame({"model": ["m", "m"], "dataset": ["d", "d"], "seed": [0, 1],
                          "warnings": [["weak original: test accuracy 11.0% is below 3x"], []]})
    banner = weak_original_banner(frame)
    assert banner is not None and "m/d seed 0" in banner and "seed 1" not in banner
    assert weak_original_banner(frame.assign(warnings=[[], []])) is None


def test_bars_are_drawn_in_their_legend_colour() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from reports.style import percent_bars

    rows = pd.DataFrame({"method_label": ["Retrain", "Retrain"], "seed": [0, 1],
                         "forget_acc_test": [0.1, 0.2]})
    fig, ax = plt.subplots()
    percent_bars(ax, rows, {"forget_acc_test": "forget"}, "what", "value", ["Retrain"],
                 {"Retrain": "#222222"})
    faces = {to_hex(p.get_facecolor()) for p in ax.patches if p.get_height() > 0}
    plt.close(fig)
    assert faces == {"#222222"}  # seaborn's default desaturation drew retrain grey


def test_relearn_panel_marks_a_method_that_never_forgot() -> None:
    import matplotlib.pyplot as plt

    from reports.fig_relearn import _relearn_panel

    summary = pd.DataFrame({"runs": [2, 2, 2], "relearned": [2, 2, 2], "mean": [0.0, 0.0, 5.0],
                            "ci": [0.0, 0.0, 0.0], "lower_bound": [0.0, 0.0, 5.0],
                            "cap": [5.0, 5.0, 5.0]}, index=["original", "finetune", "unsir"])
    fig, ax = plt.subplots()
    hatched = _relearn_panel(ax, summary, ["original", "finetune", "unsir"],
                             {"original": "O", "finetune": "F", "unsir": "U"},
                             {"original": "grey", "finetune": "C0", "unsir": "C1"}, {"finetune"})
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert hatched and "did not\nforget" in texts and "5.0\n(at the cap)" in texts
    assert "reference\n(not\nunlearned)" in texts
    assert "0.0" not in texts  # no "0.0 epochs" for a model that never forgot
