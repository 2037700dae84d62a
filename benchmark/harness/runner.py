"""Runs the grid: original (cached) -> gold retrain (cached) -> each method -> metrics -> store.

Each method's ``unlearn`` is timed alone (CUDA-synchronised wall time; building its request,
copying the original and computing metrics are outside the timer). A row whose id is already
stored is skipped, so a killed run resumes where it stopped; ``rerun`` re-measures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from benchmark.core.artifacts import CheckpointCache
from benchmark.core.engine import Engine
from benchmark.core.hashing import stable_hash, to_jsonable
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import train_with_recipe
from benchmark.harness.evaluate import Evaluator
from benchmark.harness.grid import Group, cell, expand, method_instance
from benchmark.harness.progress import Reporter
from benchmark.harness.provenance import provenance
from benchmark.harness.requests import build_request
from benchmark.harness.spec import CellSpec, RunSpec
from benchmark.harness.store import ResultStore
from benchmark.models import create_model, resolved_options

# Bump when the training loop changes in a way that changes trained weights: old cached
# checkpoints then stop matching instead of being silently reused.
TRAINING_CODE_VERSION = 1


@dataclass
class GroupContext:
    """What every forget set of one (model, data set, seed) group shares."""

    group: Group
    engine: Engine
    normalizer: Normalizer
    new_model: Callable[[], nn.Module]
    original: nn.Module
    original_seconds: float
    original_cached: bool
    original_path: str


def run(spec: RunSpec, reporter: Reporter | None = None) -> list[dict[str, Any]]:
    """Run every cell of ``spec``; returns the rows of this run (stored or skipped-existing)."""
    reporter = reporter or Reporter.silent()
    engine = Engine.for_device(spec.device)
    groups = expand(spec)  # validates everything before any training or writing
    cache = CheckpointCache(spec.resolved_cache_dir())
    rows: list[dict[str, Any]] = []
    with ResultStore(spec.results) as store:
        pending = [(g, _cells(spec, g, engine.device.type)) for g in groups]
        total = sum(len(cells) for _, cells in pending)
        reporter.start(total)
        for group, cells in pending:
            todo = {c.row_id for c in cells} if spec.rerun else store.missing(c.row_id for c in cells)
            if not todo:
                reporter.skip(len(cells), f"{group.model}/{group.dataset}/seed {group.seed}")
                rows += store.rows(c.row_id for c in cells)
                continue
            rows += _run_group(spec, group, cells, todo, engine, cache, store, reporter)
        reporter.finish()
    return rows


def _cells(spec: RunSpec, group: Group, device_type: str) -> list[CellSpec]:
    names = ["original", "retrain", *group.methods]
    return [cell(spec, group, forget, name, device_type)
            for forget in group.forget_sets for name in names]


def _run_group(spec, group, cells, todo, engine, cache, store, reporter) -> list[dict[str, Any]]:
    context = _prepare_group(spec, group, engine, cache, reporter)
    meta = provenance(engine)
    rows = []
    for forget in group.forget_sets:
        forget_cells = [c for c in cells if c.forget == forget]
        if not any(c.row_id in todo for c in forget_cells):  # stored by an earlier run
            reporter.skip(len(forget_cells), f"forget {list(forget)}")
            rows += store.rows(c.row_id for c in forget_cells)
            continue
        gold, gold_seconds, gold_cached, gold_path = _gold(spec, context, forget, cache, reporter)
        evaluator = Evaluator(group.data, forget, context.original, gold, engine,
                              context.normalizer, spec.metrics, group.seed)
        for item in forget_cells:
            if item.row_id not in todo:
                reporter.skip(1, item.method)
                rows += store.rows([item.row_id])
                continue
            label = f"{group.model}/{group.dataset} forget {list(forget)} seed {group.seed}: {item.method}"
            reporter.step(f"{label} (unlearning)")
            if item.method == "original":
                model, seconds = context.original, context.original_seconds
                extra, model_path = {"cached": context.original_cached}, context.original_path
            elif item.method == "retrain":
                model, seconds, extra, model_path = gold, gold_seconds, {"cached": gold_cached}, gold_path
            else:
                model, seconds, extra = _unlearn(spec, context, item, forget)
                model_path = None
                if spec.save_models:
                    cache.save("unlearned", item.row_id, model.state_dict(), {"method": item.method})
                    model_path = str(cache.path("unlearned", item.row_id))
            reporter.step(f"{label} (metrics)")
            with engine.timer() as metric_time:
                metrics = evaluator.evaluate(model)
            metrics["time_s"] = seconds
            metrics["speedup_vs_retrain"] = (
                gold_seconds / seconds if item.method != "original" and seconds > 0 else None
            )
            row = _row(item, metrics, seconds, metric_time["seconds"], extra, meta, spec)
            row["artifacts"] = {
                "model_path": model_path, "original_path": context.original_path,
                "model_options": resolved_options(group.model, **item.model_kwargs),
            }
            store.put(row)
            rows.append(row)
            reporter.advance(row)
    return rows


def _prepare_group(spec, group, engine, cache, reporter) -> GroupContext:
    data = group.data
    recipe = spec.recipe_for(group.model, group.dataset)
    model_kwargs = spec.model_kwargs.get(group.model, {})
    normalizer = Normalizer(data.mean, data.std, engine.device)
    device_data = data.to(engine.device)
    group.data = device_data

    def new_model(seed_offset: int = 0) -> nn.Module:
        torch.manual_seed(group.seed * 7919 + seed_offset)
        return create_model(group.model, data.num_classes, data.channels, data.image_size,
                            **model_kwargs)

    key = stable_hash({"model": group.model, "kwargs": model_kwargs, "dataset": group.dataset,
                       "seed": group.seed, "recipe": recipe, "data": spec.data,
                       "code": TRAINING_CODE_VERSION})
    model = engine.prepare(new_model())
    cached = cache.load("original", key)
    if cached is not None:
        model.load_state_dict(cached[0])
        seconds = float(cached[1]["train_seconds"])
    else:
        train = LabelledImages(device_data.train_x, device_data.train_y)
        monitor = LabelledImages(device_data.test_x, device_data.test_y) \
            if recipe.plateau_monitor == "test" else None
        reporter.step(f"{group.model}/{group.dataset} seed {group.seed}: training original")
        with engine.timer() as timing:
            train_with_recipe(model, train, recipe, engine, normalizer, group.seed, monitor,
                              on_epoch=reporter.epoch_callback(recipe.epochs))
        seconds = timing["seconds"]
        cache.save("original", key, model.state_dict(), {"train_seconds": seconds, "recipe": to_jsonable(recipe)})
    model.eval()
    return GroupContext(group, engine, normalizer, lambda: new_model(1), model, seconds,
                        cached is not None, str(cache.path("original", key)))


def _gold(spec, context: GroupContext, forget, cache, reporter):
    """The retrained model for ``forget`` (the gold reference), trained once and cached."""
    group, engine = context.group, context.engine
    method = method_instance(spec, "retrain")
    recipe = spec.recipe_for(group.model, group.dataset)
    key = stable_hash({"model": group.model, "kwargs": spec.model_kwargs.get(group.model, {}),
                       "dataset": group.dataset, "seed": group.seed, "recipe": recipe, "data": spec.data,
                       "forget": forget, "config": method.config, "code": TRAINING_CODE_VERSION})
    cached = cache.load("retrain", key)
    if cached is not None:
        model = engine.prepare(context.new_model())
        model.load_state_dict(cached[0])
        return model.eval(), float(cached[1]["unlearn_seconds"]), True, str(cache.path("retrain", key))
    reporter.step(f"{group.model}/{group.dataset} seed {group.seed}: retraining without {list(forget)}")
    request = build_request(method, group.data, forget, group.seed, engine, recipe,
                            context.new_model, context.normalizer)
    with engine.timer() as timing:
        model = method.unlearn(copy.deepcopy(context.original), request)
    cache.save("retrain", key, model.state_dict(), {"unlearn_seconds": timing["seconds"]})
    return model.eval(), timing["seconds"], False, str(cache.path("retrain", key))


def _unlearn(spec, context: GroupContext, item: CellSpec, forget):
    group, engine = context.group, context.engine
    method = method_instance(spec, item.method)
    request = build_request(method, group.data, forget, group.seed, engine,
                            item.recipe, context.new_model, context.normalizer)
    model = copy.deepcopy(context.original)
    torch.manual_seed(group.seed)
    with engine.timer() as timing:
        model = method.unlearn(model, request)
    return model.eval(), timing["seconds"], {"samples_seen": dict(request.samples_seen)}


def _row(item: CellSpec, metrics, seconds, metric_seconds, extra, meta, spec) -> dict[str, Any]:
    from methods import METHODS

    if item.method == "original":
        access, zero_glance = ["full_train"], False
    else:
        cls = METHODS.get(item.method)
        access, zero_glance = sorted(a.value for a in cls.needs), cls.zero_glance()
    return {
        "row_id": item.row_id,
        "method": item.method,
        "model": item.model,
        "dataset": item.dataset,
        "forget": ",".join(map(str, item.forget)),
        "n_forget": len(item.forget),
        "seed": item.seed,
        "device": item.device_type,
        "zero_glance": int(zero_glance),
        "access": access,
        "spec": item.as_dict() | {"preset": spec.preset, "data_root": spec.data_root},
        "hparams": to_jsonable(item.method_config),
        "metrics": metrics,
        "timings": {"unlearn_s": seconds, "metrics_s": metric_seconds, **extra},
        "provenance": meta,
    }
