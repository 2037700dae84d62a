"""Computes every metric of one model the same way for all methods (methods never do).

Logits of the gold model and ZRF's random network are computed once per forget set and
reused; the original's logits on the whole train and test splits do not depend on the forget
set, so one :class:`OriginalLogits` serves every forget set of a group (and the original's
own row), which saves two full passes over the data a forget set. With
``metrics.train_split`` off (``tune``) the training split is looked at only on the forget
set's rows: retain and overall training accuracy are left out of the row. Forgotten rows come from
the forget set's masks, so one code path serves the three scenarios: whole classes, a
sub-class, random samples. Where a scenario has no forgotten *test* sample (random samples),
the metrics defined on them (prediction distribution, distances to the gold model) use the
forgotten training samples, and relearn time is left out (docs/METRICS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from benchmark import metrics as M
from benchmark.core.engine import Engine
from benchmark.core.progress import progress
from benchmark.core.scenarios import Scenario
from benchmark.core.tensors import LabelledImages, Normalizer, balanced_subset
from benchmark.core.training import predict_logits
from benchmark.harness.grid import GroupContext
from datasets.base import ImageDataset
from datasets.forget_sets import ForgetSet

RANDOM_MODEL_SALT = 2  # the ZRF metric's random network: a stream of its own (0 original, 1 fresh)


@dataclass(frozen=True)
class OriginalLogits:
    """The original model's logits on the train and test images (forget-set independent).

    ``rows``: the training rows computed, None for all of them; the others are NaN. Without
    ``metrics.train_split`` (tuning) only the forget set's training rows are needed.
    """

    train: torch.Tensor
    test: torch.Tensor
    rows: torch.Tensor | None = None

    @classmethod
    def of(cls, original: nn.Module, data: ImageDataset, engine: Engine,
           normalizer: Normalizer, rows: torch.Tensor | None = None) -> OriginalLogits:
        return cls(logits_of_rows(original, data.train_x, rows, engine, normalizer),
                   predict_logits(original, data.test_x, engine, normalizer), rows)

    def covers(self, rows: torch.Tensor) -> bool:
        """Whether the training rows of the mask ``rows`` were computed."""
        return self.rows is None or not bool((rows & ~self.rows).any())


def logits_of_rows(model: nn.Module, x: torch.Tensor, rows: torch.Tensor | None, engine: Engine,
                   normalizer: Normalizer) -> torch.Tensor:
    """Logits of ``x[rows]`` in place, NaN elsewhere (all of ``x`` when ``rows`` is None)."""
    if rows is None:
        return predict_logits(model, x, engine, normalizer)
    some = predict_logits(model, x[rows], engine, normalizer)
    full = torch.full((len(x), *some.shape[1:]), float("nan"), dtype=some.dtype, device=some.device)
    full[rows.to(some.device)] = some
    return full


class Evaluator:
    """Metrics of unlearned models for one group's forget set, against original and gold."""

    def __init__(self, ctx: GroupContext, forget: ForgetSet | tuple[int, ...], original: nn.Module,
                 gold: nn.Module | None, original_logits: OriginalLogits | None = None) -> None:
        """The group's data, seed, engine, normalizer and metric options come from ``ctx``;
        ``original_logits``: the original's, computed here when not given (None)."""
        if not isinstance(forget, ForgetSet):
            forget = ForgetSet.of_classes(tuple(forget))
        data, engine, normalizer = ctx.group.data, ctx.engine, ctx.normalizer
        options, seed = ctx.plan.metrics, ctx.group.seed
        self.data, self.forget, self.original = data, forget, original
        self.engine, self.normalizer, self.options, self.seed = engine, normalizer, options, seed
        random_model = self._random_model(ctx)
        self.forget_train, self.forget_test = forget.masks(data)
        # Where "forgotten samples" are looked at: the test ones when the scenario has any.
        self.eval_on_test = bool(self.forget_test.any()) or forget.scenario is not Scenario.SAMPLES
        self.retain_classes = [c for c in range(data.num_classes) if c not in forget.forget_classes]
        # The training rows whose logits are needed: all of them, or (no train-split metrics,
        # no attack) only the forget set's.
        self.train_rows = None if options.train_split or options.mia else self.forget_train
        if original_logits is None or not original_logits.covers(self.forget_train):
            original_logits = OriginalLogits.of(original, data, engine, normalizer, self.train_rows)
        self.original_logits = original_logits
        # Without a gold model (its retrain failed) the distances to it are left out.
        self._gold_forget = None if gold is None else self._logits(gold, self._forget_x())
        # ZRF's incompetent teacher: a random network's outputs on the forget training samples.
        self._random_forget_train = self._logits(random_model, data.train_x[self.forget_train])
        self.original_test_acc = M.accuracy(self.original_logits.test, data.test_y)
        logits, labels, rows = ((self.original_logits.test, data.test_y, self.forget_test)
                                if self.eval_on_test else
                                (self.original_logits.train, data.train_y, self.forget_train))
        self.relearn_threshold = M.accuracy(logits[rows], labels[rows]) - options.relearn_margin
        # A fixed relearn set with samples of every class, forget classes included.
        train = LabelledImages(data.train_x, data.train_y)
        self.relearn_set = balanced_subset(train, options.relearn_per_class, False, seed)
        self.forget_eval = LabelledImages(data.test_x[self.forget_test], data.test_y[self.forget_test])

    @staticmethod
    def _random_model(ctx: GroupContext) -> nn.Module:
        """ZRF's randomly initialised network of the group's architecture (global RNG left as
        it was: a stream of its own, RANDOM_MODEL_SALT)."""
        with torch.random.fork_rng():
            return ctx.engine.prepare(ctx.factory(RANDOM_MODEL_SALT)).eval()

    def _logits(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return predict_logits(model, x, self.engine, self.normalizer)

    def _forget_x(self) -> torch.Tensor:
        return self.data.test_x[self.forget_test] if self.eval_on_test else \
            self.data.train_x[self.forget_train]

    @staticmethod
    def _split_accuracies(logits: torch.Tensor, labels: torch.Tensor,
                          forgotten: torch.Tensor) -> dict[str, float]:
        return {"forget_acc": M.accuracy(logits[forgotten], labels[forgotten]),
                "retain_acc": M.accuracy(logits[~forgotten], labels[~forgotten]),
                "overall_acc": M.accuracy(logits, labels)}

    def stages(self) -> list[str]:
        """The metric stages :meth:`evaluate` reports as its steps (the bar shows ``2/4 mia``)."""
        return ["predictions", "distances", *(["membership inference"] if self.options.mia else []),
                *(["relearn"] if self.options.relearn and self.eval_on_test else [])]

    def evaluate(self, model: nn.Module) -> dict[str, Any]:
        stages = self.stages()

        def stage(name: str) -> None:  # ``done`` of ``total`` stages finished, the next named
            progress(stages.index(name), len(stages), name)

        stage("predictions")
        data = self.data
        if model is self.original:  # the original's row: its logits are already known
            train_logits, test_logits = self.original_logits.train, self.original_logits.test
        else:
            train_logits = logits_of_rows(model, data.train_x, self.train_rows, self.engine,
                                          self.normalizer)
            test_logits = self._logits(model, data.test_x)
        result: dict[str, Any] = {}
        for split, logits, labels, mask in (("train", train_logits, data.train_y, self.forget_train),
                                            ("test", test_logits, data.test_y, self.forget_test)):
            if split == "train" and self.train_rows is not None:  # the forget set's rows only
                result["forget_acc_train"] = M.accuracy(logits[mask], labels[mask])
                continue
            accuracies = self._split_accuracies(logits, labels, mask)
            result[f"forget_acc_{split}"] = accuracies["forget_acc"]
            result[f"retain_acc_{split}"] = accuracies["retain_acc"]
            result[f"overall_acc_{split}"] = accuracies["overall_acc"]
        result["test_acc"] = result.pop("overall_acc_test")

        stage("distances")
        result["layer_distance"] = M.layer_distances(model, self.original)
        result.update(M.weight_distance_summary(model, self.original))
        forget_logits = test_logits[self.forget_test] if self.eval_on_test else \
            train_logits[self.forget_train]
        result.update(M.prediction_distribution(
            forget_logits, data.num_classes, retain_classes=self.retain_classes))
        if self._gold_forget is not None:
            result.update(M.gold_distance(forget_logits, self._gold_forget))
        result.update(M.zrf_score(train_logits[self.forget_train], self._random_forget_train))
        if self.options.mia:
            stage("membership inference")
            retain_train = ~self.forget_train
            result.update(M.membership_inference(
                train_logits[retain_train], data.train_y[retain_train],
                test_logits[~self.forget_test], data.test_y[~self.forget_test],
                train_logits[self.forget_train], data.train_y[self.forget_train],
                seed=self.seed,
            ))
        if self.options.relearn and self.eval_on_test:
            stage("relearn")
            result.update(M.relearn_time(
                model, self.relearn_set, self.forget_eval, self.relearn_threshold, self.engine,
                self.normalizer, max_epochs=self.options.relearn_max_epochs,
                lr=self.options.relearn_lr, seed=self.seed,
            ))
        progress(len(stages), len(stages), "done")
        return result
