"""Random labels ("amnesiac" unlearning): fine-tune on the forget set relabelled wrongly.

Paper: L. Graves, V. Nagisetty, V. Ganesh, "Amnesiac Machine Learning", AAAI 2021
(arXiv:2010.10981), whose "unlearning" relabels the sensitive samples with randomly chosen
incorrect labels and trains briefly. The same baseline is "random labels" in Golatkar et al.
(CVPR 2020) and "RL" in Fan et al., "SalUn" (ICLR 2024, arXiv:2310.12508), both training on
the relabelled forget set together with the retain set. Reference code: ``amnesiac`` in the
SSD repository (github.com/if-loops/selective-synaptic-dampening,
``src/forget_random_strategies.py``; ``src/forget_full_class_strategies.py`` is the same for
one whole class), itself taken from github.com/vikram2000b/bad-teaching-unlearning
(``CIFARSuper20_Rocket_Unlearn.ipynb``).

Method: each forget sample gets one label drawn uniformly from the classes other than its
own, fixed for the whole run; the relabelled forget set and the full retain set are shuffled
together and the model is trained on them with cross-entropy (the shared ``train_epoch``).

Defaults and their sources (the SSD reference's ``amnesiac``, ResNet-18 / ViT on CIFAR):
  epochs=3 (``fit_one_unlearning_cycle(3, ...)``), Adam lr=1e-4 (``lr=0.0001``; no weight
  decay), batch_size=128 (``DataLoader(unlearning_trainset, 128, ...)``).

Deliberate deviations from the reference code:
  1. Wrong labels come from a CPU generator seeded from the run's seed (the reference uses
     Python's global ``random``), drawn in one vectorised call: label = r + (r >= y) with
     r uniform on 0..C-2, the same distribution as its redraw-until-different loop.
  2. No augmentation, as in the reference (its unlearning transform is ToTensor+Normalize).
  Not followed: the class-forgetting copy in ``forget_full_class_strategies.py`` excludes
  the one forget class from the draw, which is the same thing for a single class; SalUn's
  CIFAR-10 ``RL`` draws a fresh label per step from all classes (its own included) and runs
  the forget and retain loaders one after the other with SGD.
  The method uses the forget samples' own labels, never ``forget_classes``: with several
  forget classes a sample may be relabelled as another forget class (a wrong label all the
  same), and it works unchanged for random-sample or sub-class forget sets.

Expected: forget accuracy falls well below the original's within a few epochs while retain
accuracy stays near it (the retain set is trained on throughout). The forget samples are
pushed towards wrong classes rather than towards what a retrained model predicts, so their
accuracy can fall below a retrained model's. Digits preset, smallcnn, class 3, seed 0
(original: forget 94.6%, retain 99.1%; retrain: 0.0%, 99.7%): the defaults (36 Adam steps
in all) reach 97.3% / 99.4%; lr=1e-3 reaches 0.0% / 98.1%.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from methods.api import (
    ALL_SCENARIOS,
    Access,
    Int,
    LabelledImages,
    LogFloat,
    MethodStyle,
    UnlearningMethod,
    UnlearnRequest,
    make_optimizer,
    register_method,
    seeded_generator,
    setting,
    train_epoch,
)


@dataclass(frozen=True)
class RandomLabelConfig:
    """Random-label hyperparameters; sources in the module docstring."""

    epochs: int = setting(3, ge=0)
    lr: float = setting(1e-4, gt=0)
    batch_size: int = setting(128, ge=1)


def random_wrong_labels(
    labels: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """For each label, one drawn uniformly from the other ``num_classes - 1`` classes."""
    if num_classes < 2:
        raise ValueError("random labels need at least two classes")
    labels = labels.cpu()
    draw = torch.randint(0, num_classes - 1, labels.shape, generator=generator)
    return draw + (draw >= labels).long()  # skip over the true label


@register_method
class RandomLabel(UnlearningMethod):
    """Train on the retain set plus the forget set under random wrong labels."""

    name = "random_label"
    needs = frozenset({Access.RETAIN, Access.FORGET})
    scenarios = ALL_SCENARIOS  # uses the forget samples' own labels: any forget set
    requires = "two classes or more (a wrong label for each forget sample)"
    Config = RandomLabelConfig
    search_space = {
        "lr": LogFloat(1e-5, 1e-2,
                    source="ours: the reference's 1e-4 and the digits preset's 1e-3, a decade beyond each"),
        "epochs": Int(1, 5, source="ours: 1 to 5 around the reference's 3"),
    }
    paper = "Graves et al., Amnesiac Machine Learning, AAAI 2021 (random-label baseline)"
    style = MethodStyle(label="Random labels", colour="#ca9161", marker="P")

    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        cfg: RandomLabelConfig = self.config
        engine = request.engine
        forget = request.forget()
        wrong = random_wrong_labels(forget.y, request.num_classes,
                                    seeded_generator(request.seed, salt=1))
        parts = [LabelledImages(forget.x, wrong).to(engine.device),
                 request.retain().to(engine.device)]
        optimizer = make_optimizer(model.parameters(), "adam", cfg.lr)
        generator = seeded_generator(request.seed, salt=2)
        for _ in range(cfg.epochs):
            train_epoch(model, parts, optimizer, engine, request.normalizer, cfg.batch_size,
                        generator)
        return model
