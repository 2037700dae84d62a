"""Interface guarantees every method relies on: declared access, retrain's fresh weights."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch

from benchmark.core.errors import DataAccessError
from methods.api import Access, UnlearningMethod
from methods.retrain import Retrain, RetrainConfig
from tests.helpers import request_for, tiny_data, trained_model


@dataclass(frozen=True)
class _NoConfig:
    pass


class Sneaky(UnlearningMethod):
    """Declares only a retain subset, then asks for the forget samples."""

    name = "sneaky"
    needs = frozenset({Access.RETAIN_SUBSET})
    Config = _NoConfig

    def unlearn(self, model, request):
        request.forget()
        return model


def test_undeclared_access_raises() -> None:
    data = tiny_data()
    request = request_for(Sneaky, data, (1,))
    with pytest.raises(DataAccessError, match="'forget'"):
        Sneaky().unlearn(None, request)
    with pytest.raises(DataAccessError, match="'retain'"):
        request.retain()
    assert request._forget is None  # the data is not even in the request


def test_declared_forget_access_is_granted() -> None:
    data = tiny_data()

    class Glancing(Sneaky):
        needs = frozenset({Access.FORGET})

    request = request_for(Glancing, data, (1,))
    assert set(request.forget().y.tolist()) == {1}
    assert Sneaky.zero_glance() and not Glancing.zero_glance()


def test_retrain_reinitialises_every_parameter() -> None:
    data = tiny_data()
    original = trained_model(data)
    method = Retrain(RetrainConfig(epochs=0))
    request = request_for(method, data, (1,))
    fresh_untrained = request.new_model()
    retrained = method.unlearn(copy.deepcopy(original), request)
    originals = dict(original.named_parameters())
    for name, parameter in retrained.named_parameters():
        assert not torch.equal(parameter, originals[name]), f"{name} kept its original value"
    # The fresh model differs from the original in every parameter too, nested ones included.
    for name, parameter in fresh_untrained.named_parameters():
        if parameter.dim() > 1:
            assert not torch.equal(parameter, originals[name]), name
