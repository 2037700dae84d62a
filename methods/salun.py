"""SalUn: random-label unlearning that updates only the weights most salient for the forget loss.

Paper: C. Fan, J. Liu, Y. Zhang, E. Wong, D. Wei, S. Liu, "SalUn: Empowering Machine
Unlearning via Gradient-based Weight Saliency in Both Image Classification and
Generation", ICLR 2024 (arXiv:2310.12508). Reference code:
github.com/OPTML-Group/Unlearn-Saliency, ``Classification/generate_mask.py``
(``save_gradient_ratio``: the mask) and ``Classification/unlearn/RL.py`` (``RL``: random
labels with the mask), with the optimiser of ``Classification/unlearn/impl.py``.

Method: (1) saliency: g = gradient of the forget-set cross-entropy at the original weights
(eval mode); the mask keeps the ``mask_fraction`` of all trainable weights with the largest
|g|, ranked over the whole model at once. (2) for ``epochs`` epochs, SGD on the forget
samples with random labels and on the retain samples with their labels; after every step
the weights outside the mask are put back to their original values, so only salient
weights ever change.

Defaults and their sources:
  mask_fraction=0.5, epochs=10, lr=0.013 (the README's SalUn example for ResNet-18 on
  CIFAR-10: ``--unlearn RL --unlearn_epochs 10 --unlearn_lr 0.013 ... --mask_path
  mask/with_0.5.pt``); momentum=0.9, weight_decay=5e-4, batch_size=256
  (``Classification/arg_parser.py`` defaults; the mask pass uses the same batch size);
  constant learning rate (``MultiStepLR`` at epochs 91 and 136 never fires within 10);
  order="forget_then_retain" (``RL.py``'s CIFAR-10/SVHN branch: each epoch one pass over
  the forget loader with random labels, then one over the retain loader); augmentation: the
  original recipe's (the reference trains on its training transforms).

Deliberate deviations from the reference code, with switches where they matter:
  1. Random labels are drawn among the *wrong* classes (y' != y, as in the paper's
     objective); ``RL.py`` draws ``randint(0, num_classes)``, which keeps the true label for
     1/C of the samples: ``quirk_any_label`` restores that. They are drawn once per epoch
     for every forget sample from a seeded generator (the reference draws per batch, the
     same distribution since each sample is seen once an epoch).
  2. ``order="mixed"`` is the reference's CIFAR-100/TinyImageNet branch (forget samples with
     random labels shuffled into the retain set); the default follows its CIFAR-10 branch.
  3. The saliency gradient is the gradient of the mean loss over the whole forget set
     (un-augmented images, float32); the reference sums the gradients of each batch's mean
     loss over augmented images, which only reweights a smaller last batch. Ties at the
     cut are broken by parameter order (a stable sort) so the mask is deterministic.
  4. Masking restores the unmasked weights after each optimiser step instead of also
     zeroing their gradients and momentum first; with SGD (element-wise) the masked weights
     follow exactly the same path and the others end where they started, as in ``RL.py``.
  The labels used are the ones given, so any forget set works, not only whole classes.

Expected: the paper reports forget accuracy close to retraining's with retain and test
accuracy near the original's for class-wise forgetting, and for random-data forgetting on
CIFAR-10 the smallest gap to retraining of the methods it compares (0.2 points average gap
on 10% random data, per the README).
Measured on the default digits preset (smallcnn, forget class 3; test accuracies, forget /
retain): original 94.6 / 99.1; defaults 56.8 / 98.1 (one forget batch an epoch); batch 64,
lr 0.03: 0.0 / 98.4 (seeds 1 and 2: 0.0 / 98.4, 0.0 / 99.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from methods._augment import recipe_augment
from methods.api import (
    ALL_SCENARIOS,
    Access,
    Engine,
    Float,
    Int,
    LabelledImages,
    LogFloat,
    MethodStyle,
    Normalizer,
    UnlearningMethod,
    UnlearnRequest,
    make_optimizer,
    register_method,
    seeded_generator,
    setting,
    train_epoch,
)

Order = Literal["forget_then_retain", "mixed"]
Mask = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SalunConfig:
    """SalUn hyperparameters; sources in the module docstring."""

    mask_fraction: float = setting(0.5, gt=0, le=1)  # share of weights SalUn may change
    epochs: int = setting(10, ge=0)
    lr: float = setting(0.013, gt=0)
    momentum: float = setting(0.9, ge=0, lt=1)
    weight_decay: float = setting(5e-4, ge=0)
    batch_size: int = setting(256, ge=1)
    order: Order = "forget_then_retain"
    quirk_any_label: bool = False  # RL.py: random labels may be the true one

    def __post_init__(self) -> None:
        if self.order not in ("forget_then_retain", "mixed"):
            raise ValueError(f"order must be 'forget_then_retain' or 'mixed', not {self.order!r}")


def saliency_mask(
    model: nn.Module, forget: LabelledImages, engine: Engine, normalizer: Normalizer,
    fraction: float, batch_size: int,
) -> Mask:
    """Boolean masks of the ``fraction`` of trainable weights with the largest |forget-loss gradient|.

    The model's weights, ``.grad`` and train/eval mode are left as they were.
    """
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    sums = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(forget), batch_size):
            x = normalizer(forget.x[start : start + batch_size].to(engine.device))
            if engine.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = forget.y[start : start + batch_size].to(engine.device)
            # Summed, not averaged, per batch: the total is N times the mean-loss gradient,
            # and a common factor does not change the ranking.
            loss = nn.functional.cross_entropy(model(x).float(), y, reduction="sum")
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            for name, grad in zip(params, grads, strict=True):
                if grad is not None:
                    sums[name] += grad.float()
    finally:
        model.train(was_training)
    scores = torch.cat([total.abs().flatten() for total in sums.values()])
    keep = int(scores.numel() * fraction)
    order = torch.sort(scores, descending=True, stable=True).indices
    chosen = torch.zeros_like(scores, dtype=torch.bool)
    chosen[order[:keep]] = True
    masks, offset = {}, 0
    for name, total in sums.items():
        masks[name] = chosen[offset : offset + total.numel()].view_as(total)
        offset += total.numel()
    return masks


def random_labels(labels: torch.Tensor, num_classes: int, generator: torch.Generator,
                  any_label: bool) -> torch.Tensor:
    """Uniform random labels: among the wrong classes, or among all when ``any_label``."""
    if any_label:
        return torch.randint(0, num_classes, labels.shape, generator=generator)
    shift = torch.randint(1, num_classes, labels.shape, generator=generator)
    return (labels.cpu() + shift) % num_classes


class MaskedWeights:
    """Puts every weight outside the mask back to its value at construction."""

    def __init__(self, model: nn.Module, mask: Mask) -> None:
        params = dict(model.named_parameters())
        # Fully masked tensors move freely; only the others need restoring.
        self._restore = [(params[name], keep, params[name].detach().clone())
                         for name, keep in mask.items() if not bool(keep.all())]

    @torch.no_grad()
    def __call__(self) -> None:
        for param, keep, original in self._restore:
            param.copy_(torch.where(keep, param, original))


@register_method
class Salun(UnlearningMethod):
    """Saliency mask from the forget-loss gradient, then masked random-label fine-tuning."""

    name = "salun"
    needs = frozenset({Access.FORGET, Access.RETAIN})
    scenarios = ALL_SCENARIOS  # works on the forget samples it is given: any forget set
    requires = "the forget loss's gradients for its saliency mask"
    Config = SalunConfig
    search_space = {
        "lr": LogFloat(1e-3, 1e-1,
                    source="ours: around the README's 0.013 and the digits preset's 0.03"),
        "mask_fraction": Float(0.1, 0.9, source="ours: around the README's 0.5"),
        "epochs": Int(2, 10, source="ours: up to the README's 10"),
    }
    paper = ("Fan et al., SalUn: Empowering Machine Unlearning via Gradient-based Weight "
             "Saliency in Both Image Classification and Generation, ICLR 2024")
    style = MethodStyle(label="SalUn", colour="#8c564b", marker=">")

    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        cfg: SalunConfig = self.config
        engine, normalizer = request.engine, request.normalizer
        forget = request.forget().to(engine.device)
        retain = request.retain().to(engine.device)
        if request.num_classes < 2:
            raise ValueError("random-label unlearning needs at least two classes")
        mask = saliency_mask(model, forget, engine, normalizer, cfg.mask_fraction,
                             cfg.batch_size)
        restore = MaskedWeights(model, mask)
        optimizer = make_optimizer(model.parameters(), "sgd", cfg.lr, cfg.weight_decay,
                                   cfg.momentum)
        order = seeded_generator(request.seed, salt=1)
        label_draws = seeded_generator(request.seed, salt=2)
        augment = recipe_augment(request.original_recipe, engine.device, request.seed, salt=3)
        for _ in range(cfg.epochs):
            labels = random_labels(forget.y, request.num_classes, label_draws,
                                   cfg.quirk_any_label).to(engine.device)
            relabelled = LabelledImages(forget.x, labels)
            passes = [[relabelled], [retain]] if cfg.order == "forget_then_retain" \
                else [[relabelled, retain]]
            for parts in passes:
                train_epoch(model, parts, optimizer, engine, normalizer, cfg.batch_size, order,
                            augment, after_step=restore)
        return model
