"""Forget sets of the three scenarios: which training (and test) samples are forgotten.

A ForgetSet is what ``--forget`` names, parsed against a data set:

- ``3``, ``0,2``, ``random:K[:SEED]``, ``each``: whole classes (benchmark.core.scenarios);
- ``subclass:NAME``: the samples of one fine class (``subclass:baby`` on ``cifar20``) whose
  superclass label ("people") stays a retained class;
- ``samples:P%[:SEED]``: a random P % of the training samples (seed 0 unless given; the
  draw does not depend on the training seed).

``masks(data)`` gives the forgotten rows of the train and test splits. For ``samples`` no
test sample is forgotten (the test set holds other images); metrics that need forgotten
test samples then use the forgotten training samples instead (docs/METRICS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.core.errors import UserError
from benchmark.core.scenarios import Scenario
from datasets.base import ImageDataset
from datasets.splits import class_mask, parse_forget


@dataclass(frozen=True)
class ForgetSet:
    """What is forgotten; ``classes`` holds the forgotten classes (``classes`` scenario) or
    the superclass a sub-class belongs to (``subclass``), nothing for ``samples``."""

    scenario: Scenario
    classes: tuple[int, ...] = ()
    subclass: str | None = None
    percent: float = 0.0
    sample_seed: int = 0

    @classmethod
    def of_classes(cls, classes: tuple[int, ...]) -> ForgetSet:
        return cls(Scenario.CLASSES, tuple(sorted(classes)))

    @property
    def label(self) -> str:
        """The text stored in the results' ``forget`` column ("3", "0,2", "subclass:baby")."""
        if self.scenario is Scenario.CLASSES:
            return ",".join(map(str, self.classes))
        if self.scenario is Scenario.SUBCLASS:
            return f"subclass:{self.subclass}"
        seed = f":{self.sample_seed}" if self.sample_seed else ""
        return f"samples:{self.percent:g}%{seed}"

    @property
    def forget_classes(self) -> tuple[int, ...]:
        """Classes whose every sample is forgotten (empty unless the scenario is ``classes``)."""
        return self.classes if self.scenario is Scenario.CLASSES else ()

    def masks(self, data: ImageDataset) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean masks of the forgotten train and test rows of ``data``."""
        if self.scenario is Scenario.CLASSES:
            return class_mask(data.train_y, self.classes), class_mask(data.test_y, self.classes)
        if self.scenario is Scenario.SUBCLASS:
            fine = data.fine_classes.index(self.subclass)
            return data.train_fine_y == fine, data.test_fine_y == fine
        count = round(len(data.train_y) * self.percent / 100)
        generator = torch.Generator().manual_seed(self.sample_seed)
        chosen = torch.randperm(len(data.train_y), generator=generator)[:count]
        train = torch.zeros(len(data.train_y), dtype=torch.bool)
        train[chosen] = True
        test = torch.zeros(len(data.test_y), dtype=torch.bool)
        return train.to(data.train_y.device), test.to(data.test_y.device)

    def size(self, data: ImageDataset) -> int:
        """How many training samples are forgotten."""
        return int(self.masks(data)[0].sum())


def parse_forget_sets(text: str, data: ImageDataset) -> list[ForgetSet]:
    """The forget sets a ``--forget`` value names on ``data`` (one-line UserError if bad)."""
    text = str(text).strip()
    if text.startswith("subclass:"):
        return [_subclass(text, data)]
    if text.startswith("samples:"):
        return [_samples(text, data)]
    return [ForgetSet.of_classes(classes) for classes in parse_forget(text, data.num_classes)]


def _subclass(text: str, data: ImageDataset) -> ForgetSet:
    name = text.split(":", 1)[1].strip()
    if not data.fine_classes:
        raise UserError(f"--forget {text!r}: data set {data.name!r} has no fine labels; "
                        "sub-class forgetting needs one with superclasses, e.g. cifar20")
    if name not in data.fine_classes:
        shown = ", ".join(data.fine_classes[:8]) + (", ..." if len(data.fine_classes) > 8 else "")
        raise UserError(f"--forget {text!r}: no fine class {name!r} in {data.name}; known: {shown}")
    fine = data.fine_classes.index(name)
    rows = data.train_fine_y == fine
    coarse = int(data.train_y[rows][0]) if bool(rows.any()) else None
    if coarse is None:
        raise UserError(f"--forget {text!r}: {name!r} has no training samples here")
    if bool((data.train_y == coarse).logical_and(~rows).sum() == 0):
        raise UserError(f"--forget {text!r}: {name!r} is all of its superclass; forget the class")
    return ForgetSet(Scenario.SUBCLASS, (coarse,), subclass=name)


def _samples(text: str, data: ImageDataset) -> ForgetSet:
    parts = text.split(":")
    try:
        if not parts[1].endswith("%"):
            raise ValueError
        percent = float(parts[1][:-1])
        seed = int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        raise UserError(f"bad --forget {text!r}; use samples:10% or samples:10%:SEED") from None
    if not 0 < percent < 100 or seed < 0:
        raise UserError(f"--forget {text!r}: the percentage must be above 0 and below 100")
    forget = ForgetSet(Scenario.SAMPLES, percent=percent, sample_seed=seed)
    if forget.size(data) == 0:
        raise UserError(f"--forget {text!r} forgets no sample of {len(data.train_y)}; raise it")
    return forget
