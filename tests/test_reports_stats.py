"""95 % Student-t intervals in tables and error bars; paired t-tests against retrain; both
over training seeds, a training seed's unlearning seeds averaged first."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from benchmark.core.roles import GOLD_METHOD
from reports.frame import CELL_KEYS
from reports.population import population_table
from reports.stats import mean_ci, nested_ci, paired_vs_gold, t_interval, training_seed_means
from reports.style import percent_bars
from reports.summary import summary_table
from tests.test_reports_frame import frame_of, result_row

FORGET = [0.10, 0.20, 0.40]  # UNSIR's forget accuracy on seeds 0, 1, 2


def test_intervals_are_student_t_not_sd() -> None:
    low, high = stats.t.interval(0.95, df=2, loc=np.mean(FORGET), scale=stats.sem(FORGET))
    assert t_interval(FORGET) == pytest.approx((low, high))
    half = (high - low) / 2 * 100
    assert mean_ci(np.array(FORGET), 100.0) == f"{np.mean(FORGET) * 100:.1f} ± {half:.1f}"
    assert half > np.std(FORGET, ddof=1) * 100 * 2  # t(0.975, 2) = 4.3: far wider than sd
    assert mean_ci(np.array([0.5]), 100.0) == "50.0"  # one seed: no interval


def _rows(retrain_seeds=(0, 1, 2), unsir=FORGET, gold=(0.0, 0.05, 0.0)) -> list[dict]:
    rows = [result_row("unsir", s, forget_acc_test=v) for s, v in enumerate(unsir)]
    rows += [result_row(GOLD_METHOD, s, forget_acc_test=gold[s]) for s in retrain_seeds]
    return rows[::-1]  # stored order must not matter: pairs are matched by cell


def test_paired_test_pairs_by_cell_and_matches_ttest_rel() -> None:
    frame = frame_of(_rows())
    result = paired_vs_gold(frame, "unsir", "forget_acc_test", CELL_KEYS)
    expected = stats.ttest_rel(FORGET, [0.0, 0.05, 0.0]).pvalue
    assert result.pairs == 3 and result.p == pytest.approx(expected)
    assert result.text == f"{expected:.3f}"


def test_paired_test_needs_three_pairs_and_names_degenerate_cases() -> None:
    two = frame_of(_rows(retrain_seeds=(0, 1)))  # UNSIR has three seeds, retrain only two
    assert paired_vs_gold(two, "unsir", "forget_acc_test", CELL_KEYS).text == "n too small"
    same = frame_of(_rows(unsir=(0.0, 0.0, 0.0), gold=(0.0, 0.0, 0.0)))
    result = paired_vs_gold(same, "unsir", "forget_acc_test", CELL_KEYS)
    assert result.text == "identical" and math.isnan(result.p)


def test_summary_table_shows_intervals_and_p_values_in_every_format() -> None:
    table = summary_table(frame_of(_rows()))
    header = table.header
    unsir = next(r for r in table.rows if r[3].startswith("UNSIR"))
    gold = next(r for r in table.rows if r[3].startswith("Retrain"))
    p_column = header.index("p forget vs retrain")
    assert unsir[p_column] == f"{stats.ttest_rel(FORGET, [0.0, 0.05, 0.0]).pvalue:.3f}"
    assert gold[p_column] == "–"
    forget_column = header.index("Forget acc (%)")
    assert unsir[forget_column] == mean_ci(np.array(FORGET), 100.0)
    assert "paired t-test (scipy.stats.ttest_rel" in table.caption
    assert "95 % Student-t" in table.caption
    numeric = table.numeric.set_index("method").loc["unsir"]
    low, high = t_interval(FORGET)
    assert numeric["forget_acc_test_ci_low"] == pytest.approx(low)
    assert numeric["forget_acc_test_ci_high"] == pytest.approx(high)
    assert numeric["forget_acc_test_pairs_vs_retrain"] == 3
    assert "n too small" in summary_table(frame_of(_rows(retrain_seeds=(0, 1)))).rows[1]


def test_bar_error_bars_are_the_t_interval() -> None:
    frame = frame_of([result_row("unsir", s, forget_acc_test=v) for s, v in enumerate(FORGET)])
    fig, ax = plt.subplots()
    label = frame["method_label"].iloc[0]
    percent_bars(ax, frame, {"forget_acc_test": "Forget"}, "split", "acc", [label],
                 {label: "#0173b2"})
    ends = [y for line in ax.lines for y in line.get_ydata()]
    plt.close(fig)
    low, high = t_interval(FORGET)
    # The t interval, clipped to 0..100 %: an accuracy bar never claims a negative accuracy.
    assert min(ends) == pytest.approx(max(low * 100, 0.0))
    assert max(ends) == pytest.approx(min(high * 100, 100.0))
    assert min(ends) >= 0.0


# ------------------------------------------------ unlearning seeds nested in training seeds
def _run(method: str, seed: int, unlearning_seed: int, **metrics) -> dict:
    """A row of training seed ``seed`` unlearned with ``unlearning_seed``."""
    row = result_row(method, seed, **metrics)
    row["row_id"] += f"-u{unlearning_seed}"
    row["unlearning_seed"] = None if method == "original" else unlearning_seed
    return row


def _nested(values: dict[int, list[float]], method: str = "unsir", column: str = "forgetting_quality",
            population: int = 8) -> list[dict]:
    return [_run(method, seed, u, **{column: v, "population": population})
            for seed, runs in values.items() for u, v in enumerate(runs)]


UNSIR_F = {0: [0.10, 0.30], 1: [0.20, 0.20], 2: [0.05, 0.45]}  # two unlearning seeds each
GOLD_F = {0: [0.15], 1: [0.18], 2: [0.12]}


def test_unlearning_seeds_are_averaged_within_their_training_seed_first() -> None:
    """Lanyon et al. 2025: the training seed is the unit; six runs of three originals are
    three values, not six (the interval of six would be too narrow)."""
    frame = frame_of(_nested(UNSIR_F))
    means = training_seed_means(frame, "forgetting_quality")
    assert means.tolist() == pytest.approx([0.2, 0.2, 0.25])
    assert nested_ci(frame, "forgetting_quality", 1.0, ".3f") == \
        mean_ci(np.array([0.2, 0.2, 0.25]), 1.0, ".3f")
    assert nested_ci(frame, "forgetting_quality", 1.0, ".3f") != \
        mean_ci(frame["forgetting_quality"], 1.0, ".3f")


def test_paired_tests_pair_training_seeds_not_runs() -> None:
    frame = frame_of(_nested(UNSIR_F) + _nested(GOLD_F, GOLD_METHOD))
    result = paired_vs_gold(frame, "unsir", "forgetting_quality", CELL_KEYS)
    expected = stats.ttest_rel([0.2, 0.2, 0.25], [0.15, 0.18, 0.12]).pvalue
    assert result.pairs == 3 and result.p == pytest.approx(expected)


def test_population_table_ranks_and_tests_over_training_seeds() -> None:
    # Row means rank B first (0.20 < 0.25); training-seed means rank A first (0.30 > 0.25).
    rows = (_nested({0: [0.1, 0.1, 0.1], 1: [0.5]}, "finetune")
            + _nested({0: [0.25], 1: [0.25]}, "neggrad")
            + _nested({0: [0.4], 1: [0.35]}, GOLD_METHOD) + _nested({0: [0.0], 1: [0.0]}, "original"))
    table = population_table(frame_of(rows))
    by_method = {line[4].split(" ")[0]: line for line in table.rows}
    assert by_method["Fine-tune"][3] == "1" and by_method["NegGrad+"][3] == "2"
    assert by_method["Fine-tune"][5] == "2 (4 runs)" and by_method["NegGrad+"][5] == "2"
    assert by_method["Fine-tune"][7] == mean_ci(np.array([0.1, 0.5]), 1.0, ".3f")
    p_column = table.header.index("p F vs retrain")
    assert by_method["Fine-tune"][p_column] == "n too small"  # two training seeds
    assert by_method["Retrain"][p_column] == "–"
    record = table.numeric.set_index("method").loc["finetune"]
    assert record["forgetting_quality_mean"] == pytest.approx(0.3) and record["runs"] == 4


def test_summary_intervals_are_over_training_seeds() -> None:
    frame = frame_of(_nested(UNSIR_F) + _nested(GOLD_F, GOLD_METHOD))
    record = summary_table(frame).numeric.set_index("method").loc["unsir"]
    low, high = t_interval(np.array([0.2, 0.2, 0.25]))
    assert record["forgetting_quality_mean"] == pytest.approx(0.65 / 3)
    assert (record["forgetting_quality_ci_low"], record["forgetting_quality_ci_high"]) == \
        pytest.approx((low, high))
