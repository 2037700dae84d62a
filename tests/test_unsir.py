"""The pieces of UNSIR that decide fidelity to the paper and the reference notebook."""

from __future__ import annotations

import copy
import dataclasses

import torch

from benchmark.core.tensors import Normalizer
from methods.unsir import Unsir, UnsirConfig
from tests.helpers import request_for

FAST = dict(noise_batch=16, noise_steps=5, noise_copies=3, batch_size=64)


def test_noise_labels_and_count_fixed(data, original) -> None:
    method = Unsir(UnsirConfig(**FAST))
    noise = method.learn_noise(copy.deepcopy(original), request_for(method, data, (1, 4)))
    assert len(noise) == 2 * 16 * 3
    assert noise.base.y.tolist() == [1] * 16 + [4] * 16  # each sample labelled with its class
    assert noise.base.x.dtype == torch.float32
    assert torch.unique(noise.base.x.flatten(1), dim=0).shape[0] == 32  # all distinct


def test_reference_quirks_reproduce_the_notebook(data, original) -> None:
    config = UnsirConfig(**FAST, quirk_three_noise_images=True, quirk_label_zero=True)
    method = Unsir(config)
    noise = method.learn_noise(copy.deepcopy(original), request_for(method, data, (2, 5)))
    channels = data.channels
    assert len(noise.base) == 2 * channels  # batch[0].size(0) = C images per class
    assert set(noise.base.y.tolist()) == {0}  # class_num = 0 for every noise sample
    assert len(noise) == 2 * channels * 3


def _bn_stats(model):
    return [b.clone() for name, b in model.named_buffers() if "running" in name]


def test_noise_is_learned_in_eval_mode_and_leaves_the_model_untouched(data, original) -> None:
    model = copy.deepcopy(original).train()
    before = copy.deepcopy(model.state_dict())
    Unsir(UnsirConfig(**FAST)).learn_noise(model, request_for(Unsir, data, (1,)))
    assert model.training  # mode restored
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.requires_grad for p in model.parameters())


def test_train_mode_quirk_lets_batchnorm_absorb_the_noise(data, original) -> None:
    model = copy.deepcopy(original)
    before = _bn_stats(model)
    config = UnsirConfig(**FAST, quirk_train_mode_noise=True)
    Unsir(config).learn_noise(model, request_for(Unsir, data, (1,)))
    assert any(not torch.equal(a, b) for a, b in zip(before, _bn_stats(model), strict=True))


def test_retain_subset_size_and_balance(data, original) -> None:
    method = Unsir(UnsirConfig(**FAST, retain_per_class=7))
    request = request_for(method, data, (0, 3))
    subset = request.retain_subset(7)
    counts = torch.bincount(subset.y, minlength=data.num_classes)
    assert counts[0] == 0 and counts[3] == 0
    assert all(counts[c] == 7 for c in range(data.num_classes) if c not in (0, 3))
    method.unlearn(copy.deepcopy(original), request)
    assert request.samples_seen == {"retain_subset": 7 * (data.num_classes - 2)}


def test_multi_class_noise_batched_equals_separate(data, original) -> None:
    method = Unsir(UnsirConfig(**FAST))
    model = copy.deepcopy(original).eval()
    request = request_for(method, data, (1, 2))
    start = torch.randn(32, *request.image_shape, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([1] * 16 + [2] * 16)
    joint = method._optimise_noise(model, start, labels, request, False)
    first = method._optimise_noise(model, start[:16], labels[:16], request_for(method, data, (1,)), False)
    second = method._optimise_noise(model, start[16:], labels[16:], request_for(method, data, (2,)), False)
    torch.testing.assert_close(joint, torch.cat([first, second]), rtol=1e-4, atol=1e-4)


def test_unsir_never_touches_a_forget_sample(data, original, monkeypatch) -> None:
    """Tripwire: forget-class images are all 255; no batch UNSIR normalises may hold one."""
    forget = (2,)
    poisoned_x = data.train_x.clone().clamp_(max=254)
    poisoned_x[data.train_y == 2] = 255
    poisoned = dataclasses.replace(data, train_x=poisoned_x)
    real_call = Normalizer.__call__

    def guarded(self, x):
        if x.dtype == torch.uint8:
            assert not (x.flatten(1) == 255).all(1).any(), "UNSIR received a forget sample"
        return real_call(self, x)

    monkeypatch.setattr(Normalizer, "__call__", guarded)
    method = Unsir(UnsirConfig(**FAST))
    request = request_for(method, poisoned, forget)
    assert request._forget is None and request._retain is None
    method.unlearn(copy.deepcopy(original), request)
    assert "forget" not in request.samples_seen
