"""On-disk cache of decoded image tensors, so JPEG/PNG files are decoded once per machine.

Layout: ``<cache dir>/<name>-<key>.pt``, one file per (data source, loader parameters).
The key hashes the absolute source path, a fingerprint of its contents (size and mtime of
an archive; relative path, size and mtime of every image in a folder) and the loader's
parameters, so editing the data or changing a parameter never reuses a stale entry.
Entries are written to a temporary file and renamed (atomic on POSIX), so a killed run or
two concurrent runs never leave a half-written file under the final name. Each entry holds
a CRC-32 of its contents; a file that does not load (truncated, wrong format) or whose
checksum does not match is rebuilt, never silently reused.

The cache directory is ``DataSource.cache_dir``, else ``$UNLEARN_CACHE_DIR``, else
``~/.cache/unlearning-bench/data``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from datasets.base import DataSource

log = logging.getLogger(__name__)

CACHE_ENV = "UNLEARN_CACHE_DIR"
DEFAULT_CACHE_DIR = Path("~/.cache/unlearning-bench/data")

# Bump when the payload layout changes, so old entries are ignored instead of misread.
CACHE_FORMAT = 1

Payload = dict[str, Any]


def cache_dir_for(source: DataSource) -> Path:
    """The decode cache directory for ``source`` (not created here)."""
    chosen = source.cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
    return Path(chosen).expanduser()


def fingerprint(path: Path, image_suffixes: frozenset[str] | None = None) -> dict[str, Any]:
    """Identity of a data source for cache keys: absolute path plus a content fingerprint.

    For a file: its size and mtime. For a folder: a hash over the relative path, size and
    mtime of every file (only files with ``image_suffixes`` when given), because a folder's
    own mtime does not change when a file deep inside it is replaced.
    """
    path = path.resolve()
    if path.is_file():
        stat = path.stat()
        return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    digest = hashlib.sha256()
    count = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()  # os.walk order is filesystem order; sort for a stable hash
        for filename in sorted(filenames):
            if image_suffixes is not None and Path(filename).suffix.lower() not in image_suffixes:
                continue
            full = os.path.join(dirpath, filename)
            stat = os.stat(full)
            rel = os.path.relpath(full, path)
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            count += 1
    return {"path": str(path), "files": count, "listing": digest.hexdigest()}


def cache_key(parts: Mapping[str, Any]) -> str:
    """A short stable hash of JSON-serialisable ``parts``."""
    text = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_or_build(
    cache_dir: Path, name: str, key_parts: Mapping[str, Any], build: Callable[[], Payload]
) -> Payload:
    """Return the cached payload for ``key_parts``, or ``build()`` it and store it.

    ``build`` must return a dict of tensors, strings, numbers and lists/tuples of them
    (what ``torch.load(weights_only=True)`` accepts). A cache directory that cannot be
    written only costs the cache, never the load.
    """
    path = cache_dir / f"{name}-{cache_key(key_parts)}.pt"
    if path.is_file():
        payload = _read(path)
        if payload is not None:
            log.info("loaded %s from the decode cache %s", name, path)
            return payload
        log.warning("rebuilding unreadable cache file %s", path)
    payload = build()
    _write(path, payload)
    return payload


def _read(path: Path) -> Payload | None:
    try:
        # weights_only: a cache file must never be able to run code when loaded.
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt or truncated file, or an incompatible torch
        log.debug("cannot read %s: %s", path, error)
        return None
    if not isinstance(payload, dict) or payload.get("_format") != CACHE_FORMAT:
        return None
    payload = dict(payload)
    payload.pop("_format")
    stored = payload.pop("_crc32", None)
    # torch.load does not check the zip's CRCs: a flipped bit would load silently.
    if stored != checksum(payload):
        log.debug("checksum mismatch in %s", path)
        return None
    return payload


def checksum(payload: Payload) -> int:
    """CRC-32 over the payload's tensors (their raw bytes) and the text of its other values.

    CRC-32 reads about 2 GB/s: 0.1 s for decoded CIFAR, against 0.4 s or more for a
    cryptographic hash that nothing here needs (the threat is disk corruption, not attack).
    """
    crc = 0
    for key in sorted(payload):
        value = payload[key]
        crc = zlib.crc32(key.encode(), crc)
        if isinstance(value, torch.Tensor):
            raw = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
            crc = zlib.crc32(f"{value.dtype}{tuple(value.shape)}".encode(), crc)
            crc = zlib.crc32(memoryview(raw), crc)
        else:
            crc = zlib.crc32(repr(value).encode(), crc)
    return crc


def _write(path: Path, payload: Payload) -> None:
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name in the same folder: concurrent writers never collide
        # and os.replace stays a same-filesystem atomic rename.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            torch.save({**payload, "_format": CACHE_FORMAT, "_crc32": checksum(payload)}, handle)
        # mkstemp creates the file 0600; a shared cache directory should be readable by all.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as error:
        log.warning("could not write the decode cache %s (%s); continuing without it", path, error)
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
