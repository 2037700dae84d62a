"""Tuned files: one TOML per (method, model, data set), written by ``tune``, read by ``run --tuned``.

A file holds ``[tuned]`` (what was tuned: method, model, data set, preset, forget sets,
seeds), ``[best]`` (the chosen settings), ``[objective]``, ``[validation]``, ``[search]``,
``[provenance]`` and one ``[[trial]]`` per trial. ``run --tuned NAME`` takes a shipped name
(``default/unsir-smallcnn-digits``), a shipped folder (``default``: every file in it), a
``.toml`` path or a folder of them, and applies each file's ``[best]`` as its method's
settings: over the preset's, under ``--set`` flags.

Tuned values belong to one model and one data set, and the runner applies a method's
settings to every cell, so a run whose models or data sets are not exactly the file's is
refused with one line. A file found through a folder whose method the run does not include
is passed over; one named on its own is refused.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from benchmark.core.errors import UserError
from benchmark.core.named_files import read_named_toml
from benchmark.harness.spec import ALL_METHODS, RunSpec

PACKAGE, FOLDER = "benchmark.tuning", "tuned"  # the shipped files: benchmark/tuning/tuned/
KIND = "tuned file"
DEFAULT_OUT = "results/tuned"
HEADER = ("# Written by `python -m benchmark tune`; apply with `python -m benchmark run --tuned`.\n"
          "# [best] holds the chosen settings; [[trial]] every trial of the study.\n\n")


def tuned_path(out: str | Path, preset: str | None, method: str, model: str, dataset: str) -> Path:
    """``OUT/<preset>/<method>-<model>-<dataset>.toml`` (a preset path counts by its stem)."""
    folder = Path(preset).stem if preset else "custom"
    return Path(out) / folder / f"{method}-{model}-{dataset}.toml"


def write_tuned(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as TOML (atomically: a killed tune leaves no half file)."""
    try:
        import tomli_w
    except ModuleNotFoundError:
        raise UserError("writing tuned files needs tomli-w: pip install 'unlearning-bench[tune]'") \
            from None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".toml.partial")
    partial.write_text(HEADER + tomli_w.dumps(document))
    partial.replace(path)


def shipped_tuned() -> list[str]:
    """Names of the shipped tuned folders and files (``default``, ``default/unsir-...``)."""
    root = resources.files(PACKAGE) / FOLDER
    names = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name):
        names.append(folder.name)
        names += sorted(f"{folder.name}/{p.name[:-5]}" for p in folder.iterdir()
                        if p.name.endswith(".toml"))
    return names


def read_tuned(names: list[str]) -> list[tuple[str, dict[str, Any], bool]]:
    """(label, table, named on its own) for every file that ``names`` stand for."""
    found: list[tuple[str, dict[str, Any], bool]] = []
    for name in names:
        if Path(name).is_dir():
            labels, alone = [str(p) for p in sorted(Path(name).glob("*.toml"))], False
        elif name.endswith(".toml"):
            labels, alone = [name], True
        elif name in shipped_tuned():
            folder = resources.files(PACKAGE) / FOLDER / name
            alone = not folder.is_dir()
            labels = [name] if alone else [n for n in shipped_tuned() if n.startswith(f"{name}/")]
        else:
            raise UserError(f"unknown tuned file {name!r}; shipped: {', '.join(shipped_tuned())} "
                            "(or give a .toml path or a folder of them)")
        if not labels:
            raise UserError(f"no tuned file (*.toml) in {name}")
        found += [(label, _checked(read_named_toml(label, PACKAGE, FOLDER, KIND), label), alone)
                  for label in labels]
    return found


def _checked(table: dict[str, Any], label: str) -> dict[str, Any]:
    tuned, best = table.get("tuned"), table.get("best")
    if not isinstance(tuned, dict) or not isinstance(best, dict) or not all(
            isinstance(tuned.get(k), str) for k in ("method", "model", "dataset")):
        raise UserError(f"{label} is not a tuned file: it needs [tuned] with method, model and "
                        "dataset, and [best]")
    return table


def apply_tuned(spec: RunSpec, names: list[str]) -> list[str]:
    """Apply the ``[best]`` of each tuned file to ``spec``; notes worth printing."""
    notes: list[str] = []
    every = ALL_METHODS in spec.methods
    for label, table, alone in read_tuned(names):
        tuned = table["tuned"]
        method, model, dataset = tuned["method"], tuned["model"], tuned["dataset"]
        if not every and method not in spec.methods:
            if alone:
                raise UserError(f"tuned file {label} is for {method}, which this run does not "
                                "include; add it to --methods")
            continue
        if method in spec.tuned:
            raise UserError(f"two tuned files for {method}: {spec.tuned[method]} and {label}")
        if spec.models != [model] or spec.datasets != [dataset]:
            raise UserError(
                f"tuned file {label} is for {model} on {dataset}; this run has models "
                f"{','.join(spec.models)} and data sets {','.join(spec.datasets)} (use --models "
                f"{model} --datasets {dataset})")
        if tuned.get("preset") != spec.preset:
            notes.append(f"{label} was tuned under preset {tuned.get('preset')!r}, this run uses "
                         f"{spec.preset!r}: its training recipe may differ")
        spec.method_settings.setdefault(method, {}).update(table["best"])  # checked by the plan
        spec.tuned[method] = label
    if not spec.tuned:
        raise UserError(f"--tuned {', '.join(names)}: no tuned file for this run's methods")
    return notes
