"""``run --dry-run`` and ``check --dry-run``: the cells a run would measure, and what is cached.

It resolves the plan and loads the data sets (their fingerprints are part of the cache keys,
and forget sets such as ``each`` need the data), then, for each cell, says whether its row
is already stored (skipped unless ``--rerun``) and whether the original and gold models are
in the cache (loaded, not trained). It trains nothing and writes no results database and no
checkpoint; the only file it may write is the decoded-data cache of a data set read for the
first time.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.harness.grid import expand
from benchmark.harness.plan import Plan
from benchmark.harness.prechecks import applicability_warnings
from benchmark.harness.references import reference_keys
from benchmark.harness.rows import group_cells, undefined_reason
from benchmark.harness.store import ResultStore
from benchmark.harness.trainable import check_loaded
from datasets.base import ImageDataset


def dry_run_lines(plan: Plan, data: dict[str, ImageDataset] | None = None) -> list[str]:
    """One line per group, one per forget set and its cells, and a total."""
    groups = expand(plan, data)
    notes: list[str] = []
    check_loaded(groups, plan.recipe, plan.instances, notes.append)  # refusals as in a run
    warnings = applicability_warnings(groups, plan.instances)  # as a run warns
    stored = _stored_ids(plan, groups)
    lines = [f"dry run: results {plan.results}, cache {plan.checkpoint_dir} (nothing is trained "
             "or written)", *(f"note: {note}" for note in notes),
             *(f"warning: {line}" for line in warnings)]
    to_measure = total = undefined = 0
    to_train: set[str] = set()
    for group in groups:
        lines.append(f"{group.model}/{group.dataset} seed {group.seed}:")
        cells = group_cells(plan, group)
        for forget in group.forget_sets:
            keys = reference_keys(plan, group, forget)
            cached = {kind: (plan.checkpoint_dir / f"{kind}-{key}.pt").is_file()
                      for kind, key in keys.items()}
            states = []
            for cell in (c for c in cells if c.forget == forget):
                total += 1
                done = cell.row_id in stored and not plan.rerun
                if not done and undefined_reason(cell):
                    undefined += 1
                    states.append(f"{cell.method} (not defined for {forget.scenario.value}: "
                                  "a skipped row)")
                    continue
                to_measure += not done
                state = "stored" if done else "to measure"
                if cell.method in cached:
                    state += ", model cached" if cached[cell.method] else ", model to train"
                states.append(f"{cell.method} ({state})")
            to_train |= {keys[kind] for kind, hit in cached.items() if not hit}
            lines.append(f"  forget {forget.label}: " + "; ".join(states))
    skipped = f", {undefined} skipped (method not defined for the scenario)" if undefined else ""
    lines.append(f"{total} cells: {to_measure} to measure, {total - to_measure - undefined} "
                 f"already stored{skipped}; "
                 f"{len(to_train)} reference model(s) to train (originals and gold retrains not cached)")
    return lines


def _stored_ids(plan: Plan, groups: list) -> set[str]:
    """Ids of the cells already stored in the results database (read-only; none if absent)."""
    if not Path(plan.results).is_file():
        return set()
    ids = {c.row_id for g in groups for c in group_cells(plan, g)}
    with ResultStore(plan.results, read_only=True) as store:
        return ids - store.missing(ids)
