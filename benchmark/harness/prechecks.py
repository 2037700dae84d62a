"""What a run's arguments alone can refuse, checked before any data is decoded or trained.

``plan`` resolves names, seeds and every setting's type and bounds (benchmark.harness.settings)
and then calls :func:`check_plan`, once, for the checks that need more than one setting, or
that were accepted silently before:

- every training recipe trains (at least one epoch, a learning rate above 0), and one
  capped by ``data.train_per_class`` has the optimizer steps its schedule needs
  (benchmark.harness.trainable);
- a population (``metrics.population``) has at least 2 models, and its unlearning seeds
  mode has no method whose output ignores the seed;
- the results file is a real file (not ``:memory:``) and no output is an input: the results
  file is not the data root and the cache folder is neither the data root nor the results;
- every class forget set fits the class count a data set declares (``random:11`` on the ten
  classes of CIFAR-10 is refused before 185 MB are decoded);
- a ``--ray-address`` answers (a TCP connect of a few seconds) before a database exists.

:func:`applicability_warnings` runs on the loaded data instead (``runner.run_grid`` and
``run --dry-run``, before any model is trained): each method instance is asked whether its
settings can work on each forget set (``UnlearningMethod.applicability``, told the forget set's
scenario and size); a reason is one warning line, and the run goes on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from benchmark.core.errors import UserError
from benchmark.core.roles import REFERENCE_ROLES
from benchmark.core.training import TrainRecipe
from benchmark.harness.paths import check_not_an_input
from benchmark.harness.settings import Settled
from benchmark.harness.spec import RunSpec
from benchmark.harness.trainable import check_declared
from datasets import DATASETS
from datasets.base import declared_classes
from datasets.imagefolder import DATA_ROOT_ENV
from datasets.splits import parse_forget
from methods import ForgetSummary, UnlearningMethod

RAY_CONNECT_TIMEOUT_S = 5.0
LOCAL_RAY_ADDRESSES = ("auto", "local")  # Ray finds (or starts) these itself
NOT_CLASS_FORGET_SETS = ("subclass:", "samples:")  # checked against the loaded data instead


def check_plan(spec: RunSpec, settled: Settled, cache_root: Path) -> None:
    """Every check of the module docstring, in its order (``cache_root``: absolute)."""
    check_recipes(settled.recipes, bool(spec.train_by_model or spec.train_by_dataset))
    check_declared(settled.recipes, spec.data.train_per_class,
                   {name: declared_classes(DATASETS.get(name)) for name in spec.datasets})
    check_population(spec, settled)
    check_run_paths(spec.results, data_root_of(spec.data_root), cache_root)
    check_forget_sets(spec.datasets, spec.forget)
    if spec.executor == "ray" and spec.ray_address:
        check_ray_address(spec.ray_address)


def check_population(spec: RunSpec, settled: Settled) -> None:
    """A population of at least 2 models; unlearning seeds only for methods that use the seed."""
    if spec.metrics.population == 1:
        raise UserError("metrics.population=1: a population needs at least 2 models (32 or "
                        "more for a meaningful F; 0 switches the many-model tests off)")
    if spec.metrics.population and spec.metrics.population_mode == "unlearning_seeds":
        fixed = [m for m in settled.methods
                 if m not in REFERENCE_ROLES and settled.instances[m].deterministic]
        if fixed:
            raise UserError(f"{', '.join(fixed)} cannot be rerun: its output does not depend on "
                            "the seed, so N unlearning seeds give N identical models; use "
                            "metrics.population_mode=originals or leave it out")


def check_run_paths(results: str, data_root: str | None, cache_root: Path) -> None:
    """A results file on disk, and no output that is an input."""
    text = str(results).strip()
    if not text or text == ":memory:" or text.startswith("file:"):
        raise UserError(f"--db {results!r} is not a file: the rows would be lost when "
                        "the run ends; give a file such as results/results.sqlite")
    check_not_an_input(results, "--db", {"data root": data_root, "cache folder": cache_root})
    check_not_an_input(cache_root, "--cache-dir", {"data root": data_root})


def check_forget_sets(datasets: Sequence[str], forget: Sequence[str]) -> None:
    """Class forget sets against each data set's class count, when known without loading."""
    for name in datasets:
        count = declared_classes(DATASETS.get(name))
        if count is None:
            continue
        for text in forget:
            if not str(text).strip().startswith(NOT_CLASS_FORGET_SETS):
                try:
                    parse_forget(str(text), count)
                except UserError as error:
                    raise UserError(f"{name}: {error}") from None


def check_recipes(recipes: Mapping[tuple[str, str], TrainRecipe], tables: bool) -> None:
    """Every (model, data set) recipe trains: an original of zero epochs is no original.

    ``tables``: the preset has per-model or per-data-set recipe tables (name the pair then).
    """
    for (model, dataset), recipe in recipes.items():
        where = f" (for {model} on {dataset})" if tables else ""
        if recipe.epochs < 1:
            raise UserError(f"train.epochs={recipe.epochs}{where} trains nothing: the original "
                            "would be an untrained model; give at least 1")
        if not recipe.lr > 0:
            raise UserError(f"train.lr={recipe.lr!r}{where} must be above 0 (a value that small "
                            "underflows to 0 and trains nothing)")


def data_root_of(given: str | None) -> str | None:
    """The data root a run reads: ``--data-root``, else ``$UNLEARN_DATA_ROOT``."""
    return given or os.environ.get(DATA_ROOT_ENV) or None


def check_ray_address(address: str) -> None:
    """Raise UserError unless something answers at ``address`` (``host:port``, ``ray://...``)."""
    if address in LOCAL_RAY_ADDRESSES:
        return
    target = address.split("://", 1)[1] if "://" in address else address
    host, sep, port_text = target.rstrip("/").rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"bad --ray-address {address!r}; use host:port (e.g. 10.0.0.5:6379), "
                        "ray://host:port or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)),
                                      timeout=RAY_CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise UserError(f"nothing answers at --ray-address {address} ({reason}); start the "
                        "cluster there (ray start --head) or leave --ray-address out to start "
                        "a local one") from None


def applicability_warnings(groups: Iterable, instances: Mapping[str, UnlearningMethod]) -> list[str]:
    """One line per (method, data set, forget set) whose settings cannot work there (see the
    module docstring); a method not defined for a forget set's scenario is left to its
    skipped row. Groups that differ only in model or seed share their lines."""
    lines: list[str] = []
    for group in groups:
        train = len(group.data.train_y)
        for forget in group.forget_sets:
            summary = ForgetSummary(forget.scenario, forget.size(group.data), train,
                                    group.data.num_classes)
            for name in group.methods:
                method = instances.get(name)
                if method is None or forget.scenario not in type(method).scenarios:
                    continue
                reason = method.applicability(summary)
                line = reason and f"{name} on {group.dataset} forget {forget.label}: {reason}"
                if line and line not in lines:
                    lines.append(line)
    return lines
