"""Bad Teacher (methods/bad_teacher.py): the incompetent teacher and the retain fraction.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

import torch

from methods.api import predict_logits
from methods.bad_teacher import BadTeacher, BadTeacherConfig
from tests.helpers import CPU, normalizer, request_for
from tests.method_contracts import contract_for

FAST = contract_for(BadTeacher).fast


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
