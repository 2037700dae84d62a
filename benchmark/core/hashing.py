"""Stable ids: a short SHA-256 of a spec serialised as sorted JSON."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dataclasses, tuples and enums -> plain JSON types (for hashing and storage)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_jsonable(v) for v in value)
    if hasattr(value, "value") and value.__class__.__module__ != "builtins":  # enums
        return value.value
    return value


def stable_hash(spec: Any, length: int = 16) -> str:
    """Hash of the sorted JSON form of ``spec``: equal specs give equal ids, across runs."""
    text = json.dumps(to_jsonable(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]
