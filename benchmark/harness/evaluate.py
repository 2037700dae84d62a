"""Computes every metric of one model the same way for all methods (methods never do).

Logits of the original and the gold model are computed once per forget set and reused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from benchmark import metrics as M
from benchmark.core.engine import Engine
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import predict_logits
from benchmark.harness.options import MetricOptions
from datasets.base import ImageDataset
from datasets.splits import balanced_subset, class_mask


class Evaluator:
    """Metrics of unlearned models for one data set and forget set, against original and gold."""

    def __init__(
        self, data: ImageDataset, forget: tuple[int, ...], original: nn.Module,
        gold: nn.Module | None,
        engine: Engine, normalizer: Normalizer, options: MetricOptions, seed: int,
        random_model: nn.Module | None = None,
    ) -> None:
        """``random_model``: a randomly initialised model of the same architecture (for ZRF)."""
        self.data, self.forget, self.original = data, forget, original
        self.engine, self.normalizer, self.options, self.seed = engine, normalizer, options, seed
        self.forget_train = class_mask(data.train_y, forget)
        self.forget_test = class_mask(data.test_y, forget)
        self.retain_classes = [c for c in range(data.num_classes) if c not in forget]
        self._original_test = self._logits(original, data.test_x)
        # Without a gold model (its retrain failed) the distances to it are left out.
        self._gold_forget_test = None if gold is None else \
            self._logits(gold, data.test_x[self.forget_test])
        # ZRF's incompetent teacher: a random network's outputs on the forget training samples.
        self._random_forget_train = None if random_model is None else \
            self._logits(random_model, data.train_x[self.forget_train])
        original_accuracies = M.split_accuracies(self._original_test, data.test_y, forget)
        self.original_test_acc = original_accuracies["overall_acc"]
        self.relearn_threshold = original_accuracies["forget_acc"] - options.relearn_margin
        # A fixed relearn set with samples of every class, forget classes included.
        train = LabelledImages(data.train_x, data.train_y)
        self.relearn_set = balanced_subset(train, options.relearn_per_class, False, seed)
        self.forget_eval = LabelledImages(data.test_x[self.forget_test], data.test_y[self.forget_test])

    def _logits(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return predict_logits(model, x, self.engine, self.normalizer)

    def evaluate(self, model: nn.Module) -> dict[str, Any]:
        data, forget = self.data, self.forget
        train_logits = self._logits(model, data.train_x)
        test_logits = self._logits(model, data.test_x)
        result: dict[str, Any] = {}
        for split, logits, labels in (("train", train_logits, data.train_y),
                                      ("test", test_logits, data.test_y)):
            accuracies = M.split_accuracies(logits, labels, forget)
            result[f"forget_acc_{split}"] = accuracies["forget_acc"]
            result[f"retain_acc_{split}"] = accuracies["retain_acc"]
            result[f"overall_acc_{split}"] = accuracies["overall_acc"]
        result["test_acc"] = result.pop("overall_acc_test")

        result["layer_distance"] = M.layer_distances(model, self.original)
        result.update(M.weight_distance_summary(model, self.original))
        result.update(M.prediction_distribution(
            test_logits[self.forget_test], data.num_classes, retain_classes=self.retain_classes))
        forget_test_logits = test_logits[self.forget_test]
        if self._gold_forget_test is not None:
            result.update(M.gold_distance(forget_test_logits, self._gold_forget_test))
        if self._random_forget_train is not None:
            result.update(M.zrf_score(train_logits[self.forget_train], self._random_forget_train))
        if self.options.mia:
            retain_train = ~self.forget_train
            result.update(M.membership_inference(
                train_logits[retain_train], data.train_y[retain_train],
                test_logits[~self.forget_test], data.test_y[~self.forget_test],
                train_logits[self.forget_train], data.train_y[self.forget_train],
                seed=self.seed,
            ))
        if self.options.relearn:
            result.update(M.relearn_time(
                model, self.relearn_set, self.forget_eval, self.relearn_threshold, self.engine,
                self.normalizer, max_epochs=self.options.relearn_max_epochs,
                lr=self.options.relearn_lr, seed=self.seed,
            ))
        return result
