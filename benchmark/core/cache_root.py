"""Where the suite caches: one root, with ``checkpoints/`` and ``data/`` inside it.

``--cache-dir`` when given, else ``$UNLEARN_CACHE_DIR``, else ``~/.cache/unlearning-bench``.
Defined once here for the run's checkpoints (benchmark.harness) and the decoded data sets
(datasets.disk_cache).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "UNLEARN_CACHE_DIR"
DEFAULT_CACHE_ROOT = Path("~/.cache/unlearning-bench")


def cache_root(given: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``given``, else ``$UNLEARN_CACHE_DIR``, else the default (user expanded)."""
    chosen = given or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_ROOT
    return Path(chosen).expanduser()
