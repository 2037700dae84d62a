"""Zero-glance, proven: a request for a method without FORGET access reaches no forget image.

The walk follows every reference a request holds (fields, closures' cells, default
arguments, bound methods, containers, tensors' whole storages) and searches each storage
for the bytes of every forget-class training image. A positive control shows the walk finds
them when a method does declare FORGET.
"""

from __future__ import annotations

import gc
import types
from typing import Any

import pytest
import torch
from torch import nn

from benchmark.harness.grid import ModelFactory
from benchmark.harness.requests import build_request
from methods import METHODS, import_builtins
from methods.api import Access, UnlearningMethod
from tests.helpers import CPU, RECIPE, normalizer

FORGET = (3, 5)


def _storage_bytes(tensor: torch.Tensor) -> bytes:
    """Every byte of the storage behind ``tensor`` (a view reaches its whole base)."""
    storage = tensor.untyped_storage()
    flat = torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(storage)
    return flat.cpu().numpy().tobytes()


def reachable_tensors(root: Any) -> list[torch.Tensor]:
    """Tensors reachable from ``root``, not following modules, classes or function globals."""
    seen: set[int] = set()
    stack, found = [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            found.append(obj)
        elif isinstance(obj, types.FunctionType):  # its closure and defaults, not its globals
            stack += [cell.cell_contents for cell in obj.__closure__ or ()]
            stack += [*(obj.__defaults__ or ()), *(obj.__kwdefaults__ or {}).values()]
            stack += list(obj.__dict__.values())
        elif isinstance(obj, types.MethodType):
            stack += [obj.__self__, obj.__func__]
        else:
            stack += gc.get_referents(obj)
    return found


def forget_images_reached(request: Any, data) -> int:
    """How many distinct forget-only images have their bytes in a reachable storage."""
    forget_mask = torch.isin(data.train_y, torch.tensor(FORGET))
    retain_images = {bytes(x.numpy().tobytes()) for x in data.train_x[~forget_mask]}
    forget_images = {bytes(x.numpy().tobytes()) for x in data.train_x[forget_mask]} - retain_images
    storages = [_storage_bytes(t) for t in reachable_tensors(request)
                if t.dtype == torch.uint8 and t.numel() > 0]
    return sum(any(image in storage for storage in storages) for image in forget_images)


def _request(method: type[UnlearningMethod], data) -> Any:
    # The harness's own model factory: what runs in a real grid, not a test lambda.
    factory = ModelFactory("smallcnn", (), data.num_classes, data.channels, data.image_size, 0)
    return build_request(method, data, FORGET, 0, CPU, RECIPE, factory, normalizer(data))


@pytest.mark.parametrize("name", ["unsir", "retrain", "fisher", "finetune"])
def test_requests_of_methods_without_forget_access_reach_no_forget_image(name, data) -> None:
    import_builtins()
    method = METHODS.get(name)
    assert method.zero_glance()
    request = _request(method, data)
    assert len(reachable_tensors(request)) > 0  # the walk does reach the request's data
    assert forget_images_reached(request, data) == 0


def test_the_walk_finds_forget_images_when_access_is_declared(data) -> None:
    class Glancing(UnlearningMethod):
        name = "glancing"
        needs = frozenset({Access.FORGET, Access.RETAIN})
        Config = dict

        def unlearn(self, model: nn.Module, request) -> nn.Module:
            return model

    reached = forget_images_reached(_request(Glancing, data), data)
    assert reached == int(torch.isin(data.train_y, torch.tensor(FORGET)).sum())


def test_a_model_builder_closing_over_the_data_set_would_be_caught(data) -> None:
    """The hole this test exists for: a ``new_model`` closure that holds the whole data set."""
    import_builtins()
    request = _request(METHODS.get("unsir"), data)
    request.new_model = lambda: nn.Linear(data.train_x.shape[1], data.num_classes)
    assert forget_images_reached(request, data) > 0
