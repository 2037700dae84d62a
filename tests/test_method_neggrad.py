"""NegGrad+ (methods/neggrad.py): plain gradient ascent without the retain set.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy

from methods.api import Access
from methods.neggrad import NegGrad, NegGradConfig
from tests.helpers import accuracy_on, request_for

ASCENT = NegGradConfig(ascent_only=True, epochs=2, lr=0.1, forget_batch_size=32)


def _others(forget: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in range(10) if c not in forget)


def test_plain_gradient_ascent_needs_no_retain_data(data, original) -> None:
    # ascent_only never asks for the retain set: a request without it works.
    class ForgetOnly(NegGrad):
        needs = frozenset({Access.FORGET})

    request = request_for(ForgetOnly, data, (2,))
    model = NegGrad(ASCENT).unlearn(copy.deepcopy(original), request)
    assert request.samples_seen == {"forget": 60}
    # Measured: forget 0.00, retain 0.97.
    assert accuracy_on(model, data, (2,)) < 0.3
    assert accuracy_on(model, data, _others((2,))) > 0.6
