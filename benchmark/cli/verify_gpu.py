"""``python -m benchmark verify-gpu``: the paper-scale GPU verification as one command.

On a machine with one CUDA GPU it runs the stages of benchmark/cli/verify_stages.py in
order, each in its own process (one failing stage cannot take the next ones with it), into
one output folder: the paper setting first (UNSIR, retraining and Fisher forgetting timed on
seed 0: the important part, estimated 5 minutes), then Fisher's and SSD's importance
backends against the 60-s target, the GPU speed benchmarks, seeds 1 and 2, ``report``,
``check --claims paper``, and last the leaderboard at paper scale (all twelve methods,
default and tuned settings).

A lent GPU comes with a time limit, so:

* ``--budget MINUTES``: a stage starts only if the budget left covers it (a resumable run
  stage needs a minute, the leaderboard 4), and a running stage is stopped (SIGINT, then
  killed) when the budget runs out. Skipped stages say why in the output and SUMMARY.md.
* Results are written as they come: rows into ``results.sqlite`` cell by cell, the Fisher
  measurement after each variant, and ``stages.json`` and ``SUMMARY.md`` after each stage.
  Running the same command again with the same ``--out`` skips the stages that finished
  (``--redo`` runs them again) and resumes the run stages (stored rows are skipped).
* ``--dry-run`` prints the stages, their estimated GPU time and which would run, without
  CUDA too, and runs nothing.

Everything lands in ``OUT``: ``results.sqlite``, ``cache/``, ``report/``,
``fisher-backends.json``, ``gpu-bench.json``, ``claims.txt``, ``stages.json`` and
``SUMMARY.md`` (the card, torch version, each stage's estimate, time and outcome).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

from benchmark.cli.verify_stages import (
    DATASET,
    LEADERBOARD_SEEDS,
    MODEL,
    OFFICIAL,
    OTHER_SEEDS,
    PAPER,
    Command,
    Setup,
    Stage,
    build_stages,
    leaderboard_stage,
    minutes,
)
from benchmark.core.errors import UserError

STATE = "stages.json"
GRACE_S = 30.0  # after SIGINT, a stopped stage gets this long to store its row and exit
REFRESHED = ("report", "claims")  # rerun whenever an earlier stage ran in this invocation


def add_verify_parser(verify: argparse.ArgumentParser) -> None:
    """The flags of ``verify-gpu``."""
    verify.add_argument("--data-root", required=True, help="folder holding the CIFAR-10 archive")
    verify.add_argument("--out", default="gpu-verification", help="output folder")
    verify.add_argument("--budget", type=_minutes, metavar="MINUTES",
                        help="stop within this many minutes: stages that do not fit are skipped "
                        "with the reason, a running one is stopped (default: no limit)")
    verify.add_argument("--stages", metavar="NAMES",
                        help="comma list of stages to run (default: all; --dry-run lists them)")
    verify.add_argument("--redo", action="store_true",
                        help="run stages again that an earlier run in --out finished")
    verify.add_argument("--tuned", action="append", metavar="NAME",
                        help=f"tuned files for the leaderboard (default: the shipped ones for "
                        f"{MODEL} on {DATASET}, if any)")
    verify.add_argument("--fisher-samples", type=int, default=5000, metavar="N",
                        help="samples each Fisher/SSD backend is timed on")
    verify.add_argument("--dry-run", action="store_true",
                        help="print the stages, their estimates and which would run; run nothing "
                        "(works without CUDA)")


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--budget takes a positive number of minutes, not {text!r}")
    return value


def command_verify_gpu(args: argparse.Namespace) -> int:
    """Run (or with --dry-run list) the stages; exit 1 if a stage failed, else 0."""
    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run:
        raise UserError("verify-gpu needs a CUDA GPU and none is visible; run it on a GPU machine "
                        "(--dry-run lists its stages anywhere)")
    from benchmark.harness.paths import check_output_folder

    out = check_output_folder(args.out, "--out", {"data root": args.data_root}).absolute()
    setup = _setup(args, out, "cuda" if cuda else "cpu")
    stages = build_stages(setup)
    selected = _selected(args.stages, stages)
    state = {} if args.redo else _load_state(out)
    budget = args.budget * 60 if args.budget else None
    _print_plan(stages, selected, state, budget, cuda, setup)
    if args.dry_run:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    return _execute_stages(stages, selected, state, budget, setup)


def _setup(args: argparse.Namespace, out: Path, device: str) -> Setup:
    """Every run stage's settings checked (resolved) before the first one runs."""
    from benchmark.harness.plan import resolve
    from benchmark.harness.spec import RunArgs

    db, cache = out / "results.sqlite", out / "cache"

    def plan(preset: str, seeds: str, methods: list[str] | None = None, tuned: list[str] | None = None):
        return resolve(RunArgs(preset=preset, seeds=[int(s) for s in seeds.split(",")],
                               methods=methods, tuned=tuple(tuned or ()), data_root=args.data_root,
                               results=str(db), cache_dir=str(cache), device=device))

    seeds = f"0,{OTHER_SEEDS}"
    plans = {"official": plan(OFFICIAL, seeds), "paper": plan(PAPER, seeds),
             "leaderboard": plan(PAPER, LEADERBOARD_SEEDS, ["all"])}
    tuned, note = _tuned_files(args.tuned)
    if tuned:
        plans["tuned"] = plan(PAPER, LEADERBOARD_SEEDS, ["all"], tuned)
    return Setup(str(Path(args.data_root).absolute()), out, plans, tuned, note, args.fisher_samples)


def _tuned_files(given: list[str] | None) -> tuple[list[str], str]:
    """The leaderboard's tuned files, or none and the reason."""
    if given:
        return list(given), ""
    from benchmark.harness.tuned_files import shipped_tuned

    shipped = [name for name in shipped_tuned() if name.endswith(f"-{MODEL}-{DATASET}")]
    if shipped:
        return shipped, ""
    return [], (f"no tuned files for {MODEL} on {DATASET} are shipped (python -m benchmark tune "
                f"--preset {PAPER} makes them; pass them with --tuned): default settings only")


def _selected(names: str | None, stages: list[Stage]) -> set[str]:
    known = [stage.name for stage in stages]
    if not names:
        return set(known)
    chosen = {name.strip() for name in names.split(",") if name.strip()}
    if unknown := sorted(chosen - set(known)):
        raise UserError(f"unknown stage {', '.join(unknown)}; the stages: {', '.join(known)}")
    return chosen


def decide(stage: Stage, *, selected: bool, cuda: bool, remaining_s: float | None,
           done: bool) -> str | None:
    """None when the stage runs now, else the reason it is skipped."""
    if not selected:
        return "not in --stages"
    if done:
        return "finished in an earlier run (stages.json; --redo runs it again)"
    if stage.skip_reason:
        return stage.skip_reason
    if stage.gpu and not cuda:
        return "no CUDA GPU visible"
    if remaining_s is not None and remaining_s < stage.needs_s:
        need = f"at least {minutes(stage.needs_s)}" if stage.resumable else f"about {minutes(stage.needs_s)}"
        reason = f"needs {need}, {minutes(max(remaining_s, 0))} left of --budget"
        if stage.resumable:
            reason += "; run verify-gpu again with the same --out to resume it"
        return reason
    return None


def _reserve(stages: list[Stage], index: int, selected: set[str], state: dict[str, Any]) -> float:
    """Seconds kept back for the cheap stages after ``index`` that refresh the outputs (report,
    claims), so a run stage stopped at the budget still leaves time for them."""
    return sum(stage.estimate_s for stage in stages[index + 1:]
               if stage.name in REFRESHED and stage.name in selected)


def _print_plan(stages: list[Stage], selected: set[str], state: dict[str, Any],
                budget: float | None, cuda: bool, setup: Setup) -> None:
    """Each stage with its estimate and whether it would run on a GPU, simulated on the
    estimates (without CUDA too: the plan is for a GPU session)."""
    total = sum(stage.estimate_s for stage in stages if stage.name in selected)
    print(f"verify-gpu: {len(stages)} stages, estimated {minutes(total)} of GPU time on one H100 "
          "(FLOP-count guesses, not measurements; SUMMARY.md records the measured times)"
          + (f"; budget {minutes(budget)}" if budget else ""))
    if not cuda:
        print("no CUDA GPU visible here (a run here refuses): the plan shows what a run on one "
              "would do")
    spent = 0.0
    ran_before = False
    for index, stage in enumerate(stages):
        remaining = None
        if budget is not None:
            remaining = budget - spent - _reserve(stages, index, selected, state)
        reason = decide(stage, selected=stage.name in selected, cuda=True, remaining_s=remaining,
                        done=_done(stage, state, ran_before))
        if reason is None:
            spent += stage.estimate_s if remaining is None else min(stage.estimate_s, remaining)
            ran_before = True
        verdict = "run" if reason is None else f"skip: {reason}"
        if reason is None and remaining is not None and stage.estimate_s > remaining:
            verdict = f"run, stopped at the budget after {minutes(remaining)} (resumable)"
        flag = " (important)" if stage.important else ""
        print(f"{index + 1}. {stage.name}{flag}: about {minutes(stage.estimate_s)}; {verdict}")
        print(f"   {stage.measures}")
        for note in stage.notes:
            print(f"   {note}")
    print(f"results, report and SUMMARY.md go to {setup.out}", flush=True)


def _done(stage: Stage, state: dict[str, Any], ran_before: bool) -> bool:
    finished = state.get(stage.name, {}).get("status") == "ok"
    return finished and not (stage.name in REFRESHED and ran_before)


def _execute_stages(stages: list[Stage], selected: set[str], state: dict[str, Any],
                    budget: float | None, setup: Setup) -> int:
    start = _now()
    ran_before = False
    failed = False
    for index, stage in enumerate(stages):
        if stage.name == "leaderboard":  # priced again: which paper seeds really ran
            stage = stages[index] = leaderboard_stage(setup, _covered_seeds(state))
        reserve = _reserve(stages, index, selected, state)
        remaining = None if budget is None else budget - (_now() - start) - reserve
        reason = decide(stage, selected=stage.name in selected, cuda=torch.cuda.is_available(),
                        remaining_s=remaining, done=_done(stage, state, ran_before))
        if reason is not None:
            print(f"== {stage.name}: skipped: {reason}", flush=True)
            if state.get(stage.name, {}).get("status") != "ok":
                state[stage.name] = {"status": "skipped", "reason": reason}
            _save(setup, stages, state, start)
            continue
        print(f"== {stage.name}: {stage.measures}; estimated {minutes(stage.estimate_s)}", flush=True)
        for note in stage.notes:
            print(f"   {note}", flush=True)
        ran_before = True
        state[stage.name] = {"status": "running"}
        record = state[stage.name]
        began = _now()
        codes: list[list[Any]] = []
        stopped = False
        try:
            for command in stage.commands:
                deadline = None if budget is None else start + budget - reserve
                code, stopped = _execute(command, setup.out, deadline)
                codes.append([command.label, code])
                if stopped:
                    break
        except BaseException:  # Ctrl-C of verify-gpu itself: keep the record of what finished
            record.update(status="stopped", reason="interrupted", seconds=_now() - began,
                          estimate_s=stage.estimate_s, commands=codes)
            _save(setup, stages, state, start)
            raise
        record.update(seconds=_now() - began, estimate_s=stage.estimate_s, commands=codes)
        if stopped:
            record.update(status="stopped", reason="stopped at the end of --budget; stored "
                          "rows are kept: run verify-gpu again with the same --out to resume")
        else:
            record["status"] = "ok" if all(code == 0 for _, code in codes) else "failed"
            failed |= record["status"] == "failed"
        print(f"== {stage.name}: {record['status']} in {minutes(record['seconds'])}", flush=True)
        _save(setup, stages, state, start)
    print(f"wrote {setup.out / 'SUMMARY.md'}")
    return 1 if failed else 0


def _covered_seeds(state: dict[str, Any]) -> frozenset[str]:
    seeds = set()
    if state.get("paper-official", {}).get("status") == "ok":
        seeds.add("0")
    if state.get("paper-seeds", {}).get("status") == "ok":
        seeds.update(OTHER_SEEDS.split(","))
    return frozenset(seeds)


def _now() -> float:
    return time.monotonic()


def _execute(command: Command, out: Path, deadline: float | None) -> tuple[int, bool]:
    """Run one command; (exit status, whether it was stopped at the deadline)."""
    print(f"-- {command.label}", flush=True)
    with open(out / command.stdout, "w") if command.stdout else _no_file() as stdout:
        # SIGINT at its default in the child, even when verify-gpu itself was started in the
        # background (where a shell ignores it, and Python then installs no handler): the stop
        # at the deadline must reach the run's KeyboardInterrupt handler.
        process = subprocess.Popen(list(command.argv), stdout=stdout, preexec_fn=_default_sigint)
        try:
            timeout = None if deadline is None else max(deadline - _now(), 0.0)
            return process.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # the CLI stores finished rows and exits
            try:
                process.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return process.returncode, True
        except BaseException:
            process.send_signal(signal.SIGINT)
            process.wait()
            raise


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _no_file:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _load_state(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / STATE).read_text()).get("stages", {})
    except (OSError, ValueError, AttributeError):
        return {}


def _save(setup: Setup, stages: list[Stage], state: dict[str, Any], start: float) -> None:
    partial = setup.out / f"{STATE}.partial"
    partial.write_text(json.dumps({"stages": state}, indent=1) + "\n")
    partial.replace(setup.out / STATE)
    from benchmark.cli.verify_summary import write_summary

    write_summary(setup, stages, state, _now() - start)
