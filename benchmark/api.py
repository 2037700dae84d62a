"""The Python API: run a grid and read its results from a notebook, with the CLI's defaults.

    from benchmark import run, load_results

    frame = run(methods=["unsir", "retrain"], seeds=[0, 1])    # the default preset, as the CLI
    frame = load_results("results/results.sqlite")             # one column per scalar

``run`` takes the ``python -m benchmark run`` flags as keyword arguments and goes through the
same code as the command (same defaults, same checks, same database). Both return a flat
pandas DataFrame: one row per stored result, one column per scalar metric (``forget_acc_test``,
``time_s``, ...), hyperparameters as ``hparams.<name>``, provenance as ``provenance.<name>``.
Per-layer weight distances (``layer.<parameter>``) and list-valued details (histograms,
relearn curves, the full spec) stay out unless asked for.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.harness.frames import flat_record
from benchmark.harness.spec import DEFAULT_RESULTS
from benchmark.harness.store import ResultStore

DETAIL_COLUMNS = ("spec", "artifacts", "pred_histogram", "pred_retained_histogram",
                  "relearn_curve", "relearn_curve_steps")


def run(preset: str = "default", *, methods: Iterable[str] | None = None,
        models: Iterable[str] | None = None, datasets: Iterable[str] | None = None,
        forget: str | Iterable[str] | None = None, seeds: Iterable[int] | None = None,
        device: str | None = None, data_root: str | None = None, results: str | None = None,
        cache_dir: str | None = None, settings: Mapping[str, Any] | Iterable[str] | None = None,
        threads: int | None = None, tuned: Iterable[str] | None = None, rerun: bool = False,
        save_models: bool = False,
        show_progress: bool = False, layers: bool = False, details: bool = False) -> pd.DataFrame:
    """Run ``preset`` with CLI-flag overrides; the rows of this run as a flat DataFrame.

    ``settings`` is ``{"unsir.impair_lr": 0.05}`` or ``["unsir.impair_lr=0.05"]`` (``--set``);
    ``tuned`` names tuned files as ``--tuned`` does (``["default"]``: the shipped ones).
    Bad input raises ``benchmark.core.errors.UserError`` with the CLI's one-line message.
    """
    from benchmark.cli.run import spec_from_args
    from benchmark.harness.progress import Reporter
    from benchmark.harness.runner import run_grid

    if isinstance(settings, Mapping):
        settings = [f"{key}={value}" for key, value in settings.items()]
    args = argparse.Namespace(
        preset=preset, methods=_list(methods), models=_list(models), datasets=_list(datasets),
        forget=[forget] if isinstance(forget, str) else _list(forget),
        seeds=None if seeds is None else [int(s) for s in seeds], device=device,
        data_root=data_root, results=results, cache_dir=cache_dir,
        settings=list(settings or []), threads=threads, tuned=_list(tuned), rerun=rerun,
        save_models=save_models)
    spec = spec_from_args(args)
    outcome = run_grid(spec, Reporter.rich() if show_progress else Reporter.silent())
    return flat_frame(outcome.rows, layers=layers, details=details)


def load_results(path: str | Path = DEFAULT_RESULTS, *, layers: bool = False,
                 details: bool = False) -> pd.DataFrame:
    """Every stored result of ``path`` as a flat DataFrame (the database is opened read-only)."""
    from benchmark.core.errors import UserError

    if not Path(path).exists():
        raise UserError(f"no results database at {path}; run `python -m benchmark run` first")
    with ResultStore(path, read_only=True) as store:
        return flat_frame(store.rows(), layers=layers, details=details)


def flat_frame(rows: list[dict[str, Any]], layers: bool = False, details: bool = False) -> pd.DataFrame:
    """Rows -> one column per scalar (see the module docstring for what is left out)."""
    records = []
    for row in rows:
        record = flat_record(row)
        for section in ("hparams", "provenance"):
            record.update({f"{section}.{k}": v for k, v in (record.pop(section) or {}).items()})
        distances = record.pop("layer_distance", None) or {}
        if layers:
            record.update({f"layer.{name}": value for name, value in distances.items()})
        record["access"] = ",".join(record.get("access") or [])
        record["warnings"] = "; ".join(record.get("warnings") or [])
        if not details:
            for column in DETAIL_COLUMNS:
                record.pop(column, None)
        records.append(record)
    return pd.DataFrame(records)


def _list(values: Iterable[Any] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]
