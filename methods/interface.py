"""The interface every unlearning method implements, and the data access it is allowed.

A method declares in ``needs`` which data it may see. The harness builds each
``UnlearnRequest`` holding only that data: a method that declares no FORGET access gets a
request with no reference to a forget sample at all ("zero-glance" by construction), and
calling an accessor it did not declare raises DataAccessError.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.epoch_checkpoint import EpochCheckpoint
from benchmark.core.errors import DataAccessError, UserError
from benchmark.core.registry import Registry
from benchmark.core.scenarios import Scenario
from benchmark.core.search_space import Param
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe


class Access(str, enum.Enum):
    """Kinds of training data a method may ask for."""

    RETAIN = "retain"  # every training sample of the retained classes
    RETAIN_SUBSET = "retain_subset"  # a class-balanced subset of those (UNSIR's D_r,sub)
    FORGET = "forget"  # training samples of the classes to forget


# (per_class, first_in_order, seed) -> subset; built by the harness from retain data only.
SubsetProvider = Callable[[int, bool, int], LabelledImages]


@dataclass
class UnlearnRequest:
    """What a method gets besides the model: the task, the tools, and only its declared data."""

    forget_classes: tuple[int, ...]  # whole classes forgotten (empty in the other scenarios)
    num_classes: int
    image_shape: tuple[int, int, int]
    seed: int
    engine: Engine
    normalizer: Normalizer
    original_recipe: TrainRecipe
    # A freshly initialised model of the original's architecture; it holds no data.
    new_model: Callable[[], nn.Module]
    granted: frozenset[Access]
    _retain: LabelledImages | None = None
    _retain_subset: SubsetProvider | None = None
    _forget: LabelledImages | None = None
    # Retain-class test samples, set only when the original's recipe steps its learning rate
    # on the test loss (plateau_monitor="test"), so a retrain can follow the same recipe.
    schedule_monitor: LabelledImages | None = None
    # How many samples of each kind the method drew; stored with the results.
    samples_seen: dict[str, int] = field(default_factory=dict)
    # Which samples are forgotten: whole classes, a sub-class, or random samples.
    scenario: Scenario = Scenario.CLASSES
    # Where a long training may save its epochs and resume after a kill (pass it to
    # ``train_with_recipe``); the harness sets it for the gold retrain only, None otherwise.
    checkpoint: EpochCheckpoint | None = None

    @property
    def retain_classes(self) -> tuple[int, ...]:
        forget = set(self.forget_classes)
        return tuple(c for c in range(self.num_classes) if c not in forget)

    def retain(self) -> LabelledImages:
        """All retain-class training samples (needs Access.RETAIN)."""
        data = self._checked(Access.RETAIN, self._retain)
        self.samples_seen["retain"] = len(data)
        return data

    def retain_subset(self, per_class: int, first_in_order: bool = False) -> LabelledImages:
        """Up to ``per_class`` samples of each retained class (needs Access.RETAIN_SUBSET).

        Drawn at random with the request's seed, or the first ones in storage order when
        ``first_in_order`` (what the UNSIR reference notebook does).
        """
        if per_class < 1:
            raise ValueError("per_class must be at least 1")
        provider = self._checked(Access.RETAIN_SUBSET, self._retain_subset)
        data = provider(per_class, first_in_order, self.seed)
        self.samples_seen["retain_subset"] = len(data)
        return data

    def forget(self) -> LabelledImages:
        """The forget-class training samples (needs Access.FORGET)."""
        data = self._checked(Access.FORGET, self._forget)
        self.samples_seen["forget"] = len(data)
        return data

    def _checked(self, access: Access, value: Any) -> Any:
        if access not in self.granted or value is None:
            raise DataAccessError(
                f"method asked for {access.value!r} data but declared only "
                f"{sorted(a.value for a in self.granted)}; add it to the method's `needs`"
            )
        return value


@dataclass(frozen=True)
class ForgetSummary:
    """What a method's :meth:`~UnlearningMethod.applicability` is told about a forget set,
    counted on the loaded training split before any model is trained."""

    scenario: Scenario
    forget_samples: int  # training samples forgotten (D_f)
    train_samples: int  # every training sample (D = D_r + D_f)
    num_classes: int

    @property
    def fraction(self) -> float:
        """|D_f| / |D|: the forget fraction f."""
        return self.forget_samples / self.train_samples if self.train_samples else 0.0


@dataclass(frozen=True)
class MethodStyle:
    """How reports, tables and the console show a method: declared on the method itself."""

    label: str  # display name, e.g. "UNSIR"
    colour: str | None = None  # any matplotlib colour; None = the next free one
    marker: str | None = None  # matplotlib marker for line plots; None = the next free one


class UnlearningMethod(ABC):
    """Base class: subclasses set ``name``, ``needs``, ``Config`` and implement ``unlearn``.

    Methods never compute metrics or time themselves; the harness does both, the same way
    for all methods. ``style`` (optional) says how reports draw the method; ``search_space``
    (optional) what the tuner may vary.
    """

    name: ClassVar[str]
    needs: ClassVar[frozenset[Access]]
    Config: ClassVar[type]
    paper: ClassVar[str] = ""
    style: ClassVar[MethodStyle | None] = None
    # The forgetting scenarios the method is defined for; others get a skipped row.
    scenarios: ClassVar[frozenset[Scenario]] = frozenset({Scenario.CLASSES})
    # What `python -m benchmark tune` may search: Config field -> range with its source
    # (benchmark.core.search_space). Empty: the method is not tunable.
    search_space: ClassVar[dict[str, Param]] = {}
    # True when the output does not depend on the request's seed (no random numbers): N
    # unlearning seeds would give N identical models (benchmark.harness.population).
    deterministic: ClassVar[bool] = False
    # What the method needs to work, in a few words (``list`` and README's method table);
    # a condition its settings can break is also checked by :meth:`applicability`.
    requires: ClassVar[str] = ""

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @abstractmethod
    def unlearn(self, model: nn.Module, request: UnlearnRequest) -> nn.Module:
        """Return the unlearned model (``model`` may be modified in place and returned)."""

    def applicability(self, forget: ForgetSummary) -> str | None:
        """Why this instance's settings cannot work on ``forget``, in one line; None when
        they can (the default). The harness asks before any training and prints the
        reason as a warning; the run goes on (the row shows what the settings did)."""
        return None

    @classmethod
    def zero_glance(cls) -> bool:
        """True when the method never sees a forget-class sample."""
        return Access.FORGET not in cls.needs

    @classmethod
    def display(cls) -> MethodStyle:
        """The declared style, or one labelled with the method's name."""
        return cls.style or MethodStyle(label=cls.name)


def _check_method(name: str, cls: Any) -> None:
    """A registered method's ``name`` must be the name it is registered under."""
    declared = getattr(cls, "name", None)
    if declared != name:
        raise UserError(f"method registered as {name!r} declares name = {declared!r}; "
                         "they must match (the name is written once, on the class)")


METHODS: Registry[type[UnlearningMethod]] = Registry(
    "method", "unlearning_bench.methods", check=_check_method)

M = TypeVar("M", bound=type[UnlearningMethod])


def register_method(cls: M) -> M:
    """Class decorator: register ``cls`` under its own ``name`` (written once, on the class)."""
    METHODS.register(cls.name, cls)
    return cls
