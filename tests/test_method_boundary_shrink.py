"""Boundary shrink (methods/boundary_shrink.py): the neighbour search and its labels.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from benchmark.core.tensors import LabelledImages
from methods.boundary_shrink import neighbour_labels
from tests.helpers import CPU, normalizer


def forget_set(data, classes):
    mask = torch.isin(data.train_y, torch.tensor(classes))
    return LabelledImages(data.train_x[mask], data.train_y[mask])


def test_neighbour_labels_are_one_fgsm_step_in_pixel_space(data, original) -> None:
    """A brute-force FGSM in [0, 1] pixels (manual standardisation) gives the same labels."""
    forget = forget_set(data, (2, 5))
    model = copy.deepcopy(original).eval()
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    pixels = (forget.x.float() / 255.0).requires_grad_(True)
    loss = nn.functional.cross_entropy(model((pixels - mean) / std), forget.y)
    (grad,) = torch.autograd.grad(loss, [pixels])
    stepped = torch.round((pixels.detach() + 0.1 * grad.sign()).clamp(0, 1) * 255) / 255
    with torch.no_grad():
        logits = model((stepped - mean) / std)
    got = neighbour_labels(model, forget, CPU, normalizer(data), 0.1, 7, allow_true_label=True)
    assert torch.equal(got, logits.argmax(1))
    runner_up = logits.scatter(1, forget.y.unsqueeze(1), float("-inf")).argmax(1)
    wrong = neighbour_labels(model, forget, CPU, normalizer(data), 0.1, 7)
    assert torch.equal(wrong, torch.where(got == forget.y, runner_up, got))
    assert not bool((wrong == forget.y).any())


def test_neighbour_search_leaves_the_model_as_it_was(data, original) -> None:
    model = copy.deepcopy(original).train()
    for param in model.parameters():
        param.grad = None
    before = copy.deepcopy(model.state_dict())
    neighbour_labels(model, forget_set(data, (3,)), CPU, normalizer(data), 0.1, 16)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
