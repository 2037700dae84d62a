"""Claims files: their format (below), reading and validation before anything runs.

A claims file (TOML) states what must hold for a set of results; ``check`` evaluates it
against a results database (``--db``) or first runs what the file's ``[run]`` table asks
for (cells already stored are reused, as with ``run``), prints one line per claim and exits
0 when every claim passes, 1 when any fails or has no data (2 for a bad file, as always).
Shipped files live in ``benchmark/claims/claimsets/`` (``--claims default``, ``--claims paper``);
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

    [[claim]]                # a leaderboard number: tuned SSD's forget-accuracy gap to gold
    name = "Tuned SSD forgets whole classes as retraining does"
    where = { method = "ssd", tuned = true, scenario = "classes" }
    metric = "forget_acc_test"                 # forget_acc_train for scenario = "samples"
    relative_to = { method = "retrain" }
    op = "<="
    value = 0.02

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
device, zero_glance``, ``preset``, ``scenario`` (``classes``, ``subclass`` or ``samples``) and
``tuned`` (true: rows run with ``run --tuned``, false: the preset's settings); a value
matches when its text equals the stored text (``forget = "0,2"`` for a two-class forget set,
``forget = 3`` for one class, ``tuned = true``). ``preset`` is
the preset named when a row was first stored; presets that share a cell share its original
and retrain rows, so filter the claimed method's rows on it (the reference of
``relative_to`` is found by cell, whatever its preset). Unknown keys, operators,
aggregates, forms, method names and metrics are errors before anything runs: a metric must be
a numeric one declared in benchmark.metrics.registry (by name, or by its results column,
e.g. ``time_unlearn_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.claims.evaluate import AGGREGATES, FILTER_COLUMNS, FORMS, OPS, Claim, Reference
from benchmark.core.errors import UserError
from benchmark.core.named_files import read_named_toml, shipped_names
from benchmark.core.roles import REFERENCE_ROLES
from benchmark.metrics.registry import numeric_columns

TOP_KEYS = {"description", "where", "run", "claim"}
CLAIM_KEYS = {"name", "where", "metric", "op", "value", "aggregate", "relative_to", "note"}
REFERENCE_KEYS = {"method", "form", "metric"}


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
    return shipped_names("benchmark.claims", "claimsets")


def load_claims(name_or_path: str) -> ClaimSet:
    """Read and validate a shipped claims file by name, or any ``.toml`` file by path."""
    table = read_named_toml(name_or_path, "benchmark.claims", "claimsets", "claims")
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
    where = defaults | _where(entry.get("where", {}), f"{label}: where")
    relative_to = _reference(entry.get("relative_to"), label)
    _check_metric(entry["metric"], label)
    return Claim(name=str(entry["name"]), metric=entry["metric"], op=entry["op"],
                 value=float(value), where=where, aggregate=aggregate, relative_to=relative_to,
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
    if isinstance(raw, str):  # shorthand: relative_to = "retrain" (the gold method's name)
        raw = {"method": raw}
    if not isinstance(raw, dict) or "method" not in raw:
        raise UserError(f"{label}: relative_to must be {{ method = \"retrain\", form = \"difference\" }}")
    _no_unknown(raw, REFERENCE_KEYS, f"{label}: relative_to")
    form = raw.get("form", "difference")
    if form not in FORMS:
        raise UserError(f"{label}: unknown relative_to form {form!r}; use one of {', '.join(FORMS)}")
    if raw.get("metric") is not None:
        _check_metric(raw["metric"], f"{label}: relative_to")
    return Reference(method=str(raw["method"]), form=form, metric=raw.get("metric"))


def _check_metric(name: Any, label: str) -> None:
    """A claim's metric must be declared and numeric (benchmark.metrics.registry)."""
    if not isinstance(name, str) or not name:
        raise UserError(f"{label}: metric must be a metric name such as \"forget_acc_test\"")
    if name not in numeric_columns():
        known = ", ".join(sorted(numeric_columns()))
        raise UserError(f"{label}: unknown metric {name!r}; claims can use: {known}")


def _no_unknown(table: dict[str, Any], allowed: set[str], label: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UserError(f"{label}: unknown key {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(sorted(allowed))}")


def _check_methods(names: set[str], source: str) -> None:
    """A misspelt method would only show up as NO DATA; name the known ones instead."""
    from methods import METHODS, import_builtins

    import_builtins()
    known = set(METHODS.names()) | set(REFERENCE_ROLES)
    unknown = sorted(str(n) for n in names if str(n) not in known)
    if unknown:
        raise UserError(f"claims {source!r}: unknown method {', '.join(map(repr, unknown))}; "
                        f"known: {', '.join(sorted(known))}")
