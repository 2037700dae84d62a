"""Small builders shared by tests: a trained tiny model and a request for a method."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, train_with_recipe
from benchmark.harness.requests import build_request
from benchmark.models import create_model
from datasets.base import ImageDataset
from datasets.synthetic import make_synthetic
from methods.api import UnlearningMethod, UnlearnRequest

CPU = Engine.for_device("cpu")
RECIPE = TrainRecipe(epochs=4, batch_size=64, lr=0.05, augment=False)


def tiny_data(**kwargs) -> ImageDataset:
    return make_synthetic(**kwargs)


def new_model(data: ImageDataset, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_model("smallcnn", data.num_classes, data.channels, data.image_size)


def trained_model(data: ImageDataset, seed: int = 0) -> nn.Module:
    model = new_model(data, seed)
    train_with_recipe(model, LabelledImages(data.train_x, data.train_y), RECIPE, CPU,
                      normalizer(data), seed)
    return model.eval()


def normalizer(data: ImageDataset) -> Normalizer:
    return Normalizer(data.mean, data.std, CPU.device)


def request_for(method: UnlearningMethod | type[UnlearningMethod], data: ImageDataset,
                forget: tuple[int, ...], seed: int = 0) -> UnlearnRequest:
    return build_request(method, data, forget, seed, CPU, RECIPE, lambda: new_model(data, 99),
                         normalizer(data))


def accuracy_on(model: nn.Module, data: ImageDataset, classes: tuple[int, ...]) -> float:
    from benchmark.core.training import predict_logits

    mask = torch.isin(data.test_y, torch.tensor(classes))
    logits = predict_logits(model, data.test_x[mask], CPU, normalizer(data))
    return float((logits.argmax(1) == data.test_y[mask]).float().mean())


def copy_db(source: Path, folder: Path) -> Path:
    """A byte-for-byte copy of the database ``source`` as ``folder/r.sqlite``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "r.sqlite"
    shutil.copy2(source, target)
    return target
