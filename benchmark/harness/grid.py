"""Expands a RunSpec into work: groups of (model, data set, seed), each with forget sets
and methods, after checking every name, setting and forget set, so bad input fails before
any work."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.core.config import check_bounds
from benchmark.core.errors import UserError
from benchmark.core.hashing import content_hash
from benchmark.core.roles import GOLD_METHOD, REFERENCE_ROLES, Role
from benchmark.core.seeding import MODEL_INIT_STRIDE, check_seed, derive_seed
from benchmark.core.tensors import LabelledImages, balanced_subset
from benchmark.harness.options import DataOptions
from benchmark.harness.spec import CellSpec, RunSpec
from benchmark.models import MODELS, create_model
from datasets import DATASETS, DataSource, ImageDataset, import_builtins, load_dataset
from datasets.forget_sets import ForgetSet, parse_forget_sets
from methods import METHODS, UnlearningMethod
from methods import import_builtins as import_methods

ALL_METHODS = "all"


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
    """Work sharing one trained original: a model, a data set and a seed."""

    model: str
    dataset: str
    seed: int
    data: ImageDataset
    forget_sets: list[ForgetSet]
    methods: list[str]  # requested methods; the gold method is a reference, run regardless
    data_fingerprint: str = ""
    weight_bytes: int = 0  # size of one checkpoint of the model, for the free-space check

    def model_factory(self, kwargs: dict) -> ModelFactory:
        return ModelFactory(self.model, tuple(sorted(kwargs.items())), self.data.num_classes,
                            self.data.channels, self.data.image_size, self.seed)


def validate_names(spec: RunSpec) -> None:
    """Unknown method, model or data set names fail here, listing the known ones."""
    import_methods()
    import_builtins()
    if not spec.methods:
        raise UserError("no method given; use --methods unsir,fisher,retrain")
    if ALL_METHODS in spec.methods:  # --methods all: every registered method
        spec.methods = METHODS.names()
    for name in spec.methods:
        if name == Role.ORIGINAL.value:
            raise UserError(f"{name!r} is not a method: its row is always stored as the reference")
        METHODS.get(name)
    for name in spec.models:
        if not name.startswith("timm:"):
            MODELS.get(name)
    for name in spec.datasets:
        DATASETS.get(name)
    if not spec.seeds:
        raise UserError("no seed given; use --seeds 0 or --seeds 0,1,2")
    if spec.executor not in ("local", "ray"):
        raise UserError(f"unknown executor {spec.executor!r}; use local or ray")
    for seed in spec.seeds:
        check_seed(seed)
    for section in spec.method_settings:
        if section not in METHODS:
            raise UserError(f"--set {section}.…: {section!r} is not a method or setting section; "
                            f"known: train, metrics, data, engine, {', '.join(METHODS.names())}")


def method_instance(spec: RunSpec, name: str) -> UnlearningMethod:
    """The method with its config: defaults, then the preset's and --set values."""
    from benchmark.core.config import apply_overrides

    cls = METHODS.get(name)
    config = apply_overrides(cls.Config(), spec.method_settings.get(name, {}), name)
    check_bounds(config, name)
    return cls(config)


def validate_spec(spec: RunSpec) -> None:
    """Every check that needs no data: names, seeds, method settings, recipes."""
    validate_names(spec)
    for name in {*spec.methods, GOLD_METHOD}:
        method_instance(spec, name)  # bad --set values fail now, not after training
    for model in spec.models:
        for dataset in spec.datasets:
            spec.recipe_for(model, dataset)  # bad per-model recipe tables fail now


def expand(spec: RunSpec, data: dict[str, ImageDataset] | None = None) -> list[Group]:
    """Load each data set once, parse forget sets against it, and list the groups.

    ``data`` supplies data sets by name instead of loading them (tuning passes a view whose
    test split is a validation split carved out of the training data).
    """
    validate_spec(spec)
    source = DataSource(data_root=spec.data_root, cache_dir=str(spec.data_cache_dir()))
    given = data or {}
    datasets = {name: limit_per_class(given[name] if name in given else load_dataset(name, source),
                                      spec.data)
                for name in spec.datasets}
    groups = []
    for dataset_name, data in datasets.items():
        forget_sets: list[ForgetSet] = []
        for text in spec.forget:
            forget_sets += [s for s in parse_forget_sets(text, data) if s not in forget_sets]
        fingerprint = content_hash(data.train_x, data.train_y, data.test_x, data.test_y)
        for model in spec.models:
            built = create_model(model, data.num_classes, data.channels, data.image_size,
                                 **spec.model_kwargs.get(model, {}))  # bad model kwargs fail early
            weight_bytes = sum(t.numel() * t.element_size() for t in built.state_dict().values())
            for seed in spec.seeds:
                groups.append(Group(model, dataset_name, seed, data, forget_sets,
                                    [m for m in spec.methods if m not in REFERENCE_ROLES],
                                    fingerprint, weight_bytes))
    return groups


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


def cell(spec: RunSpec, group: Group, forget: ForgetSet, method: str,
         engine_setup: tuple[str, str, bool]) -> CellSpec:
    """The cell of ``method`` (or a reference role's value) for ``forget`` in ``group``.

    ``engine_setup`` is (device type, precision, channels_last) of the resolved Engine.
    """
    device_type, precision, channels_last = engine_setup
    config = {} if method == Role.ORIGINAL.value else method_instance(spec, method).config
    return CellSpec(
        model=group.model,
        model_kwargs=spec.model_kwargs.get(group.model, {}),
        dataset=group.dataset,
        forget=forget,
        seed=group.seed,
        recipe=spec.recipe_for(group.model, group.dataset),
        method=method,
        method_config=config,
        device_type=device_type,
        metrics=spec.metrics,
        data=spec.data,
        precision=precision,
        channels_last=channels_last,
    )
