"""Random labels (methods/random_label.py): the wrong labels it draws.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import pytest
import torch

from methods.random_label import random_wrong_labels


def test_wrong_labels_are_wrong_uniform_and_seeded() -> None:
    labels = torch.tensor([0, 3, 9] * 2000)
    drawn = random_wrong_labels(labels, 10, torch.Generator().manual_seed(0))
    assert not (drawn == labels).any()
    for true in (0, 3, 9):
        counts = torch.bincount(drawn[labels == true], minlength=10)
        assert counts[true] == 0 and (counts[torch.arange(10) != true] > 150).all()
    again = random_wrong_labels(labels, 10, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, again)
    with pytest.raises(ValueError, match="two classes"):
        random_wrong_labels(torch.zeros(3, dtype=torch.long), 1, torch.Generator())
