"""The Python API: run a grid and read its results from a notebook, with the CLI's defaults.

    from benchmark import run, load_results

    frame = run(methods=["unsir", "retrain"], seeds=[0, 1])    # the default preset, as the CLI
    frame = load_results("results/results.sqlite")             # one column per scalar

``run`` takes the ``python -m benchmark run`` flags as keyword arguments and resolves them
through the same function as the command (benchmark.harness.plan.resolve: same defaults,
same checks, same database). Both return a flat pandas DataFrame: one row per stored result,
one column per scalar metric (``forget_acc_test``, ``time_s``, ...), hyperparameters as
``hparams.<name>``, provenance as ``provenance.<name>``. Per-layer weight distances
(``layer.<parameter>``) and list-valued details (histograms, relearn curves, the full spec)
stay out unless asked for. Accuracies are fractions (0.93), as stored; the CLI's tables
and the reports show them as percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.harness.spec import DEFAULT_RESULTS, RunArgs


def run(preset: str = "default", *, methods: Iterable[str] | None = None,
        models: Iterable[str] | None = None, datasets: Iterable[str] | None = None,
        forget: str | Iterable[str] | None = None, seeds: Iterable[int] | None = None,
        device: str | None = None, data_root: str | None = None, results: str | None = None,
        cache_dir: str | None = None, settings: Mapping[str, Any] | Iterable[str] | None = None,
        threads: int | None = None, tuned: Iterable[str] | None = None, rerun: bool = False,
        save_models: bool = False, fail_fast: bool = False,
        show_progress: bool = False, layers: bool = False, details: bool = False) -> pd.DataFrame:
    """Run ``preset`` with CLI-flag overrides; the rows of this run as a flat DataFrame.

    ``settings`` is ``{"unsir.impair_lr": 0.05}`` (values as given) or
    ``["unsir.impair_lr=0.05"]`` (parsed as ``--set`` parses them); ``tuned`` names tuned
    files as ``--tuned`` does (``["default"]``: the shipped ones). Bad input raises
    ``benchmark.core.errors.UserError`` with the CLI's one-line message.

    Units: accuracies and rates are fractions (``forget_acc_test`` 0.75, not the 75.0 the
    CLI's table shows), times in seconds (``time_s``: the ``unlearn`` call alone), speed-ups
    plain ratios, as in the database, ``export`` and claim files. ``fail_fast`` stops at the
    first failed cell or weak original (``benchmark.core.errors.RunStopped``).
    """
    import warnings

    from benchmark.harness.frames import rows_to_dataframe
    from benchmark.harness.plan import resolve
    from benchmark.harness.progress import Reporter
    from benchmark.harness.runner import run_grid

    asked = RunArgs(
        preset=preset, methods=_texts(methods), models=_texts(models), datasets=_texts(datasets),
        forget=[forget] if isinstance(forget, str) else _texts(forget),
        seeds=None if seeds is None else [int(s) for s in seeds], device=device,
        data_root=data_root, results=results, cache_dir=cache_dir,
        settings=settings if isinstance(settings, Mapping) else tuple(settings or ()),
        threads=threads, tuned=tuple(_texts(tuned) or ()), rerun=rerun, save_models=save_models,
        fail_fast=fail_fast)
    plan = resolve(asked, on_note=lambda note: warnings.warn(note, stacklevel=2))
    outcome = run_grid(plan, Reporter.rich() if show_progress else Reporter.silent())
    return rows_to_dataframe(outcome.rows, flat=True, layers=layers, details=details)


def load_results(path: str | Path = DEFAULT_RESULTS, *, layers: bool = False,
                 details: bool = False) -> pd.DataFrame:
    """Every stored result of ``path`` as a flat DataFrame (the database is opened read-only).

    Accuracies are fractions and times seconds, as :func:`run` returns them.
    """
    from benchmark.harness.store import load_dataframe

    return load_dataframe(path, flat=True, layers=layers, details=details)


def _texts(values: Iterable[Any] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]
