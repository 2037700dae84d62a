"""Hyperparameter dataclasses: settings with bounds, typed overrides, and a result's id values.

Every value a user gives (flag, preset, claims file) passes :func:`apply_overrides`: it is
coerced to the field's type, then checked against the field's bounds (:func:`setting`),
so a bad value is one line before anything is trained, never a traceback after. Turning
``--set`` text into values is benchmark.harness.settings' part (the flags' own syntax).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from benchmark.core.errors import UserError

# Larger whole numbers overflow torch's and numpy's 32-bit arguments and are never meant.
MAX_INT = 2**31 - 1


def apply_overrides(config: Any, values: dict[str, Any], what: str) -> Any:
    """A copy of dataclass ``config`` with ``values`` set, each checked against its field type."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes = {}
    for key, value in values.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise UserError(f"unknown setting {what}.{key}; known: {known}")
        changes[key] = _coerce(value, hints[key], f"{what}.{key}")
    try:  # configs check their own cross-field rules in __post_init__
        updated = dataclasses.replace(config, **changes)
    except ValueError as error:
        raise UserError(f"bad {what} setting: {error}") from None
    check_bounds(updated, what)
    return updated


def _coerce(value: Any, hint: Any, name: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name)
            except UserError as error:
                errors.append(str(error))
        raise UserError(errors[0] if errors else f"bad value for {name}: {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise UserError(f"bad value for {name}: {value!r}; choose one of {', '.join(map(str, args))}")
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{name} must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_INT:
                raise UserError(f"{name} must be at most {MAX_INT} in size, not {value}")
            return value
        raise UserError(f"{name} must be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise UserError(f"{name} must be a finite number, not {value!r}")
            return float(value)
        raise UserError(f"{name} must be a number, not {value!r}")
    if hint is str:
        return str(value)
    return value


# ----------------------------------------------------------------------------- ranges
@dataclasses.dataclass(frozen=True)
class Bounds:
    """Allowed values of a numeric setting: each given bound must hold."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def violation(self, value: Any) -> str | None:
        """Why ``value`` is out of bounds, or None when it is fine (None values pass)."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if value != value:  # NaN passes no comparison
            return "must be a number, not nan"
        checks = (("gt", "above", lambda b: value > b), ("ge", "at least", lambda b: value >= b),
                  ("lt", "below", lambda b: value < b), ("le", "at most", lambda b: value <= b))
        for attribute, words, holds in checks:
            bound = getattr(self, attribute)
            if bound is not None and not holds(bound):
                return f"must be {words} {bound:g}, not {value:g}"
        return None


def setting(default: Any, *, gt: float | None = None, ge: float | None = None,
            lt: float | None = None, le: float | None = None, added_later: bool = False) -> Any:
    """A dataclass field with bounds that every override is checked against.

    ``lr: float = setting(0.01, gt=0)`` refuses ``--set method.lr=-1`` with one line before
    anything is trained. The bounds say what is meaningful, not what is sensible.
    ``added_later``: a setting added after results were stored; at its default it is left
    out of a result's id (:func:`id_values`), so rows stored before it keep their ids.
    """
    return dataclasses.field(default=default, metadata={"bounds": Bounds(gt, ge, lt, le),
                                                        "added_later": added_later})


def added_later(default: Any) -> Any:
    """A field without bounds added after results were stored (see :func:`setting`)."""
    return dataclasses.field(default=default, metadata={"added_later": True})


def id_values(value: Any) -> Any:
    """``dataclasses.asdict`` of ``value``, without added-later settings at their default."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    out = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if f.metadata.get("added_later") and item == f.default:
            continue
        if isinstance(item, (list, tuple)):
            out[f.name] = type(item)(id_values(v) for v in item)
        elif isinstance(item, dict):
            out[f.name] = {k: id_values(v) for k, v in item.items()}
        else:
            out[f.name] = id_values(item)
    return out


def check_bounds(config: Any, what: str) -> None:
    """Raise UserError naming the first field of dataclass ``config`` outside its bounds."""
    for f in dataclasses.fields(config):
        bounds = f.metadata.get("bounds")
        if bounds is None:
            continue
        problem = bounds.violation(getattr(config, f.name))
        if problem:
            raise UserError(f"{what}.{f.name} {problem}")
