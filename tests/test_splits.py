"""Forget-set parsing and class-balanced retain subsets."""

from __future__ import annotations

import pytest
import torch

from benchmark.core.errors import UserError
from benchmark.core.tensors import LabelledImages
from datasets.splits import balanced_subset, parse_forget, split_forget_retain


def test_parse_forget_forms() -> None:
    assert parse_forget("3", 10) == [(3,)]
    assert parse_forget("2,0", 10) == [(0, 2)]
    assert parse_forget("each", 3) == [(0,), (1,), (2,)]
    drawn = parse_forget("random:4", 100)
    assert len(drawn[0]) == 4 and drawn == parse_forget("random:4", 100)
    assert drawn != parse_forget("random:4:1", 100)


@pytest.mark.parametrize("text, message", [
    ("10", "out of range"), ("-1", "out of range"), ("0,1,2", "every class"),
    ("a", "bad --forget"), ("1,1", "repeats"), ("random:3", "between 1 and 2"), ("", "empty"),
])
def test_parse_forget_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_forget(text, 10 if text in ("10", "-1", "a", "1,1", "") else 3)


def test_split_forget_retain_is_disjoint() -> None:
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    forget, retain = split_forget_retain(x, y, (1,))
    assert set(forget.y.tolist()) == {1} and 1 not in retain.y.tolist()
    assert len(forget) + len(retain) == 10


def test_balanced_subset_sizes_and_order() -> None:
    y = torch.tensor([0] * 5 + [1] * 3 + [2] * 7)
    data = LabelledImages(torch.arange(15, dtype=torch.uint8).view(15, 1, 1, 1), y)
    subset = balanced_subset(data, 4, first_in_order=False, seed=0)
    assert torch.bincount(subset.y).tolist() == [4, 3, 4]
    first = balanced_subset(data, 2, first_in_order=True, seed=0)
    assert first.x.flatten().tolist() == [0, 1, 5, 6, 8, 9]
    assert balanced_subset(data, 4, False, 0).x.equal(subset.x)  # seeded


def test_per_class_caps_for_quick_real_data_checks() -> None:
    from benchmark.harness.grid import limit_per_class
    from benchmark.harness.spec import DataOptions
    from datasets.synthetic import make_synthetic

    data = make_synthetic()
    capped = limit_per_class(data, DataOptions(train_per_class=5, test_per_class=2))
    assert torch.bincount(capped.train_y).tolist() == [5] * 10
    assert torch.bincount(capped.test_y).tolist() == [2] * 10
    assert limit_per_class(data, DataOptions()).train_x.equal(data.train_x)
