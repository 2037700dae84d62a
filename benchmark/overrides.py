"""``--set section.key=value`` overrides, applied to hyperparameter dataclasses."""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from typing import Any

from benchmark.errors import UserError


def parse_assignments(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["unsir.impair_lr=0.05", "train.epochs=3"]`` -> ``{"unsir": {"impair_lr": 0.05}, ...}``."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        section, dot, key = target.strip().partition(".")
        if not sep or not dot or not section or not key:
            raise UserError(f"bad --set {item!r}; use --set method.key=value or train.key=value")
        result.setdefault(section, {})[key] = parse_value(raw.strip())
    return result


def parse_value(raw: str) -> Any:
    """A Python/TOML-like literal (numbers, true/false, none, quoted or bare strings)."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


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
    try:  # configs check their own ranges in __post_init__
        return dataclasses.replace(config, **changes)
    except ValueError as error:
        raise UserError(f"bad {what} setting: {error}") from None


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
            return value
        raise UserError(f"{name} must be a whole number, not {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise UserError(f"{name} must be a number, not {value!r}")
    if hint is str:
        return str(value)
    return value
