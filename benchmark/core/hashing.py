"""Stable ids: a short SHA-256 of a spec serialised as sorted JSON, or of tensor contents."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import torch


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


def content_hash(*tensors: torch.Tensor, length: int = 16) -> str:
    """SHA-256 of the dtypes, shapes and bytes of ``tensors``: a fingerprint of data.

    Part of every checkpoint key, so a model trained on other data (another copy of a data
    set, a different cap per class) is never reused. About 0.3 s for all of CIFAR-10.
    """
    digest = hashlib.sha256()
    for tensor in tensors:
        flat = tensor.detach().cpu().contiguous()
        digest.update(f"{flat.dtype}{tuple(flat.shape)}".encode())
        digest.update(memoryview(flat.reshape(-1).view(torch.uint8).numpy()))
    return digest.hexdigest()[:length]
