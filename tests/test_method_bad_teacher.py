"""Bad Teacher (methods/bad_teacher.py): forgets, is deterministic, uses only declared data."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmark.core.config import apply_overrides
from benchmark.core.errors import DataAccessError, UserError
from benchmark.models import create_model
from methods.api import predict_logits
from methods.bad_teacher import BadTeacher, BadTeacherConfig
from tests.helpers import CPU, accuracy_on, normalizer, request_for, tiny_data, trained_model

# Larger lr and more epochs than the CIFAR-scale defaults: the toy set's forget set plus 30%
# of its retain set is ~7 batches of 32.
FAST = BadTeacherConfig(epochs=3, lr=3e-3, batch_size=32)


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def original(data):
    return trained_model(data)


def _others(forget: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in range(10) if c not in forget)


def _unlearn(config: BadTeacherConfig, original, data, forget, seed: int = 0):
    method = BadTeacher(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_forgets_the_class_and_keeps_the_rest(data, original) -> None:
    # Measured: forget 1.00 -> 0.00, retain 1.00 -> 1.00 (chance is 0.10).
    assert accuracy_on(original, data, (2,)) > 0.9
    model = _unlearn(FAST, original, data, (2,))
    assert accuracy_on(model, data, (2,)) < 0.3
    assert accuracy_on(model, data, _others((2,))) > 0.85


def test_forget_outputs_move_to_the_incompetent_teacher(data, original) -> None:
    request = request_for(BadTeacher, data, (2,))
    teacher = request.new_model().eval()  # the same initialisation the method draws
    images = data.train_x[data.train_y == 2]

    def gap(model) -> float:
        """Mean KL(incompetent teacher || model) on the forget samples."""
        target = predict_logits(teacher, images, CPU, normalizer(data)).softmax(1)
        log_model = predict_logits(model, images, CPU, normalizer(data)).log_softmax(1)
        return float(torch.nn.functional.kl_div(log_model, target, reduction="batchmean"))

    model = BadTeacher(FAST).unlearn(copy.deepcopy(original), request)
    # Measured: 2.45 for the original, 0.05 after unlearning.
    assert gap(model) < 0.2 * gap(original)


def test_distils_on_the_declared_part_of_the_retain_set(data, original) -> None:
    method = BadTeacher(BadTeacherConfig(epochs=0, retain_fraction=0.25))
    request = request_for(method, data, (2,))
    method.unlearn(copy.deepcopy(original), request)
    assert request.samples_seen == {"forget": 60, "retain": 135}  # int(0.25 * 540)


def test_same_seed_same_weights_whatever_the_global_rng(data, original) -> None:
    torch.manual_seed(1)
    first = _unlearn(FAST, original, data, (2,), seed=5)
    torch.manual_seed(2)
    second = _unlearn(FAST, original, data, (2,), seed=5)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = _unlearn(FAST, original, data, (2,), seed=6)
    assert not torch.equal(other.classifier.weight, first.classifier.weight)


@pytest.mark.parametrize("missing", sorted(BadTeacher.needs, key=lambda a: a.value))
def test_each_declared_access_is_needed(data, original, missing) -> None:
    class Lacking(BadTeacher):
        needs = frozenset(BadTeacher.needs - {missing})

    request = request_for(Lacking, data, (2,))
    with pytest.raises(DataAccessError, match=repr(missing.value)):
        BadTeacher(FAST).unlearn(copy.deepcopy(original), request)


def test_several_forget_classes(data, original) -> None:
    # Measured: both classes 1.00 -> 0.00, retain 1.00.
    model = _unlearn(FAST, original, data, (1, 4))
    assert accuracy_on(model, data, (1,)) < 0.3 and accuracy_on(model, data, (4,)) < 0.3
    assert accuracy_on(model, data, _others((1, 4))) > 0.85


def test_runs_on_allcnn() -> None:
    small = tiny_data(train_per_class=12, test_per_class=2)

    def allcnn():
        torch.manual_seed(0)
        return create_model("allcnn", small.num_classes, small.channels, small.image_size)

    model = allcnn()
    before = copy.deepcopy(model.state_dict())
    method = BadTeacher(BadTeacherConfig(batch_size=64))
    request = request_for(method, small, (0, 3))
    request.new_model = allcnn  # the incompetent teacher must match the student's architecture
    out = method.unlearn(model, request)
    changed = [n for n, p in out.named_parameters() if not torch.equal(p, before[n])]
    assert changed and all(torch.isfinite(p).all() for p in out.parameters())


@pytest.mark.parametrize("key, value", [("lr", -1), ("temperature", 0), ("retain_fraction", 0),
                                        ("retain_fraction", 1.5), ("batch_size", 0)])
def test_out_of_bounds_settings_are_refused(key, value) -> None:
    with pytest.raises(UserError, match=f"bad_teacher.{key}"):
        apply_overrides(BadTeacherConfig(), {key: value}, "bad_teacher")
