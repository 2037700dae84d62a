"""Fine-tuning on the retain data: the simplest approximate-unlearning baseline.

Starting from the original weights, train a few epochs on the retained classes only and rely
on catastrophic forgetting to erase the forget classes. Used as a baseline by Golatkar et al.
(CVPR 2020), Tarun et al. (UNSIR, TNNLS 2023) and later unlearning papers.

Defaults: 5 epochs, SGD momentum 0.9, lr 0.02, weight decay 5e-4, batch 256, the original's
augmentation. The epoch count and learning rate are the usual small-budget setting of the
fine-tune baseline in unlearning code bases (a few epochs at a learning rate well below the
original's); the momentum, weight decay and batch follow our own training recipes. They are
a choice, not a paper's number: override with ``--set finetune.epochs=10`` and so on.

Expected: retain accuracy stays near the original's; forget accuracy falls but usually not to
zero within a few epochs (the classic weakness this baseline exposes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from methods.api import (
    ALL_SCENARIOS,
    Access,
    Choice,
    Int,
    LogFloat,
    MethodStyle,
    UnlearningMethod,
    UnlearnRequest,
    derive_seed,
    register_method,
    setting,
    train_with_recipe,
)


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = setting(5, ge=0)
    lr: float = setting(0.02, gt=0)
    momentum: float = setting(0.9, ge=0, lt=1)
    weight_decay: float = setting(5e-4, ge=0)
    batch_size: int = setting(256, ge=1)


@register_method
class Finetune(UnlearningMethod):
    """A few epochs of training on the retain set, from the original weights."""

    name = "finetune"
    needs = frozenset({Access.RETAIN})
    scenarios = ALL_SCENARIOS  # defined for any set of samples
    requires = "forgets only as far as a few epochs of drift take it"
    Config = FinetuneConfig
    search_space = {
        "epochs": Int(1, 10, source="ours: 1 to twice the default 5"),
        "lr": LogFloat(2e-3, 2e-1, source="ours: a decade either side of the default 0.02"),
        "batch_size": Choice((64, 128, 256),
                  source="ours: the default 256 and the 64 the digits preset gives others"),
    }
    paper = "Fine-tuning baseline (Golatkar et al., CVPR 2020)"
    style = MethodStyle(label="Fine-tune", colour="#029e73", marker="v")

    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        cfg: FinetuneConfig = self.config
        recipe = replace(
            request.original_recipe, epochs=cfg.epochs, lr=cfg.lr, momentum=cfg.momentum,
            weight_decay=cfg.weight_decay, batch_size=cfg.batch_size, optimizer="sgd",
            schedule="cosine", grad_clip_value=None,
        )
        retain = request.retain().to(request.engine.device)
        train_with_recipe(model, retain, recipe, request.engine, request.normalizer,
                          seed=derive_seed(request.seed, salt=2, stride=1))
        return model
