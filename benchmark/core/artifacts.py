"""One checksummed, atomic file store for everything the suite caches on disk.

Trained originals, retrained gold models, saved unlearned models and decoded data sets all
live in an ``ArtifactStore``: ``<folder>/<kind>-<key>.pt`` (a plain ``torch.save`` file,
loadable with ``torch.load``) plus ``<kind>-<key>.json`` (its SHA-256 and metadata). Each
file is written to a temporary name in the same folder and renamed, weights first and the
JSON last, so the JSON marks a complete entry. Loading verifies the checksum and the
unpickling (``weights_only``: a cache file can never run code); any failure means rebuild,
never silent reuse.

A killed process can leave two kinds of debris, and opening a store sweeps both: temporary
files (named ``.<entry>.<host>.<pid>.tmp``) whose writer is no longer running, and weights
whose JSON never arrived. Temporary files of live writers, or of other hosts sharing the
folder, are left alone until they are a day old.

The folder may be shared with the user's own files (``--cache-dir /shared/cache``), so the
sweep deletes only what it can prove is the store's own: the folder must carry the store's
marker file (``.unlearning-bench-store``, written when a store first opens the folder, so a
folder that held files before it became a store is never swept on that first opening),
and a file's name must be one only the store writes: ``<kind>-<key>.pt`` with a key of 16
or 20 hexadecimal digits (what ``stable_hash`` makes), or the temporary name
``.<entry>.<host>.<pid>.tmp`` of such an entry. ``my_resnet_epoch90.pt``, ``embeddings.pt``
or ``.draft.tmp`` are never touched, however old.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

import torch

from benchmark.core.errors import UserError

log = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
STALE_OTHER_HOST_S = 24 * 3600  # another host's temporary file: assume its writer died after a day
ORPHAN_WEIGHTS_S = 600  # weights without their JSON this old were left by a killed writer
MARKER = ".unlearning-bench-store"  # in every folder a store opened: the sweep needs it
# The names only a store writes: an entry (weights, JSON) and the write probe of __init__.
ENTRY_NAME = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*-(?:[0-9a-f]{16}|[0-9a-f]{20})\.(?:pt|json)")
PROBE_NAME = "write-probe"


class StorageError(UserError):
    """A cache or results file could not be written (permissions, a full disk)."""


class ArtifactStore:
    """Checksummed ``torch.save`` payloads with JSON metadata, written atomically."""

    def __init__(self, folder: str | Path, what: str = "cache folder") -> None:
        """Open (creating) ``folder``; raise StorageError when it cannot be written."""
        # Absolute: entry paths are stored in result rows and read from other folders.
        self.folder = Path(folder).expanduser().absolute()
        self.what = what
        if self.folder.exists() and not self.folder.is_dir():
            raise StorageError(f"{what} {self.folder} is a file; give a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            marked = (self.folder / MARKER).is_file()
            probe = self.folder / _tmp_name(PROBE_NAME)
            probe.write_bytes(b"")
            probe.unlink()
            if not marked:
                _write_marker(self.folder)
        except OSError as error:
            raise StorageError(f"cannot write to the {what} {self.folder} ({error.strerror or error}); "
                               "point it at a writable folder") from None
        # A folder first marked now held no debris of ours: whatever is in it is someone else's.
        self.swept = sweep_debris(self.folder) if marked else []

    def path(self, kind: str, key: str) -> Path:
        """Where the weights (``.pt``) of entry ``kind``/``key`` are, or would be, stored."""
        return self.folder / f"{kind}-{key}.pt"

    def load(self, kind: str, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The payload and metadata of an entry, or None when absent or failing any check."""
        weights, sidecar = self.path(kind, key), self._sidecar(kind, key)
        if not weights.is_file() or not sidecar.is_file():
            return None
        try:
            meta = json.loads(sidecar.read_text())
            raw = weights.read_bytes()
            if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
                log.warning("checksum mismatch in %s; it will be rebuilt", weights)
                return None
            payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as error:  # unreadable JSON, truncated zip, incompatible torch
            log.warning("cannot read %s (%s); it will be rebuilt", weights, error)
            return None
        if not isinstance(payload, dict):
            return None
        return payload, dict(meta.get("meta", {}))

    def save(self, kind: str, key: str, payload: dict[str, Any], meta: dict[str, Any]) -> Path:
        """Write ``payload`` (tensors moved to the CPU) and ``meta``; returns the weights path."""
        buffer = io.BytesIO()
        torch.save({k: _to_cpu(v) for k, v in payload.items()}, buffer)
        raw = buffer.getvalue()
        weights = self.path(kind, key)
        record = {"sha256": hashlib.sha256(raw).hexdigest(), "meta": meta}
        text = json.dumps(record, indent=2, sort_keys=True, default=str).encode()
        try:
            atomic_write(weights, raw)
            atomic_write(self._sidecar(kind, key), text)  # last: marks the entry complete
        except OSError as error:
            raise StorageError(f"cannot write {weights} ({error.strerror or error}); rows "
                               "finished so far are stored, free space and run again") from None
        return weights

    def remove(self, kind: str, key: str) -> None:
        """Delete an entry (JSON first: without it the weights are no longer an entry)."""
        self._sidecar(kind, key).unlink(missing_ok=True)
        self.path(kind, key).unlink(missing_ok=True)

    def _sidecar(self, kind: str, key: str) -> Path:
        return self.folder / f"{kind}-{key}.json"


def _to_cpu(value: Any) -> Any:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _host() -> str:
    return socket.gethostname().replace(".", "_")  # no dots: the name is split on them


def _tmp_name(final_name: str) -> str:
    return f".{final_name}.{_host()}.{os.getpid()}{TMP_SUFFIX}"


def atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename (never half a file)."""
    temp = path.parent / _tmp_name(path.name)
    try:
        with open(temp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # shared cache folders: readable by all, like any other file
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_marker(folder: Path) -> None:
    """Mark ``folder`` as a store's (the sweep deletes nothing in a folder without it)."""
    (folder / MARKER).write_text("This folder is an unlearning-bench artifact store. Files named "
                                 "<kind>-<hex key>.pt/.json are its entries; other files are "
                                 "never touched.\n")


def is_entry_name(name: str) -> bool:
    """Whether ``name`` is one the store writes: ``<kind>-<16 or 20 hex digits>.pt|.json``."""
    return ENTRY_NAME.fullmatch(name) is not None


def sweep_debris(folder: Path) -> list[Path]:
    """Delete what killed writers left in ``folder``; returns the deleted paths.

    Only in a folder carrying the store's marker, and only files named as the store's own
    (see the module docstring); anything else is left alone whatever its age.
    """
    removed: list[Path] = []
    if not (folder / MARKER).is_file():
        return removed
    now, host = time.time(), _host()
    for entry in folder.iterdir():
        try:
            if not entry.is_file() or entry.is_symlink():
                continue
            if entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX):
                if _writer_gone(entry.name, host, now - entry.stat().st_mtime):
                    entry.unlink()
                    removed.append(entry)
            elif entry.suffix == ".pt" and is_entry_name(entry.name) \
                    and not entry.with_suffix(".json").exists():
                if now - entry.stat().st_mtime > ORPHAN_WEIGHTS_S:
                    entry.unlink()
                    removed.append(entry)
        except OSError:  # vanished meanwhile (another sweeper), or not ours to delete
            continue
    if removed:
        log.info("removed %d leftover file(s) of killed runs from %s", len(removed), folder)
    return removed


def _writer_gone(name: str, host: str, age_s: float) -> bool:
    """Whether the store's process that wrote temporary file ``name`` can no longer finish it
    (False for any name the store does not write: those are never deleted)."""
    parts = name[1: -len(TMP_SUFFIX)].rsplit(".", 2)
    if len(parts) != 3 or not parts[2].isdigit() or not parts[1]:
        return False
    entry, writer_host, pid = parts
    if entry != PROBE_NAME and not is_entry_name(entry):
        return False  # not named by us (a user's ``.draft.tmp``): never ours to delete
    if writer_host != host:
        return age_s > STALE_OTHER_HOST_S
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
