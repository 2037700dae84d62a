"""Expands a RunSpec into work: groups of (model, data set, seed), each with forget sets
and methods, after checking every name and forget set so bad input fails before any work."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from benchmark.core.config import apply_overrides
from benchmark.core.errors import UserError
from benchmark.core.tensors import LabelledImages
from benchmark.harness.spec import CellSpec, DataOptions, RunSpec
from benchmark.models import MODELS, create_model
from datasets import DATASETS, DataSource, ImageDataset, import_builtins, load_dataset
from datasets.splits import balanced_subset, parse_forget
from methods import METHODS, UnlearningMethod
from methods import import_builtins as import_methods

REFERENCE_METHODS = ("original", "retrain")


@dataclass
class Group:
    """Work sharing one trained original: a model, a data set and a seed."""

    model: str
    dataset: str
    seed: int
    data: ImageDataset
    forget_sets: list[tuple[int, ...]]
    methods: list[str]  # requested methods, "retrain" excluded (it is always the gold row)


def validate_names(spec: RunSpec) -> None:
    """Unknown method, model or data set names fail here, listing the known ones."""
    import_methods()
    import_builtins()
    if not spec.methods:
        raise UserError("no method given; use --methods unsir,fisher,retrain")
    for name in spec.methods:
        METHODS.get(name)
    for name in spec.models:
        if not name.startswith("timm:"):
            MODELS.get(name)
    for name in spec.datasets:
        DATASETS.get(name)
    if not spec.seeds:
        raise UserError("no seed given; use --seeds 0 or --seeds 0,1,2")
    for section in spec.method_settings:
        if section not in METHODS:
            raise UserError(f"--set {section}.…: {section!r} is not a method; known: {', '.join(METHODS.names())}")


def method_instance(spec: RunSpec, name: str) -> UnlearningMethod:
    """The method with its config: defaults, then the preset's and --set values."""
    cls = METHODS.get(name)
    config = apply_overrides(cls.Config(), spec.method_settings.get(name, {}), name)
    return cls(config)


def expand(spec: RunSpec) -> list[Group]:
    """Load each data set once, parse forget sets against it, and list the groups."""
    validate_names(spec)
    source = DataSource(data_root=spec.data_root, cache_dir=spec.cache_dir)
    datasets = {name: limit_per_class(load_dataset(name, source), spec.data)
                for name in spec.datasets}
    for name in spec.methods:
        method_instance(spec, name)  # bad --set values fail now, not after training
    groups = []
    for dataset_name, data in datasets.items():
        forget_sets: list[tuple[int, ...]] = []
        for text in spec.forget:
            forget_sets += [s for s in parse_forget(text, data.num_classes) if s not in forget_sets]
        for model in spec.models:
            create_model(model, data.num_classes, data.channels, data.image_size,
                         **spec.model_kwargs.get(model, {}))  # bad model kwargs fail early
            for seed in spec.seeds:
                groups.append(Group(model, dataset_name, seed, data, forget_sets,
                                    [m for m in spec.methods if m not in REFERENCE_METHODS]))
    return groups


def limit_per_class(data: ImageDataset, options: DataOptions) -> ImageDataset:
    """The first ``train_per_class`` / ``test_per_class`` samples of each class (0 = all)."""
    splits = {}
    for split, cap in (("train", options.train_per_class), ("test", options.test_per_class)):
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        if cap:
            subset = balanced_subset(LabelledImages(x, y), cap, first_in_order=True, seed=0)
            x, y = subset.x, subset.y
        splits[f"{split}_x"], splits[f"{split}_y"] = x, y
    return dataclasses.replace(data, **splits)


def cell(spec: RunSpec, group: Group, forget: tuple[int, ...], method: str,
         device_type: str) -> CellSpec:
    config = {} if method == "original" else method_instance(spec, method).config
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
    )
