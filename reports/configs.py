"""Rows of different configurations are never merged: each (model, data set) is split by a
settings fingerprint.

Two runs into one database with different settings (``data.train_per_class=100`` and
``=200``, another recipe, other metric options) used to share a summary line ("1 (1 failed)")
and a figure panel. A row's configuration is everything its stored spec says beyond the cell
itself (model options, training recipe, data caps, metric options, device type, precision,
memory layout; not the seed, method, method settings, forget set, preset name or data root).
Settings at their default are left out, so rows stored before a setting existed match rows
that have it at its default.

When one (model, data set) holds more than one configuration, its data set reads
``cifar10 [A]``, ``cifar10 [B]``, ... everywhere (tables, panel titles), and the
Configurations table says what each letter is: the settings in which they differ. A
database of one configuration a (model, data set) is reported exactly as before.
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict
from typing import Any

import pandas as pd

from benchmark.core.training import TrainRecipe
from benchmark.harness.options import DataOptions, MetricOptions

DEFAULTS = {"recipe": asdict(TrainRecipe()), "data": asdict(DataOptions()),
            "metrics": asdict(MetricOptions())}
SECTION_NAMES = {"recipe": "train", "data": "data", "metrics": "metrics",
                 "model_kwargs": "model"}
TOP_LEVEL = ("device_type", "precision", "channels_last")


def configuration(spec: Any) -> dict[str, Any]:
    """The ``section.key -> value`` settings of a stored spec that are not at their default."""
    if not isinstance(spec, dict):
        return {}
    settings: dict[str, Any] = {}
    for section, name in SECTION_NAMES.items():
        values = spec.get(section) or {}
        defaults = DEFAULTS.get(section, {})
        for key, value in (values.items() if isinstance(values, dict) else ()):
            if key not in defaults or defaults[key] != value:
                settings[f"{name}.{key}"] = value
    for key in TOP_LEVEL:
        if key in spec:
            settings[key] = spec[key]
    return settings


def fingerprint(settings: dict[str, Any]) -> str:
    """The configuration as a canonical JSON text (its identity)."""
    return json.dumps(settings, sort_keys=True, default=str)


def split_configurations(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each data set of several configurations relabelled ``name [A]`` etc.,
    and the column ``configuration`` (the fingerprint; "" without a stored spec)."""
    frame = frame.copy()
    specs = frame["spec"] if "spec" in frame else pd.Series(None, index=frame.index)
    frame["configuration"] = [fingerprint(configuration(s)) for s in specs]
    for (_, dataset), rows in frame.groupby(["model", "dataset"], sort=False):
        prints = list(dict.fromkeys(rows["configuration"]))
        if len(prints) < 2:
            continue
        for letter, print_ in zip(string.ascii_uppercase, prints, strict=False):
            frame.loc[rows.index[rows["configuration"] == print_], "dataset"] = \
                f"{dataset} [{letter}]"
    return frame


def described(frame: pd.DataFrame) -> list[tuple[str, str, dict[str, Any]]]:
    """``(model, data set label, {setting: value})`` per split configuration, its settings
    those in which the configurations of that model and data set differ."""
    if "configuration" not in frame:
        return []
    pairs = frame[["model", "dataset", "configuration"]].drop_duplicates()
    pairs = pairs[pairs["dataset"].astype(str).str.fullmatch(r".* \[[A-Z]\]")]
    out = []
    for (model, _base), group in pairs.groupby(
            [pairs["model"], pairs["dataset"].str.replace(r" \[[A-Z]\]$", "", regex=True)],
            sort=False):
        settings = {row.dataset: json.loads(row.configuration) for row in group.itertuples()}
        keys = sorted({k for s in settings.values() for k in s})
        differing = [k for k in keys if len({repr(s.get(k)) for s in settings.values()}) > 1]
        out += [(str(model), label, {k: s.get(k) for k in differing})
                for label, s in sorted(settings.items())]
    return out


def settings_text(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in settings.items()) or "(the defaults)"


def _text(value: Any) -> str:
    return "unset" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
