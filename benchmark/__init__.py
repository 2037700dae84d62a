"""Unlearning benchmark: ``python -m benchmark run | report | check | list | export``.

From Python: ``from benchmark import run, load_results`` (see benchmark.api). They are
imported on first use, so importing the kernel (``benchmark.core``) stays light.
"""

from typing import Any

__version__ = "0.2.0"
__all__ = ["__version__", "load_results", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "load_results"):
        from benchmark import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
