"""What each unlearning method is held to on the toy set, one row a method.

tests/test_method_contract.py runs the same checks on every row: it forgets one class and
two classes and keeps the rest, the same seed gives the same weights whatever the global
RNG, every declared data access is needed and used, it runs on another architecture, and
out-of-bounds settings are refused. A method's own behaviour (its loss, mask, schedule,
reference quirks) stays in its own test file. A new method adds a row here.

Configs are tuned for the toy set (``tiny_data()``: 10 classes of 60 training images, 8x8),
not the CIFAR-scale defaults; the "measured" notes are test-split accuracies on that set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from methods.api import UnlearningMethod
from methods.bad_teacher import BadTeacher, BadTeacherConfig
from methods.boundary_shrink import BoundaryShrink, BoundaryShrinkConfig
from methods.finetune import Finetune, FinetuneConfig
from methods.fisher import FisherConfig, FisherForgetting
from methods.l1_sparse import L1Sparse, L1SparseConfig
from methods.neggrad import NegGrad, NegGradConfig
from methods.random_label import RandomLabel, RandomLabelConfig
from methods.salun import Salun, SalunConfig
from methods.scrub import Scrub, ScrubConfig
from methods.ssd import SelectiveSynapticDampening, SsdConfig
from methods.unsir import Unsir, UnsirConfig


@dataclass(frozen=True)
class Contract:
    """One method's row: its configs for the toy set and the accuracies it must reach."""

    method: type[UnlearningMethod]
    fast: Any  # forgets class 2 of the toy set in seconds
    forget_below: float  # forget accuracy after unlearning, one class and two
    retain_above: float  # retained classes' accuracy after forgetting class 2
    several_retain_above: float  # ... after forgetting classes 1 and 4
    bad_settings: tuple[dict[str, Any], ...]  # each one refused by apply_overrides
    several: Any = None  # config for forgetting 1 and 4 (default: fast)
    repeat: Any = None  # config of the determinism check (default: fast)
    small: Any = None  # config of the AllCNN run (default: fast)
    seeded: bool = True  # another seed gives other weights (False: the method draws nothing)
    measured: str = ""  # what the row's configs reached when its floors were set

    @property
    def name(self) -> str:
        return self.method.name


CONTRACTS: tuple[Contract, ...] = (
    Contract(
        Unsir,
        # Smaller noise batches and fewer copies than the paper's 256 x 20: the toy retain
        # subset is 54 images a class, so the defaults would drown it in noise.
        fast=UnsirConfig(noise_batch=64, batch_size=32, noise_copies=4, impair_lr=0.02),
        repeat=UnsirConfig(noise_batch=16, noise_steps=5, noise_copies=3, batch_size=64),
        small=UnsirConfig(noise_batch=16, noise_steps=2, noise_copies=2, batch_size=16),
        forget_below=0.2, retain_above=0.85, several_retain_above=0.85,
        bad_settings=({"noise_steps": -1}, {"impair_lr": 0}, {"retain_per_class": 0},
                      {"noise_copies": 0}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00 (seeds 0 and 1)",
    ),
    Contract(
        Finetune,
        fast=FinetuneConfig(epochs=5, batch_size=32, lr=0.05),
        repeat=FinetuneConfig(epochs=1, batch_size=32, lr=0.05),
        small=FinetuneConfig(epochs=1, batch_size=16),
        forget_below=0.2, retain_above=0.9, several_retain_above=0.9,
        bad_settings=({"lr": 0}, {"momentum": 1.0}, {"batch_size": 0}, {"epochs": -1}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00 (seeds 0 and 1)",
    ),
    Contract(
        FisherForgetting,
        fast=FisherConfig(),  # the defaults: exact Fisher is cheap on 540 toy images
        forget_below=0.2, retain_above=0.9, several_retain_above=0.9,
        bad_settings=({"alpha": -1}, {"var_clamp": 0}, {"batch_size": -1}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00 (seeds 0 and 1)",
    ),
    Contract(
        BadTeacher,
        # Larger lr and more epochs than the defaults: the forget set plus 30 % of the
        # retain set is ~7 batches of 32.
        fast=BadTeacherConfig(epochs=3, lr=3e-3, batch_size=32),
        forget_below=0.3, retain_above=0.85, several_retain_above=0.85,
        small=BadTeacherConfig(batch_size=64),
        bad_settings=({"lr": -1}, {"temperature": 0}, {"retain_fraction": 0},
                      {"retain_fraction": 1.5}, {"batch_size": 0}),
        measured="forget 1.00 -> 0.00, retain 1.00; two classes 0.00, retain 1.00",
    ),
    Contract(
        BoundaryShrink,
        # The paper's lr 1e-5 barely moves the weights in the few steps 60 samples give.
        fast=BoundaryShrinkConfig(lr=0.01, epochs=15),
        repeat=BoundaryShrinkConfig(lr=0.01, epochs=2, batch_size=16),
        small=BoundaryShrinkConfig(epochs=1, batch_size=4),
        # Retain floors are low: training in train mode on forget-only batches, as the
        # reference does, moves BatchNorm's running statistics to the forget class's (the
        # toy classes differ in colour, so that costs more here than on CIFAR or digits).
        forget_below=0.2, retain_above=0.4, several_retain_above=0.5,
        seeded=False,  # full-batch order and FGSM neighbours: nothing is drawn
        bad_settings=({"lr": -1}, {"bound": 0}, {"bound": 2.0}, {"batch_size": 0},
                      {"weight_decay": -1}),
        measured="forget 0.00, retain 0.64; two classes 0.00, retain 0.85",
    ),
    Contract(
        L1Sparse,
        fast=L1SparseConfig(epochs=3, batch_size=32, lr=0.05),
        repeat=L1SparseConfig(epochs=1, batch_size=32, lr=0.05),
        small=L1SparseConfig(epochs=1, batch_size=16),
        forget_below=0.2, retain_above=0.9, several_retain_above=0.9,
        bad_settings=({"lr": -1}, {"alpha": -1e-4}, {"momentum": 1.0}, {"epochs": -1},
                      {"no_l1_epochs": 11}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00",
    ),
    Contract(
        NegGrad,
        fast=NegGradConfig(alpha=0.9, epochs=3, lr=0.1, retain_batch_size=64,
                           forget_batch_size=32),
        small=NegGradConfig(alpha=0.9, epochs=1, retain_batch_size=64, forget_batch_size=16),
        forget_below=0.3, retain_above=0.75, several_retain_above=0.75,
        bad_settings=({"lr": -1}, {"alpha": 1.5}, {"epochs": -1}, {"momentum": 1.0},
                      {"forget_batch_size": 0}),
        measured="forget 1.00 -> 0.00, retain 0.92; two classes 0.00, retain 0.99",
    ),
    Contract(
        RandomLabel,
        # A larger lr than the default: the toy set has ~10 batches an epoch.
        fast=RandomLabelConfig(epochs=2, lr=3e-3, batch_size=64),
        small=RandomLabelConfig(epochs=1, batch_size=64),
        forget_below=0.3, retain_above=0.85, several_retain_above=0.85,
        bad_settings=({"lr": -1}, {"lr": 0}, {"epochs": -1}, {"batch_size": 0}),
        measured="forget 1.00 -> 0.00, retain 1.00; two classes 0.00, retain 1.00",
    ),
    Contract(
        Salun,
        fast=SalunConfig(epochs=3, batch_size=32, lr=0.05),
        repeat=SalunConfig(epochs=1, batch_size=32, lr=0.05),
        small=SalunConfig(epochs=1, batch_size=16),
        forget_below=0.2, retain_above=0.9, several_retain_above=0.9,
        bad_settings=({"lr": -1}, {"mask_fraction": 0}, {"mask_fraction": 1.5},
                      {"epochs": -1}, {"order": "random"}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00",
    ),
    Contract(
        Scrub,
        # A larger lr and smaller batches than the defaults: the toy forget set (60 samples)
        # gives 4 max steps, the retain set 9 min steps an epoch.
        fast=ScrubConfig(epochs=2, max_epochs=1, lr=0.02, forget_batch_size=16,
                         retain_batch_size=64),
        small=ScrubConfig(epochs=1, forget_batch_size=16, retain_batch_size=64),
        forget_below=0.3, retain_above=0.85, several_retain_above=0.85,
        bad_settings=({"lr": -1}, {"temperature": 0}, {"momentum": 1.0}, {"kl_weight": -0.1},
                      {"max_epochs": -1}),
        measured="forget 1.00 -> 0.00, retain 1.00; two classes 0.00, retain 0.99",
    ),
    Contract(
        SelectiveSynapticDampening,
        # One class of the toy set is 10 % of it, so alpha must stay below 10; two classes
        # are 20 %, so below 5 (the selection bound, methods/ssd.py).
        fast=SsdConfig(selection_weighting=5.0),
        several=SsdConfig(selection_weighting=3.0),
        small=SsdConfig(selection_weighting=2.0),
        forget_below=0.1, retain_above=0.9, several_retain_above=0.9,
        seeded=False,  # importances over the whole sets in a fixed order
        bad_settings=({"selection_weighting": -1}, {"dampening_constant": 0},
                      {"batch_size": -1}, {"quirk_batch_size": 0}),
        measured="forget 0.00, retain 1.00; two classes 0.00, retain 1.00",
    ),
)


def contract_for(method: type[UnlearningMethod]) -> Contract:
    """The row of ``method``, so its own test file reuses the row's toy-set config."""
    (row,) = [c for c in CONTRACTS if c.method is method]
    return row
