"""Detects another installed package named ``datasets`` (Hugging Face's) shadowing ours."""

from __future__ import annotations

import importlib

from benchmark.core.errors import UserError


def ensure_own_datasets_package() -> None:
    """Raise a one-line UserError when ``import datasets`` is not this suite's package."""
    try:
        module = importlib.import_module("datasets")
    except ImportError as error:
        raise UserError(f"cannot import this suite's `datasets` package ({error}); reinstall with pip install -e .") from None
    if not getattr(module, "IS_UNLEARNING_BENCH_DATASETS", False):
        where = getattr(module, "__file__", "?")
        raise UserError(
            f"another package named 'datasets' ({where}) shadows this suite's; "
            "use a separate virtual environment or `pip uninstall datasets`"
        )
