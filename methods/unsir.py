"""UNSIR: error-maximising noise, then impair and repair (zero-glance class unlearning).

Paper: A. K. Tarun, V. S. Chundawat, M. Mandal, M. Kankanhalli, "Fast Yet Effective Machine
Unlearning", IEEE TNNLS 2023 (arXiv:2111.08947). Reference code: the authors' notebook
(github.com/vikram2000b/Fast-Machine-Unlearning, ``Machine Unlearning.ipynb``).

Defaults and their sources (all from the reference notebook unless said otherwise):
  noise_batch=256, noise init randn, noise_lr=0.1 (Adam), noise_steps=40 (5 epochs x 8 steps),
  noise_l2_weight=0.1 in  loss = -CE(model(noise), forget label) + 0.1 * mean_b sum noise_b^2,
  noise_copies=20 (``num_batches = 20``: each class's noise batch is fed 20 times),
  impair: 1 epoch, Adam lr 0.02, batch 256, noise mixed with D_r,sub;
  repair: 1 epoch, Adam lr 0.01, batch 256, D_r,sub alone;
  retain_per_class=1000 (D_r,sub = 1000 samples of each retained class; the paper's Sec. IV).

Deliberate deviations from the notebook, each with a switch that restores it (the
``paper-cifar10-official`` preset turns all four on to reproduce the reference numbers):
  1. ``quirk_three_noise_images``: the notebook appends ``batch[i] for i in
     range(batch[0].size(0))``, i.e. only the first C (=3 channels) noise images of each
     batch, 20 copies each. We use all ``noise_batch`` images.
  2. ``quirk_label_zero``: the notebook labels every noise sample ``class_num = 0`` whatever
     class it was learned for. We label each noise sample with its own forget class.
  3. ``quirk_train_mode_noise``: the notebook learns the noise with the model in train
     mode, so BatchNorm normalises with noise-batch statistics and its running statistics
     absorb the noise. We learn it in eval mode and leave the model untouched.
  4. ``quirk_first_retain_samples``: the notebook takes the first 1000 samples of each
     retained class in folder order. We draw them at random with the run's seed.
  Also: with eval-mode noise learning, the noise of all forget classes is learned in one
  batched pass (exact: Adam is element-wise and each noise tensor has its own loss term).

Why the fixed variant is the default (measured; docs/REPRODUCTION.md, "Which UNSIR is the
default"): the paper describes noise learned for each forget class and labelled with it,
which is what the fixes do, and on real CIFAR-10 (``cifar10-cpu``, 3 seeds, two forget sets)
no quirk, alone or all four together, moved retain accuracy by more than the spread over
seeds (36-43 % for every variant, forgetting complete). What does matter there is the
learning rate: the notebook's Adam rates suit its Adam-trained original; on an SGD-trained
one, a tenth of both keeps retain accuracy near the gold retrain's. Common practice differs
from both: the baseline scripts circulating with the SSD authors' code (which SUPREME runs)
use Adam 1e-4 for impair and repair; on the published cifar10-cpu originals (forget class 3,
seeds 0-2) that kept 79.7-80.8 % retain accuracy at 0.1-0.3 % forget accuracy, against
31.8-39.3 % for the defaults. The defaults stay the paper's, the README shows both, and the
search space reaches 1e-4.

Expected (paper, ResNet-18, CIFAR-10, one class): forget accuracy 81.01 -> 0, retain
77.86 -> 71.06; CIFAR-100, 20 classes: retain 77.88 -> 75.38. Reference notebook on the
JPEG CIFAR-10 of this suite, classes 0 and 2 (measured by the issue author on one H100):
retain 75.3 -> 70.8, forget 71.3 -> 0.00 (see docs/REPRODUCTION.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from methods.api import (
    Access,
    Int,
    LabelledImages,
    LogFloat,
    MethodStyle,
    Scenario,
    TiledImages,
    UnlearningMethod,
    UnlearnRequest,
    make_optimizer,
    register_method,
    seeded_generator,
    setting,
    train_epoch,
)


@dataclass(frozen=True)
class UnsirConfig:
    """UNSIR hyperparameters; defaults from the reference notebook (see module docstring)."""

    noise_batch: int = setting(256, ge=1)
    noise_lr: float = setting(0.1, gt=0)
    noise_steps: int = setting(40, ge=0)
    noise_l2_weight: float = setting(0.1, ge=0)
    noise_copies: int = setting(20, ge=1)
    impair_lr: float = setting(0.02, gt=0)
    impair_epochs: int = setting(1, ge=0)
    repair_lr: float = setting(0.01, gt=0)
    repair_epochs: int = setting(1, ge=0)
    batch_size: int = setting(256, ge=1)
    retain_per_class: int = setting(1000, ge=1)
    quirk_three_noise_images: bool = False
    quirk_label_zero: bool = False
    quirk_train_mode_noise: bool = False
    quirk_first_retain_samples: bool = False



@register_method
class Unsir(UnlearningMethod):
    """Error-maximising noise per forget class, one impair epoch, one repair epoch."""

    name = "unsir"
    needs = frozenset({Access.RETAIN_SUBSET})
    scenarios = frozenset({Scenario.CLASSES})  # noise is learned for each forget class
    requires = "class forgetting only; learning rates that fit the original's optimiser"
    Config = UnsirConfig
    # Tuned by `python -m benchmark tune` (the notebook's values are CIFAR-10's).
    search_space = {
        # Down to 1e-4: the Adam rate of impair and repair in the baseline scripts that
        # circulate with the SSD authors' code, as SUPREME runs UNSIR (common practice, and
        # far below the notebook's), so tuning can find it.
        "impair_lr": LogFloat(1e-4, 2e-1,
                    source="ours: from common practice's 1e-4 to a decade above the notebook's 0.02"),
        "repair_lr": LogFloat(1e-4, 1e-1,
                    source="ours: from common practice's 1e-4 to a decade above the notebook's 0.01"),
        "repair_epochs": Int(1, 4, source="ours: the notebook's 1 epoch up to 4"),
        "noise_l2_weight": LogFloat(1e-2, 1.0,
                    source="ours: a decade either side of the notebook's 0.1"),
    }
    paper = "Tarun et al., Fast Yet Effective Machine Unlearning, IEEE TNNLS 2023"
    style = MethodStyle(label="UNSIR", colour="#0173b2", marker="D")

    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        cfg: UnsirConfig = self.config
        retain_subset = request.retain_subset(
            cfg.retain_per_class, first_in_order=cfg.quirk_first_retain_samples
        ).to(request.engine.device)
        noise = self.learn_noise(model, request)
        generator = seeded_generator(request.seed, salt=1)
        engine, normalizer = request.engine, request.normalizer

        impair = make_optimizer(model.parameters(), "adam", cfg.impair_lr)
        for _ in range(cfg.impair_epochs):
            train_epoch(model, [noise, retain_subset], impair, engine, normalizer,
                        cfg.batch_size, generator)
        repair = make_optimizer(model.parameters(), "adam", cfg.repair_lr)
        for _ in range(cfg.repair_epochs):
            train_epoch(model, [retain_subset], repair, engine, normalizer, cfg.batch_size,
                        generator)
        return model

    def learn_noise(self, model: nn.Module, request: UnlearnRequest) -> TiledImages:
        """Error-maximising noise for every forget class, labelled and tiled for impair."""
        cfg: UnsirConfig = self.config
        device = request.engine.device
        classes = request.forget_classes
        generator = seeded_generator(request.seed, salt=2)
        shape = (len(classes) * cfg.noise_batch, *request.image_shape)
        # randn as in the notebook; drawn on the CPU so a seed gives the same noise anywhere.
        noise = torch.randn(shape, generator=generator).to(device)
        labels = torch.tensor(classes, device=device).repeat_interleave(cfg.noise_batch)

        if cfg.quirk_train_mode_noise:
            # The notebook learns each class's noise separately, BatchNorm in batch mode.
            for i in range(len(classes)):
                rows = slice(i * cfg.noise_batch, (i + 1) * cfg.noise_batch)
                noise[rows] = self._optimise_noise(model, noise[rows], labels[rows], request, True)
        else:
            noise = self._optimise_noise(model, noise, labels, request, False)

        if cfg.quirk_three_noise_images:
            per_class = noise.view(len(classes), cfg.noise_batch, *request.image_shape)
            keep = min(request.image_shape[0], cfg.noise_batch)  # batch[0].size(0) = channels
            noise = per_class[:, :keep].reshape(-1, *request.image_shape)
            labels = labels.view(len(classes), cfg.noise_batch)[:, :keep].reshape(-1)
        if cfg.quirk_label_zero:
            labels = torch.zeros_like(labels)
        return TiledImages(LabelledImages(noise, labels), cfg.noise_copies)

    def _optimise_noise(
        self, model: nn.Module, noise: torch.Tensor, labels: torch.Tensor,
        request: UnlearnRequest, train_mode: bool,
    ) -> torch.Tensor:
        """Maximise CE on the forget labels with an L2 penalty (model weights untouched)."""
        cfg: UnsirConfig = self.config
        engine = request.engine
        noise = noise.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([noise], lr=cfg.noise_lr)
        was_training = model.training
        model.train(train_mode)
        frozen = [p for p in model.parameters() if p.requires_grad]
        for parameter in frozen:  # no weight gradients: the noise is the only variable
            parameter.requires_grad_(False)
        try:
            count = max(len(request.forget_classes), 1) if not train_mode else 1
            for _ in range(cfg.noise_steps):
                inputs = noise.contiguous(memory_format=torch.channels_last) \
                    if engine.channels_last else noise
                with engine.autocast():
                    logits = model(inputs)
                # Sum of each class's own mean loss, so a batched step equals separate steps.
                ce = nn.functional.cross_entropy(logits.float(), labels) * count
                penalty = noise.square().sum(dim=(1, 2, 3)).mean() * count
                loss = -ce + cfg.noise_l2_weight * penalty
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)
            model.train(was_training)
        return noise.detach()
