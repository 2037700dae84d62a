"""One Optuna study per (method, model, data set): every trial is one cell of the harness.

Fairness is structural: every method gets the same number of trials, the same sampler
(TPE) with the same seed, the same training seeds and forget sets, and the same validation
split. A trial runs ``run_grid`` on the validation view with the trial's settings over the
preset's, so it is validated, timed and stored like any run (in the tuning database, not the
results one); its original and gold models are trained on the view and cached under their
own keys. Relearn time, membership inference and the training split's retain accuracy
are switched off: the objective needs none of them. Trials that repeat earlier settings reuse the stored rows, so a killed tune resumes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from benchmark.core.artifacts import ArtifactStore
from benchmark.core.errors import UserError
from benchmark.core.roles import GOLD_METHOD, REFERENCE_ROLES
from benchmark.core.search_space import Choice, Float, Int, Param, check_search_space
from benchmark.harness.plan import FrozenDict, Plan
from benchmark.harness.progress import Reporter
from benchmark.harness.provenance import provenance
from benchmark.harness.runner import run_grid, whole_command
from benchmark.harness.tuned_files import DEFAULT_OUT, tuned_path, write_tuned
from benchmark.tuning import objective
from benchmark.tuning.cost import Study, tune_cost
from datasets import DataSource, ImageDataset, load_dataset
from datasets.validation import ValidationSplit, validation_view
from methods import METHODS

DEFAULT_RESULTS = "results/tuning.sqlite"


@dataclass(frozen=True)
class TuneOptions:
    """The budget and the split, the same for every method of a ``tune``."""

    trials: int = 20
    seed: int = 0  # the sampler's
    split: ValidationSplit = field(default_factory=ValidationSplit)
    out: str = DEFAULT_OUT

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise UserError(f"--trials must be at least 1, not {self.trials}")


def require_optuna() -> Any:
    try:
        import optuna
    except ModuleNotFoundError:
        raise UserError("tuning needs Optuna: pip install 'unlearning-bench[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tunable_methods(plan: Plan) -> list[str]:
    """The run's methods to tune (retrain is the gold reference); one without a space fails."""
    methods = [m for m in plan.methods if m not in (GOLD_METHOD, *REFERENCE_ROLES)]
    if not methods:
        raise UserError("nothing to tune: retrain is the gold reference; name methods with --methods")
    for name in methods:
        cls = METHODS.get(name)
        if not cls.search_space:
            raise UserError(f"{name} declares no search space (search_space next to its Config); "
                            "it cannot be tuned")
        try:
            check_search_space(cls.Config, cls.search_space, name)
        except ValueError as error:
            raise UserError(f"bad search space: {error}") from None
    return methods


def suggest(trial: Any, name: str, param: Param) -> Any:
    """The trial's value for ``name`` drawn from ``param`` (an Optuna distribution per type)."""
    if isinstance(param, Choice):
        return trial.suggest_categorical(name, list(param.options))
    if isinstance(param, Int):
        return trial.suggest_int(name, param.low, param.high, log=param.log)
    if isinstance(param, Float):
        return trial.suggest_float(name, param.low, param.high, log=param.log)
    raise TypeError(f"unknown search range {param!r}")


def trial_plan(base: Plan, method: str, params: dict[str, Any]) -> Plan:
    """``base`` running ``method`` alone with ``params`` over the preset's settings."""
    return base.with_method_settings(method, params).narrowed(methods=[method])


def run_study(base: Plan, method: str, view: ImageDataset, options: TuneOptions,
              on_trial: Callable[[objective.TrialResult], None]) -> list[objective.TrialResult]:
    """``options.trials`` trials of ``method`` on the one model and data set of ``base``."""
    optuna = require_optuna()
    space = METHODS.get(method).search_space
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=options.seed))
    results: list[objective.TrialResult] = []

    def evaluate(trial: Any) -> float:
        params = {name: suggest(trial, name, param) for name, param in space.items()}
        rows = run_grid(trial_plan(base, method, params), Reporter.silent(),
                        data={base.datasets[0]: view}, warn_inapplicable=False).rows
        result = objective.score_trial(trial.number, params, rows, method)
        results.append(result)
        on_trial(result)
        return result.objective

    study.optimize(evaluate, n_trials=options.trials)
    return results


def tune(plan: Plan, options: TuneOptions, log: Callable[[str], None] = print,
         dry_run: bool = False, note: Callable[[str], None] = print) -> list[Path]:
    """Tune every method of ``plan`` on every model and data set; the tuned files written.

    The cost of every study is said first, through ``note`` (benchmark.tuning.cost);
    ``dry_run`` stops there. ``log`` gets a line per study and per trial.
    """
    require_optuna()
    studies = plan_studies(plan, options)
    # Cached references are looked up where the trials will load them; a missing folder
    # caches nothing (and a dry run must not create it).
    artifacts = (ArtifactStore(plan.checkpoint_dir, "checkpoint cache folder")
                 if plan.checkpoint_dir.is_dir() else None)
    cost = tune_cost(studies, options.trials, artifacts)
    note(f"estimated: {cost.text()}{whole_command(cost.seconds)}")
    if dry_run:
        return []
    written = []
    for study in studies:
        model = study.plan.models[0]
        log(f"tuning {study.method} on {model}/{study.dataset}: {options.trials} trials")
        started = time.perf_counter()
        trials = run_study(study.plan, study.method, study.view, options,
                           lambda t: log(f"  trial {t.number}: {_summary(t)}"))
        elapsed = time.perf_counter() - started
        best = objective.best_trial(trials)
        path = tuned_path(options.out, plan.preset, study.method, model, study.dataset)
        write_tuned(path, document(study.plan, study.method, study.view, options, trials, best, elapsed))
        log(f"  best: trial {best.number}, {_summary(best)}; {elapsed:.0f} s -> {path}")
        written.append(path)
    return written


def plan_studies(plan: Plan, options: TuneOptions) -> list[Study]:
    """One study per (data set, model, method), each with the validation view of its data set."""
    methods = tunable_methods(plan)
    base = plan.narrowed(methods=[], rerun=False, tuned=FrozenDict(),
                         metrics=dataclasses.replace(plan.metrics, relearn=False, mia=False,
                                                     train_split=False))
    source = DataSource(data_root=plan.data_root, cache_dir=str(plan.data_cache_dir))
    studies = []
    for dataset in plan.datasets:
        view = validation_view(load_dataset(dataset, source), options.split)
        for model in plan.models:
            study_plan = base.narrowed(models=[model], datasets=[dataset])
            studies += [Study(method, dataset, trial_plan(study_plan, method, {}), view)
                        for method in methods]
    return studies


def _summary(trial: objective.TrialResult) -> str:
    if trial.status != "ok":
        return f"failed ({trial.error}), objective 0"
    return (f"objective {trial.objective:.4f} (forget {100 * trial.forget_acc:.1f} %, retain "
            f"{100 * trial.retain_acc:.1f} %, {trial.time_s:.2f} s) {trial.params}")


def document(plan: Plan, method: str, view: ImageDataset, options: TuneOptions,
             trials: list[objective.TrialResult], best: objective.TrialResult,
             elapsed: float) -> dict[str, Any]:
    """The tuned file's tables (see benchmark.harness.tuned_files for the layout)."""
    import optuna

    engine = plan.engine
    space = METHODS.get(method).search_space
    return {
        "tuned": {"method": method, "model": plan.models[0], "dataset": plan.datasets[0],
                  "preset": plan.preset or "", "forget": list(plan.forget),
                  "seeds": list(plan.seeds)},
        "best": best.params,
        "objective": {"name": objective.NAME, "definition": objective.DEFINITION,
                      "tie_break": objective.TIE_BREAK, "value": best.objective,
                      "trial": best.number, **_drop_none({"forget_acc": best.forget_acc,
                      "retain_acc": best.retain_acc, "time_s": best.time_s}),
                      **{f"gold_{k}": v for k, v in best.gold.items()}},
        "validation": {"fraction": options.split.fraction, "seed": options.split.seed,
                       "stratified": "round(fraction x n) of each class's training samples",
                       "train_samples": len(view.train_y), "validation_samples": len(view.test_y)},
        "search": {"library": f"optuna {optuna.__version__}", "sampler": "TPESampler",
                   "sampler_seed": options.seed, "trials": options.trials,
                   "results": plan.results, "elapsed_s": round(elapsed, 1),
                   # The trials' own measured work: unlike elapsed_s, not shortened by a resume
                   # that replayed stored trials (the view's references are not in it).
                   "trials_s": round(sum(t.cost_s or 0.0 for t in trials), 1),
                   "metrics_off": ["relearn", "mia", "train_split"],
                   "space": {name: param.describe() for name, param in space.items()}},
        "provenance": _drop_none(provenance(engine)) | {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "threads": torch.get_num_threads()},
        "trial": [t.record() for t in trials],
    }


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
