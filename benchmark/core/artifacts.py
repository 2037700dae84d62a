"""Checkpoint cache for trained originals and retrained (gold) models.

Keyed by the hash of everything that decides the weights (model, data set, seed, recipe,
forget set for retrains). Each checkpoint is written to a temporary file and renamed, with a
JSON sidecar holding its SHA-256; a missing sidecar or a checksum mismatch means rebuild,
never silent reuse of a half-written or corrupted file.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


class CheckpointCache:
    """``root/<kind>-<key>.pt`` plus ``root/<kind>-<key>.json`` (metadata and checksum)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _paths(self, kind: str, key: str) -> tuple[Path, Path]:
        return self.root / f"{kind}-{key}.pt", self.root / f"{kind}-{key}.json"

    def path(self, kind: str, key: str) -> Path:
        """Where the weights of ``kind``/``key`` are (or would be) stored."""
        return self._paths(kind, key)[0]

    def load(self, kind: str, key: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """The cached state dict and metadata, or None when absent or failing verification."""
        weights_path, meta_path = self._paths(kind, key)
        if not weights_path.exists() or not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            payload = weights_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
            log.warning("checksum mismatch for %s; it will be rebuilt", weights_path)
            return None
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
        return state, meta

    def save(self, kind: str, key: str, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Write weights then metadata, each atomically (temp file in the same folder + rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        weights_path, meta_path = self._paths(kind, key)
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
        payload = buffer.getvalue()
        _atomic_write(weights_path, payload)
        meta = dict(meta, sha256=hashlib.sha256(payload).hexdigest())
        _atomic_write(meta_path, json.dumps(meta, indent=2, sort_keys=True).encode())


def _atomic_write(path: Path, payload: bytes) -> None:
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
