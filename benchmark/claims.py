"""``python -m benchmark check``: regression checks of speed and accuracy claims.

A claims file (TOML) states what must hold for a set of results; ``check`` evaluates it
against a results database (``--db``) or first runs what the file's ``[run]`` table asks
for (cells already stored are reused, as with ``run``), prints one line per claim and exits
0 when every claim passes, 1 when any fails or has no data (2 for a bad file, as always).
Shipped files live in ``benchmark/claimsets/`` (``--claims default``, ``--claims paper``);
``--claims path/to/file.toml`` reads any file.

Format::

    description = "what these claims are about"
    where = { model = "smallcnn", dataset = "digits" }   # optional: filters every claim starts with

    [run]                    # optional when --db is given: the cells the claims need
    preset = "default"       # a shipped preset name or a .toml path
    results = "results/claims.sqlite"   # optional; this default keeps claims apart from `run`
    seeds = [0, 1]           # any other key: a preset key, overriding the preset (tables merge)

    [[claim]]
    name = "UNSIR is faster than retraining"   # required, shown in the table
    where = { method = "unsir" }               # column = value or [values]; claim keys win
    metric = "speedup_vs_retrain"              # a numeric results column (required)
    op = ">="                                  # >=  >  <=  <  ==  != (required)
    value = 2                                  # the threshold (required)
    aggregate = "mean"                         # mean (default) | median | min | max | all
    note = "paper: 154x"                       # optional, free text

    [[claim]]
    name = "UNSIR keeps retain accuracy within 8 points of retraining"
    where = { method = "unsir" }
    metric = "retain_acc_test"
    relative_to = { method = "retrain" }       # quantity per cell: unsir - retrain
    op = ">="
    value = -0.08

Every claim is ``aggregate(quantity) op value``. The quantity of one matching row is its
``metric``; with ``relative_to = { method = M, form = F, metric = X }`` it is combined with
the row of method M in the same cell (same model, data set, forget set, seed and device):
``form = "difference"`` (default) gives ``own - M``, ``"ratio"`` gives ``own / M`` and
``"inverse_ratio"`` gives ``M / own`` (with ``time_s``: how many times faster than M).
``metric`` inside ``relative_to`` is optional (default: the claim's metric). Rows whose
quantity is missing (e.g. no M row in that cell) are left out and reported.

Aggregation is over the matching rows (seeds, forget sets, models): ``mean``, ``median``,
``min`` and ``max`` compare one number with ``value``; ``all`` requires every row to hold
and shows the deciding (worst) row. A claim that matches no usable row is NO DATA, which
fails the check: a claim nobody measured has not been shown to hold.

``where`` keys are the cell columns ``method, model, dataset, forget, n_forget, seed,
device, zero_glance`` and ``preset``; a value matches when its text equals the stored text
(``forget = "0,2"`` for a two-class forget set, ``forget = 3`` for one class). ``preset`` is
the preset named when a row was first stored; presets that share a cell share its original
and retrain rows, so filter the claimed method's rows on it (the reference of
``relative_to`` is found by cell, whatever its preset). Unknown keys, operators,
aggregates, forms and method names are errors before anything runs; an unknown metric is an
error once the results are loaded (metric names come from the results themselves).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmark.claims_eval import (
    AGGREGATES,
    FILTER_COLUMNS,
    FORMS,
    NO_DATA,
    OPS,
    PASS,
    Claim,
    ClaimResult,
    Reference,
    evaluate_claims,
)
from benchmark.errors import UserError
from benchmark.spec import RunSpec

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_CLAIMS_RESULTS = "results/claims.sqlite"
TOP_KEYS = {"description", "where", "run", "claim"}
CLAIM_KEYS = {"name", "where", "metric", "op", "value", "aggregate", "relative_to", "note"}
REFERENCE_KEYS = {"method", "form", "metric"}
REFERENCE_METHODS = ("original", "retrain")


@dataclass
class ClaimSet:
    """A parsed claims file."""

    source: str
    claims: list[Claim]
    description: str = ""
    run: dict[str, Any] | None = None
    used_methods: set[str] = field(default_factory=set)


# ----------------------------------------------------------------------------- reading
def claimset_names() -> list[str]:
    folder = resources.files("benchmark") / "claimsets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_claims(name_or_path: str) -> ClaimSet:
    """Read and validate a shipped claims file by name, or any ``.toml`` file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise UserError(f"no claims file at {path}")
        text = path.read_text()
    else:
        candidate = resources.files("benchmark") / "claimsets" / f"{name_or_path}.toml"
        if not candidate.is_file():
            raise UserError(f"unknown claims {name_or_path!r}; known: {', '.join(claimset_names())} "
                            "(or give a path to a .toml file)")
        text = candidate.read_text()
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"claims {name_or_path!r} is not valid TOML: {error}") from None
    return parse_claims(table, name_or_path)


def parse_claims(table: dict[str, Any], source: str = "<claims>") -> ClaimSet:
    """Validate a claims table (see the module docstring) into a ClaimSet."""
    _no_unknown(table, TOP_KEYS, f"claims {source!r}")
    defaults = _where(table.get("where", {}), f"claims {source!r}: top-level where")
    run = table.get("run")
    if run is not None and (not isinstance(run, dict) or "preset" not in run):
        raise UserError(f"claims {source!r}: [run] needs preset = \"NAME\" (e.g. preset = \"default\")")
    entries = table.get("claim", [])
    if not isinstance(entries, list) or not entries:
        raise UserError(f"claims {source!r} has no [[claim]] entries")
    claims = [_claim(entry, index, defaults, source) for index, entry in enumerate(entries, 1)]
    names = [c.name for c in claims]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"claims {source!r}: duplicate claim names: {', '.join(duplicates)}")
    used = {m for c in claims for m in c.where.get("method", [])}
    used |= {c.relative_to.method for c in claims if c.relative_to}
    _check_methods(used, source)
    return ClaimSet(source, claims, str(table.get("description", "")).strip(), run, used)


def _claim(entry: Any, index: int, defaults: dict[str, list[Any]], source: str) -> Claim:
    if not isinstance(entry, dict):
        raise UserError(f"claims {source!r}: claim {index} is not a table; use [[claim]]")
    label = f"claims {source!r}, claim {entry.get('name', index)!r}"
    _no_unknown(entry, CLAIM_KEYS, label)
    for key in ("name", "metric", "op", "value"):
        if key not in entry:
            raise UserError(f"{label}: missing {key} (each claim needs name, metric, op and value)")
    if entry["op"] not in OPS:
        raise UserError(f"{label}: unknown op {entry['op']!r}; use one of {' '.join(OPS)}")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{label}: value must be a number, not {value!r}")
    aggregate = entry.get("aggregate", "mean")
    if aggregate not in AGGREGATES:
        raise UserError(f"{label}: unknown aggregate {aggregate!r}; use one of {', '.join(AGGREGATES)}")
    if not isinstance(entry["metric"], str) or not entry["metric"]:
        raise UserError(f"{label}: metric must be a column name such as \"forget_acc_test\"")
    where = defaults | _where(entry.get("where", {}), f"{label}: where")
    return Claim(name=str(entry["name"]), metric=entry["metric"], op=entry["op"],
                 value=float(value), where=where, aggregate=aggregate,
                 relative_to=_reference(entry.get("relative_to"), label),
                 note=str(entry.get("note", "")))


def _where(raw: Any, label: str) -> dict[str, list[Any]]:
    if not isinstance(raw, dict):
        raise UserError(f"{label} must be a table like {{ method = \"unsir\" }}")
    unknown = sorted(set(raw) - set(FILTER_COLUMNS))
    if unknown:
        raise UserError(f"{label}: cannot filter on {', '.join(unknown)}; "
                        f"use {', '.join(FILTER_COLUMNS)}")
    out = {}
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, (dict, list)) for v in values):
            raise UserError(f"{label}: {key} must be a value or a list of values")
        out[key] = values
    return out


def _reference(raw: Any, label: str) -> Reference | None:
    if raw is None:
        return None
    if isinstance(raw, str):  # shorthand: relative_to = "retrain"
        raw = {"method": raw}
    if not isinstance(raw, dict) or "method" not in raw:
        raise UserError(f"{label}: relative_to must be {{ method = \"retrain\", form = \"difference\" }}")
    _no_unknown(raw, REFERENCE_KEYS, f"{label}: relative_to")
    form = raw.get("form", "difference")
    if form not in FORMS:
        raise UserError(f"{label}: unknown relative_to form {form!r}; use one of {', '.join(FORMS)}")
    return Reference(method=str(raw["method"]), form=form, metric=raw.get("metric"))


def _no_unknown(table: dict[str, Any], allowed: set[str], label: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UserError(f"{label}: unknown key {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(sorted(allowed))}")


def _check_methods(names: set[str], source: str) -> None:
    """A misspelt method would only show up as NO DATA; name the known ones instead."""
    from methods import METHODS, import_builtins

    import_builtins()
    known = set(METHODS.names()) | set(REFERENCE_METHODS)
    unknown = sorted(str(n) for n in names if str(n) not in known)
    if unknown:
        raise UserError(f"claims {source!r}: unknown method {', '.join(map(repr, unknown))}; "
                        f"known: {', '.join(sorted(known))}")


# ----------------------------------------------------------------------------- results
def results_for(claimset: ClaimSet, db: str | None, device: str | None = None,
                data_root: str | None = None, quiet: bool = False) -> pd.DataFrame:
    """The results to check: ``db`` when given, else the rows of the ``[run]`` table's run."""
    if db:
        from benchmark.store import load_dataframe

        return load_dataframe(db)
    if claimset.run is None:
        raise UserError(f"claims {claimset.source!r} has no [run] table; pass --db RESULTS.sqlite")
    from benchmark.progress import Reporter
    from benchmark.runner import run
    from benchmark.store import rows_to_dataframe

    spec = spec_for_run(claimset, device, data_root)
    missing = sorted(claimset.used_methods - set(spec.methods) - set(REFERENCE_METHODS))
    if missing:  # say so before a long run, not as NO DATA after it
        raise UserError(f"claims {claimset.source!r} use {', '.join(missing)}, which [run] does "
                        f"not run (methods: {', '.join(spec.methods)}); add them to [run] methods")
    rows = run(spec, Reporter.silent() if quiet else Reporter.rich())
    return rows_to_dataframe(rows)


def spec_for_run(claimset: ClaimSet, device: str | None = None,
                 data_root: str | None = None) -> RunSpec:
    """The RunSpec of the ``[run]`` table: its preset, the other keys on top, then CLI flags."""
    from benchmark.spec import read_preset, spec_from_preset

    run_table = dict(claimset.run or {})
    preset = str(run_table.pop("preset"))
    try:
        base = read_preset(preset)
    except UserError as error:
        raise UserError(f"claims {claimset.source!r} need preset {preset!r}, which is missing "
                        f"({error}); add it or pass --db with results of such a run") from None
    table = _merge(base, run_table)
    # Claims get their own database unless [run] names one: never mix into the preset's.
    table["results"] = run_table.get("results", DEFAULT_CLAIMS_RESULTS)
    spec = spec_from_preset(table, preset)
    if device:
        spec.device = device
    if data_root:
        spec.data_root = data_root
    return spec


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key (``train``, ``methods_config``); anything else replaces."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# ----------------------------------------------------------------------------- output
def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def claims_table(results: list[ClaimResult], title: str) -> Table:
    """Claim, what was measured (value, n rows, min..max), threshold and verdict."""
    table = Table(title=title, show_lines=False)
    for column, justify in (("claim", "left"), ("quantity", "left"), ("measured", "right"),
                            ("threshold", "right"), ("verdict", "center")):
        table.add_column(column, justify=justify)
    for result in results:
        claim = result.claim
        if result.verdict == NO_DATA:
            measured = "-"  # the reason is printed under the table
        else:
            spread = f", {_number(result.low)}..{_number(result.high)}" if result.n > 1 else ""
            measured = f"{_number(result.measured)} (n={result.n}{spread})"
        style = {"PASS": "green", "FAIL": "red"}.get(result.verdict, "yellow")
        name = claim.name + (f"\n[dim]{claim.note}[/dim]" if claim.note else "")
        table.add_row(name, claim.quantity(), measured, claim.threshold(),
                      f"[{style}]{result.verdict}[/{style}]")
    return table


def command_check(args: argparse.Namespace) -> int:
    """Exit 0 when every claim passes; 1 when any fails or has no data."""
    claimset = load_claims(args.claims)
    frame = results_for(claimset, getattr(args, "db", None), getattr(args, "device", None),
                        getattr(args, "data_root", None), bool(getattr(args, "quiet", False)))
    results = evaluate_claims(claimset.claims, frame)
    console = Console(width=None if Console().is_terminal else 160)
    console.print(claims_table(results, f"Claims: {claimset.source}"))
    for result in results:  # why a claim has no data, or which rows it left out
        if result.why:
            label = "no data" if result.verdict == NO_DATA else "note"
            console.print(f"{label} ({result.claim.name}): {result.why}", highlight=False)
    passed = sum(r.verdict == PASS for r in results)
    failed = sum(r.verdict == "FAIL" for r in results)
    missing = sum(r.verdict == NO_DATA for r in results)
    console.print(f"{passed}/{len(results)} claims pass, {failed} fail, {missing} without data",
                  highlight=False)
    return 0 if passed == len(results) else 1
