"""Search spaces: the ranges a tuner may draw a method's hyperparameters from.

A method declares them next to its Config, one entry per knob, each with its bounds and a
one-line ``source`` (the paper's sweep, the reference code's range, or ours around the
paper's value)::

    search_space = {"lr": LogFloat(1e-3, 1e-1, source="ours: a decade around the paper's 0.01")}

The types are plain data: the tuner (benchmark.tuning) turns them into its optimiser's
distributions, so the kernel knows nothing of Optuna. :func:`check_search_space` proves a
space fits its Config: every name a field, the type the field's, both ends inside the
field's ``setting`` bounds.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from benchmark.core.config import Bounds


@dataclass(frozen=True)
class Float:
    """A real number in [low, high]; drawn uniformly, or log-uniformly with ``log``."""

    low: float
    high: float
    source: str
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"search range needs low < high, not {self.low:g}..{self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, not {self.low:g}")
        if not self.source:
            raise ValueError("a search range needs a source (where its bounds come from)")

    def ends(self) -> tuple[Any, ...]:
        return (self.low, self.high)

    def describe(self) -> str:
        scale = "log " if self.log else ""
        return f"{scale}{type(self).__name__.lower()} {self.low:g}..{self.high:g} ({self.source})"


@dataclass(frozen=True)
class LogFloat(Float):
    """A positive real number drawn log-uniformly: learning rates, loss weights."""

    log: bool = True

    def describe(self) -> str:
        return f"log float {self.low:g}..{self.high:g} ({self.source})"


@dataclass(frozen=True)
class Int(Float):
    """A whole number in [low, high], both included: epochs, steps."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if isinstance(self.low, bool) or not isinstance(self.low, int) or \
                isinstance(self.high, bool) or not isinstance(self.high, int):
            raise ValueError(f"an Int range needs whole numbers, not {self.low!r}..{self.high!r}")
        super().__post_init__()


@dataclass(frozen=True)
class Choice:
    """One of a few values, each tried as it is: batch sizes, switches."""

    options: tuple[Any, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.options) < 2 or len(set(self.options)) != len(self.options):
            raise ValueError(f"a Choice needs two or more distinct options, not {self.options!r}")
        if not self.source:
            raise ValueError("a search range needs a source (where its options come from)")

    def ends(self) -> tuple[Any, ...]:
        return self.options

    def describe(self) -> str:
        return f"one of {', '.join(map(str, self.options))} ({self.source})"


Param = Float | Choice  # LogFloat and Int are Floats


def quantile(param: Param, q: float) -> Any:
    """The value at quantile ``q`` in [0, 1) of the range's prior: what a random draw gives
    (uniform, log-uniform, each whole number or option equally likely), as Optuna's TPE
    draws its first trials before it models anything."""
    q = min(max(q, 0.0), 1.0 - 1e-12)
    if isinstance(param, Choice):
        return param.options[int(q * len(param.options))]
    if isinstance(param, Int):
        if param.log:
            return min(param.high, int(math.exp(math.log(param.low) + q * math.log((param.high + 1) / param.low))))
        return param.low + int(q * (param.high - param.low + 1))
    if param.log:
        return math.exp(math.log(param.low) + q * (math.log(param.high) - math.log(param.low)))
    return param.low + q * (param.high - param.low)


def check_search_space(config_type: type, space: dict[str, Param], what: str) -> None:
    """Raise ValueError unless every range of ``space`` fits a field of ``config_type``."""
    fields = {f.name: f for f in dataclasses.fields(config_type)}
    hints = typing.get_type_hints(config_type)
    for name, param in space.items():
        if name not in fields:
            raise ValueError(f"{what}: search space names {name!r}, not a field of "
                             f"{config_type.__name__}")
        hint = hints[name]
        if isinstance(param, Int) and hint is not int:
            raise ValueError(f"{what}.{name}: an Int range for a {hint} field")
        if isinstance(param, Float) and not isinstance(param, Int) and hint is not float:
            raise ValueError(f"{what}.{name}: a Float range for a {hint} field")
        bounds: Bounds = fields[name].metadata.get("bounds", Bounds())
        for value in param.ends():
            problem = bounds.violation(value)
            if problem:
                raise ValueError(f"{what}.{name}: search range end {problem}")
