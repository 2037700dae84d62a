"""SalUn (methods/salun.py): the saliency mask, masked updates, the random labels, the order.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from benchmark.core.tensors import LabelledImages
from methods.salun import Salun, SalunConfig, random_labels, saliency_mask
from tests.helpers import CPU, accuracy_on, normalizer, request_for


def unlearned(original, data, forget, config: SalunConfig, seed: int = 0):
    method = Salun(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_the_mixed_order_forgets_several_classes_too(data, original) -> None:
    """The contract runs the default order (forget pass, then retain); this is the other."""
    config = SalunConfig(epochs=3, batch_size=32, lr=0.05, order="mixed")
    model = unlearned(original, data, (1, 4), config)
    assert accuracy_on(model, data, (1,)) < 0.2 and accuracy_on(model, data, (4,)) < 0.2
    others = tuple(c for c in range(10) if c not in (1, 4))
    assert accuracy_on(model, data, others) > 0.9  # measured 1.0


def test_mask_keeps_the_largest_forget_gradients(data, original) -> None:
    forget = LabelledImages(data.train_x[data.train_y == 2], data.train_y[data.train_y == 2])
    model = copy.deepcopy(original)
    mask = saliency_mask(model, forget, CPU, normalizer(data), 0.3, batch_size=16)
    params = dict(model.named_parameters())
    x = normalizer(data)(forget.x)
    loss = nn.functional.cross_entropy(model.eval()(x), forget.y)
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values())), strict=True))
    scores = torch.cat([grads[n].abs().flatten() for n in mask])
    chosen = torch.cat([mask[n].flatten() for n in mask])
    assert int(chosen.sum()) == int(scores.numel() * 0.3)
    assert scores[chosen].min() >= scores[~chosen].max() * (1 - 1e-4)  # up to float sums
    assert set(mask) == {n for n, p in params.items() if p.requires_grad}


def test_only_salient_weights_change(data, original) -> None:
    forget = LabelledImages(data.train_x[data.train_y == 2], data.train_y[data.train_y == 2])
    config = SalunConfig(epochs=2, batch_size=32, lr=0.05, mask_fraction=0.2)
    mask = saliency_mask(copy.deepcopy(original), forget, CPU, normalizer(data), 0.2, 32)
    model = unlearned(original, data, (2,), config)
    before, after = dict(original.named_parameters()), dict(model.named_parameters())
    moved = 0
    for name, keep in mask.items():
        assert torch.equal(after[name][~keep], before[name][~keep]), name
        moved += int((after[name][keep] != before[name][keep]).sum())
    assert moved > 0


def test_random_labels_are_wrong_unless_the_reference_quirk_is_on() -> None:
    labels = torch.arange(10).repeat(100)
    wrong = random_labels(labels, 10, torch.Generator().manual_seed(0), any_label=False)
    assert not bool((wrong == labels).any())
    assert set(wrong.tolist()) == set(range(10))
    anything = random_labels(labels, 10, torch.Generator().manual_seed(0), any_label=True)
    assert bool((anything == labels).any())  # randint(0, C) keeps the true label 1/C of the time
