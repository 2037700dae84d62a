"""SCRUB (methods/scrub.py): its max passes on the forget set are what forgets.

What every method must do is checked in tests/test_method_contract.py.
"""

from __future__ import annotations

import copy
import dataclasses

from methods.scrub import Scrub, ScrubConfig
from tests.helpers import accuracy_on, request_for
from tests.method_contracts import contract_for

FAST = contract_for(Scrub).fast


def _unlearn(config: ScrubConfig, original, data, forget, seed: int = 0):
    method = Scrub(config)
    return method.unlearn(copy.deepcopy(original), request_for(method, data, forget, seed))


def test_the_max_passes_are_what_forgets(data, original) -> None:
    # Without max passes SCRUB is distillation plus fine-tuning on the retain set alone,
    # which at these settings leaves the class intact (measured: forget accuracy 1.00).
    model = _unlearn(dataclasses.replace(FAST, max_epochs=0), original, data, (2,))
    assert accuracy_on(model, data, (2,)) > 0.8
