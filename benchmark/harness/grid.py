"""Expands a plan into work: groups of (model, data set, seed), each with its data, forget
sets, methods and model factory, and what their checkpoints will take on disk. The plan
checked every name and setting already; the forget sets are parsed here, against the loaded
data, before any training."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.engine import Engine
from benchmark.core.hashing import content_hash
from benchmark.core.seeding import MODEL_INIT_STRIDE, derive_seed
from benchmark.core.tensors import LabelledImages, Normalizer, balanced_subset
from benchmark.core.training import TrainRecipe
from benchmark.harness.options import DataOptions
from benchmark.harness.plan import Plan
from benchmark.harness.progress import Reporter
from benchmark.models import create_model
from datasets import DataSource, ImageDataset, load_dataset
from datasets.forget_sets import ForgetSet, parse_forget_sets


@dataclass(frozen=True)
class ModelFactory:
    """Builds freshly initialised models of one architecture; holds sizes, never data.

    It is what an UnlearnRequest's ``new_model`` calls, so a request holds no reference to
    any sample through it (the zero-glance guarantee covers closures too).
    """

    name: str
    kwargs: tuple[tuple[str, object], ...]
    num_classes: int
    channels: int
    image_size: int
    seed: int

    def __call__(self, salt: int = 1) -> nn.Module:
        """A model initialised from the stream ``salt`` (0: the original; 1: fresh models)."""
        torch.manual_seed(derive_seed(self.seed, salt, MODEL_INIT_STRIDE))
        return create_model(self.name, self.num_classes, self.channels, self.image_size,
                            **dict(self.kwargs))


@dataclass
class Group:
    """Work sharing one trained original: a model (with its options), a data set and a seed.

    ``factory`` builds the group's models; it is made from the other fields, so a copy with
    another seed (``dataclasses.replace``) gets that seed's factory.
    """

    model: str
    dataset: str
    seed: int
    data: ImageDataset
    forget_sets: list[ForgetSet]
    methods: list[str]  # requested methods; the gold method is a reference, run regardless
    data_fingerprint: str = ""
    weight_bytes: int = 0  # size of one checkpoint of the model, for the free-space check
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)  # the plan's, for this model
    factory: ModelFactory = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.factory = self.model_factory(self.model_kwargs)

    def model_factory(self, kwargs: Mapping[str, Any]) -> ModelFactory:
        return ModelFactory(self.model, tuple(sorted(kwargs.items())), self.data.num_classes,
                            self.data.channels, self.data.image_size, self.seed)


def expand(plan: Plan, data: dict[str, ImageDataset] | None = None) -> list[Group]:
    """Load each data set once, parse forget sets against it, and list the groups.

    ``data`` supplies data sets by name instead of loading them (tuning passes a view whose
    test split is a validation split carved out of the training data).
    """
    source = DataSource(data_root=plan.data_root, cache_dir=str(plan.data_cache_dir))
    given = data or {}
    datasets = {name: limit_per_class(given[name] if name in given else load_dataset(name, source),
                                      plan.data)
                for name in plan.datasets}
    groups = []
    for dataset_name, data in datasets.items():
        forget_sets: list[ForgetSet] = []
        for text in plan.forget:
            forget_sets += [s for s in parse_forget_sets(text, data) if s not in forget_sets]
        fingerprint = content_hash(data.train_x, data.train_y, data.test_x, data.test_y)
        for model in plan.models:
            built = create_model(model, data.num_classes, data.channels, data.image_size,
                                 **plan.model_kwargs.get(model, {}))  # bad model kwargs fail early
            weight_bytes = sum(t.numel() * t.element_size() for t in built.state_dict().values())
            for seed in plan.seeds:
                groups.append(Group(model, dataset_name, seed, data, forget_sets,
                                    plan.unlearning_methods, fingerprint, weight_bytes,
                                    dict(plan.model_kwargs.get(model, {}))))
    return groups


def checkpoint_bytes(plan: Plan, groups: list[Group]) -> int:
    """Bytes the checkpoints of ``groups`` take: each original and gold model, the unlearned
    models with ``save_models``, and a population's N originals and 2N retrained a forget set."""
    need = 0
    for group in groups:
        per_forget = 1 + (len(group.methods) if plan.save_models else 0)
        need += group.weight_bytes * (1 + per_forget * len(group.forget_sets))
        n = plan.metrics.population
        need += group.weight_bytes * n * (1 + 2 * len(group.forget_sets))
    return need


def limit_per_class(data: ImageDataset, options: DataOptions) -> ImageDataset:
    """The first ``train_per_class`` / ``test_per_class`` samples of each class (0 = all)."""
    splits = {}
    for split, cap in (("train", options.train_per_class), ("test", options.test_per_class)):
        if not cap:
            continue
        y = getattr(data, f"{split}_y")
        # Subset the row numbers, so every per-row tensor (images, labels, fine labels) follows.
        rows = balanced_subset(LabelledImages(torch.arange(len(y)), y), cap, True, 0).x
        for name in (f"{split}_x", f"{split}_y", f"{split}_fine_y"):
            if getattr(data, name) is not None:
                splits[name] = getattr(data, name)[rows]
    return dataclasses.replace(data, **splits)


@dataclass(frozen=True)
class GroupContext:
    """What every step of one group's work shares: the plan, the group and its tools.

    The references, requests, evaluator and rows of a group read their settings from here
    instead of taking them one argument at a time.
    """

    plan: Plan
    group: Group
    artifacts: ArtifactStore
    factory: ModelFactory
    normalizer: Normalizer
    reporter: Reporter

    @property
    def engine(self) -> Engine:
        return self.plan.engine

    @property
    def recipe(self) -> TrainRecipe:
        return self.plan.recipe(self.group.model, self.group.dataset)

    def where(self, forget: ForgetSet | None = None) -> str:
        """``model/dataset [forget F] seed S``: how progress lines and warnings name the work."""
        group = self.group
        forget_text = f" forget {forget.label}" if forget is not None else ""
        return f"{group.model}/{group.dataset}{forget_text} seed {group.seed}"
