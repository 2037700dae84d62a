"""On-disk cache of decoded image tensors, so JPEG/PNG files are decoded once per machine.

Layout: ``<cache dir>/<name>-<key>.pt``, one file per (data source, loader parameters).
The key hashes the absolute source path, a fingerprint of its contents (size and mtime of
an archive; relative path, size and mtime of every image in a folder) and the loader's
parameters, so editing the data or changing a parameter never reuses a stale entry.
Entries live in the suite's one artifact store (benchmark.core.artifacts): written
atomically, SHA-256-checked on load, rebuilt when anything fails, never silently reused;
a killed run's leftovers are swept when the folder is next opened.

The folder is ``DataSource.cache_dir``, else ``$UNLEARN_CACHE_DIR/data``, else
``~/.cache/unlearning-bench/data`` (``UNLEARN_CACHE_DIR`` is the root of every cache:
checkpoints go to its ``checkpoints/`` folder).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmark.core.artifacts import ArtifactStore, StorageError
from benchmark.core.cache_root import cache_root
from benchmark.core.hashing import stable_hash
from datasets.base import DataSource

log = logging.getLogger(__name__)

# Bump when the payload layout changes, so old entries are ignored instead of misread.
CACHE_FORMAT = 2

Payload = dict[str, Any]


def cache_dir_for(source: DataSource) -> Path:
    """The decode cache directory for ``source`` (not created here)."""
    if source.cache_dir:
        return Path(source.cache_dir).expanduser()
    return cache_root() / "data"


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
    listing = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()  # os.walk order is filesystem order; sort for a stable hash
        for filename in sorted(filenames):
            if image_suffixes is not None and Path(filename).suffix.lower() not in image_suffixes:
                continue
            full = os.path.join(dirpath, filename)
            stat = os.stat(full)
            rel = os.path.relpath(full, path)
            listing.append((rel, stat.st_size, stat.st_mtime_ns))
    return {"path": str(path), "files": len(listing), "listing": stable_hash(listing, 64)}


def cache_key(parts: Mapping[str, Any]) -> str:
    """A short stable hash of JSON-serialisable ``parts``."""
    return stable_hash({"format": CACHE_FORMAT, **parts}, 20)


def load_or_build(
    cache_dir: Path, name: str, key_parts: Mapping[str, Any], build: Callable[[], Payload]
) -> Payload:
    """Return the cached payload for ``key_parts``, or ``build()`` it and store it.

    ``build`` must return a dict of tensors, strings, numbers and lists/tuples of them
    (what ``torch.load(weights_only=True)`` accepts). A cache directory that cannot be
    written only costs the cache, never the load.
    """
    try:
        store: ArtifactStore | None = ArtifactStore(cache_dir, "data cache folder")
    except StorageError as error:
        log.warning("%s; decoding without a cache", error)
        store = None
    key = cache_key(key_parts)
    if store is not None:
        cached = store.load(name, key)
        if cached is not None:
            log.info("loaded %s from the decode cache %s", name, store.path(name, key))
            return cached[0]
    payload = build()
    if store is not None:
        try:
            store.save(name, key, payload, {"key": dict(key_parts)})
        except StorageError as error:
            log.warning("%s; continuing without caching it", error)
    return payload
