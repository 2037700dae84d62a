"""ToW ("tug of war"): how close a model's accuracies come to the gold retrained model's.

Zhao et al., "What makes unlearning hard and what to do about it" (NeurIPS 2024; ``tow`` in
their code, github.com/kairanzhao/RUM ``surgical_plugins/analysis.py``) score an unlearned
model by the product over the forget, retain and test sets of
``1 - |accuracy of the unlearned model - accuracy of the retrained model|``. The suite uses
the forget and retain factors (the test factor mixes the two and would count them twice):

    tow = (1 - |forget_acc - gold forget_acc|) * (1 - |retain_acc - gold retain_acc|)

with accuracies as fractions in [0, 1]: 1 when both equal the gold model's, 0 when either is
as far from it as it can be. Two readers, defined once here: the tuning objective
(benchmark.tuning.objective, on a validation split) and the leaderboard's ranking
(reports.leaderboard, on the test split; docs/REPORTS.md).
"""

from __future__ import annotations


def tow(forget: float, retain: float, gold_forget: float, gold_retain: float) -> float:
    """The ToW of one cell (see the module docstring); accuracies in [0, 1]."""
    return (1 - abs(forget - gold_forget)) * (1 - abs(retain - gold_retain))
