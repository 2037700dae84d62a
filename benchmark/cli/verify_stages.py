"""The stages of ``verify-gpu``, in order, each with what it measures and its estimated GPU time.

The paper setting comes first and alone is the "important part": a lent GPU may give about
15 minutes in all, start-up included, so the paper's UNSIR, retrain and Fisher on seed 0
are timed within the first 5-8 minutes and everything after is a bonus that a stopped run
can lose without losing them. The leaderboard is last: it is the longest, and resumable.

=================  ==========================================================================
paper-official     ``paper-cifar10-official`` seed 0: the notebook's recipe and UNSIR quirks;
                   trains the original and the gold model (40 epochs each), times UNSIR,
                   retraining and exact Fisher forgetting over the 40,000 retained images
paper              ``paper-cifar10`` seed 0: our UNSIR (no quirks) on the same original and
                   gold model (shared cache; retrain and Fisher rows are the same cells)
fisher-backends    Fisher's and SSD's importance pass, ``func`` against ``layerwise`` at 3
                   chunk sizes, same model and samples; the fastest against the 60-s target
gpu-bench          tests/bench/test_bench_gpu.py (pytest-benchmark): training images/s,
                   UNSIR and Fisher on CIFAR-shaped data (ResNet-18, CIFAR stem)
paper-seeds        seeds 1 and 2 of both presets (the claims' spread over 3 seeds)
report             ``report`` on everything stored so far
claims             ``check --claims paper`` on the stored rows (no new run)
leaderboard        ``paper-cifar10`` with all twelve methods, seeds 0-2, default settings,
                   then tuned ones where tuned files exist for the model; then ``report``
=================  ==========================================================================

Estimates (``GpuCosts``) are FLOP-count guesses for one H100, not measurements: no GPU had
been lent to the project when they were written. Methods are priced by their own passes
(benchmark.harness.method_work), the same counting the CPU estimate uses. SUMMARY.md puts
each stage's measured time beside its estimate, so the first GPU run corrects them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.harness.method_work import METHOD_WORK, Sizes, one_epoch

OFFICIAL, PAPER = "paper-cifar10-official", "paper-cifar10"
MODEL, DATASET = "resnet18_imagenet", "cifar10"  # the paper's ResNet-18 on CIFAR-10
FIRST_SEED, OTHER_SEEDS = "0", "1,2"
LEADERBOARD_SEEDS = "0,1,2"
BENCH = Path(__file__).resolve().parents[2] / "tests" / "bench" / "test_bench_gpu.py"
# A resumable run stage starts with this much budget left (a row or two gets stored); the
# leaderboard needs room for at least one group's first methods.
RUN_MIN_START_S = 60.0
LEADERBOARD_MIN_START_S = 240.0
# CIFAR-10 as the paper presets load it: 10 classes of 5,000 training images.
CIFAR10_CLASSES, CIFAR10_PER_CLASS = 10, 5000


@dataclass(frozen=True)
class GpuCosts:
    """Seconds of each unit of work on one H100, ResNet-18 (ImageNet stem) on 32x32 images.

    FLOP-count guesses, not measured. A training step of batch 256 is launch-bound at these
    spatial sizes (the stem leaves 8x8 maps): ~2 ms a step plus 0.22 GFLOP an image at a
    ~110 TFLOP/s bf16 rate. One per-sample gradient of the exact Fisher (torch.func) at
    0.22 ms puts Fisher over 40,000 images x 10 classes at 90 s (module docstring of
    verify_gpu: 1-2 min). Metrics: logits of 60,000 images, relearning, the attack.
    """

    step_s: float = 2e-3
    image_s: float = 2e-6
    gradient_s: float = 2.25e-4
    metrics_row_s: float = 20.0
    process_s: float = 20.0  # interpreter, torch import, CUDA context, cuDNN autotuning
    decode_s: float = 30.0  # CIFAR-10's 60,000 JPEGs decoded once into the cache
    bench_s: float = 180.0
    report_s: float = 40.0
    claims_s: float = 10.0

    def passes(self, work: list[tuple[float, int, str]]) -> float:
        seconds = 0.0
        for images, batch, kind in work:
            if kind == "per_sample":
                seconds += images * self.gradient_s
            else:
                steps = -(-int(images) // max(int(batch), 1))
                train = steps * self.step_s + images * self.image_s
                seconds += train * {"forward": 1 / 3, "input_gradient": 2 / 3}.get(kind, 1.0)
        return seconds


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    stdout: str | None = None  # a file name in the output folder, else the terminal


@dataclass(frozen=True)
class Stage:
    name: str
    measures: str
    estimate_s: float
    commands: tuple[Command, ...]
    important: bool = False
    resumable: bool = False  # stored rows are skipped: may start short of time, then resume
    gpu: bool = True
    min_start_s: float = 0.0  # 0: its estimate
    skip_reason: str | None = None  # known before it starts (a missing file)
    notes: tuple[str, ...] = ()

    @property
    def needs_s(self) -> float:
        """Budget left below which the stage is skipped."""
        return self.min_start_s or self.estimate_s


@dataclass
class Setup:
    """What the stages are built from (all paths absolute)."""

    data_root: str
    out: Path
    plans: dict[str, Any]  # "official", "paper", "leaderboard", "tuned": resolved Plans
    tuned: list[str] = field(default_factory=list)  # tuned files for MODEL on DATASET
    tuned_note: str = ""
    fisher_samples: int = 5000
    costs: GpuCosts = field(default_factory=GpuCosts)

    @property
    def db(self) -> Path:
        return self.out / "results.sqlite"

    @property
    def cache(self) -> Path:
        return self.out / "cache"


def _benchmark(*argv: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "benchmark", *argv)


def _run(setup: Setup, preset: str, seeds: str, *extra: str) -> tuple[str, ...]:
    return _benchmark("run", "--preset", preset, "--seeds", seeds, "--data-root", setup.data_root,
                      "--results", str(setup.db), "--cache-dir", str(setup.cache),
                      "--device", "cuda", *extra)


def _report(setup: Setup) -> Command:
    return Command("report", _benchmark("report", "--db", str(setup.db), "--out",
                                        str(setup.out / "report")))


def build_stages(setup: Setup) -> list[Stage]:
    """Every stage, in the order they run."""
    c = setup.costs
    official, paper = setup.plans["official"], setup.plans["paper"]
    n_other = len(OTHER_SEEDS.split(","))
    first = (c.process_s + c.decode_s + references_s(official, c)
             + methods_s(official, ("unsir", "fisher"), c) + 3.5 * c.metrics_row_s)
    ours = c.process_s + methods_s(paper, ("unsir",), c) + c.metrics_row_s
    stages = [
        Stage("paper-official", f"{OFFICIAL} seed 0: the original and gold model trained, UNSIR "
              "(notebook quirks), retraining and exact Fisher forgetting timed", first,
              (Command(f"run {OFFICIAL} seed 0", _run(setup, OFFICIAL, FIRST_SEED)),),
              important=True, resumable=True, min_start_s=RUN_MIN_START_S),
        Stage("paper", f"{PAPER} seed 0: our UNSIR on the same original and gold model",
              ours, (Command(f"run {PAPER} seed 0", _run(setup, PAPER, FIRST_SEED)),),
              important=True, resumable=True, min_start_s=RUN_MIN_START_S),
        fisher_stage(setup),
        # -o addopts=: the project's addopts start pytest-xdist workers (-n 2), which the GPU
        # machine's Python may lack and under which pytest-benchmark times nothing.
        Stage("gpu-bench", "training images/s, UNSIR and Fisher times on CIFAR-shaped data "
              "(tests/bench/test_bench_gpu.py, pytest-benchmark)", c.bench_s,
              (Command("GPU speed benchmarks", (
                  sys.executable, "-m", "pytest", str(BENCH), "-q", "-o", "addopts=", "--benchmark-enable",
                  f"--benchmark-json={setup.out / 'gpu-bench.json'}", "-p", "no:cacheprovider")),),
              skip_reason=None if BENCH.exists() else
              f"{BENCH} not found (verify-gpu runs it from a source checkout)"),
        Stage("paper-seeds", f"seeds {OTHER_SEEDS} of {OFFICIAL} and {PAPER}: the spread over "
              "3 seeds", n_other * (first - c.decode_s - c.process_s) + n_other * (ours - c.process_s)
              + 2 * c.process_s,
              (Command(f"run {OFFICIAL} seeds {OTHER_SEEDS}", _run(setup, OFFICIAL, OTHER_SEEDS)),
               Command(f"run {PAPER} seeds {OTHER_SEEDS}", _run(setup, PAPER, OTHER_SEEDS))),
              resumable=True, min_start_s=RUN_MIN_START_S),
        Stage("report", "report: tables, figures and index.html of the rows stored so far",
              c.report_s, (_report(setup),), gpu=False),
        Stage("claims", "check --claims paper on the stored rows (claims.txt)", c.claims_s,
              (Command("check --claims paper", _benchmark("check", "--claims", "paper", "--db",
                                                          str(setup.db)), stdout="claims.txt"),),
              gpu=False),
        leaderboard_stage(setup),
    ]
    return stages


def fisher_stage(setup: Setup) -> Stage:
    c, n = setup.costs, setup.fisher_samples
    # func and 3 layerwise chunk sizes; exact: C gradients a sample, empirical: one; warm-ups.
    seconds = c.process_s + 4 * (n * CIFAR10_CLASSES + n) * c.gradient_s * 1.2
    return Stage(
        "fisher-backends", "Fisher's and SSD's importance pass with backend func and layerwise "
        f"(chunks 32/128/512) on the same ResNet-18 and {n:,} samples; the fastest projected to "
        "45,000 samples against the paper's 60-s target", seconds,
        (Command("Fisher/SSD backends", (
            sys.executable, "-m", "benchmark.cli.fisher_backends", "--device", "cuda",
            "--samples", str(n), "--out", str(setup.out / "fisher-backends.json"))),))


def leaderboard_stage(setup: Setup, covered: frozenset[str] | None = None) -> Stage:
    """The leaderboard; ``covered``: seeds whose paper stages ran (default: all of them)."""
    c = setup.costs
    board = setup.plans["leaderboard"]
    methods = ("all",)
    seeds = LEADERBOARD_SEEDS.split(",")
    covered = frozenset(seeds) if covered is None else covered
    # A seed the paper stages ran has its original and gold model cached and its unsir,
    # fisher and retrain rows stored: the leaderboard adds the other methods. Another seed
    # trains both references and runs every method.
    stored = ("unsir", "fisher", "retrain")
    others = tuple(m for m in board.methods if m not in stored)
    per_seed = methods_s(board, others, c) + len(others) * c.metrics_row_s
    missing = [seed for seed in seeds if seed not in covered]
    extra = references_s(board, c) + methods_s(board, stored, c) + 3.5 * c.metrics_row_s
    seconds = c.process_s + len(seeds) * per_seed + len(missing) * extra + c.report_s
    commands = [Command(f"run {PAPER} all methods seeds {LEADERBOARD_SEEDS} (default settings)",
                        _run(setup, PAPER, LEADERBOARD_SEEDS, "--methods", *methods))]
    notes = [f"{len(board.methods)} methods x {len(seeds)} seeds on {MODEL}/{DATASET}, forget "
             f"{'; '.join(board.forget)}; default settings"]
    if missing:
        notes.append(f"seeds {','.join(missing)} not run by the paper stages: their originals and "
                     "gold models are trained here")
    if setup.tuned:
        tuned = setup.plans["tuned"]
        changed = tuple(m for m in tuned.methods if m != "retrain" and
                        tuned.method(m).config != board.method(m).config)
        seconds += c.process_s + len(seeds) * (methods_s(tuned, changed, c)
                                               + len(changed) * c.metrics_row_s)
        flags = [flag for name in setup.tuned for flag in ("--tuned", name)]
        commands.append(Command(f"run {PAPER} all methods seeds {LEADERBOARD_SEEDS} (tuned)",
                                _run(setup, PAPER, LEADERBOARD_SEEDS, "--methods", *methods, *flags)))
        notes.append(f"tuned: {', '.join(setup.tuned)}")
    else:
        notes.append(setup.tuned_note or f"no tuned files for {MODEL} on {DATASET}: default only")
    commands.append(_report(setup))
    return Stage("leaderboard", f"the leaderboard at paper scale: {PAPER} (ResNet-18, CIFAR-10) "
                 "with all twelve methods, seeds 0-2, default settings, then tuned ones where tuned "
                 "files exist; then report",
                 seconds, tuple(commands), resumable=True,
                 min_start_s=min(LEADERBOARD_MIN_START_S, seconds), notes=tuple(notes))


# --- pricing -------------------------------------------------------------------------------

def sizes(plan: Any) -> Sizes:
    """CIFAR-10's split sizes for the plan's (first) forget set of whole classes."""
    from datasets.splits import parse_forget

    try:
        forgotten = len(parse_forget(plan.forget[0], CIFAR10_CLASSES)[0])
    except Exception:  # another scenario: price it like one class
        forgotten = 1
    n_train = CIFAR10_CLASSES * CIFAR10_PER_CLASS
    n_forget = forgotten * CIFAR10_PER_CLASS
    return Sizes(n_train, n_train - n_forget, n_forget, CIFAR10_CLASSES, forgotten,
                 CIFAR10_PER_CLASS, plan.recipe(MODEL, DATASET), cpu=False)


def references_s(plan: Any, c: GpuCosts) -> float:
    """Training the original and the gold model of one seed."""
    s = sizes(plan)
    original = c.passes([(s.recipe.epochs * s.n_train, s.recipe.batch_size, "train")])
    return original + methods_s(plan, ("retrain",), c)


def methods_s(plan: Any, names: tuple[str, ...], c: GpuCosts) -> float:
    """The methods' own passes on one seed (not their metrics)."""
    s = sizes(plan)
    total = 0.0
    for name in names:
        method = plan.method(name)
        work = getattr(type(method), "estimated_work", None) or METHOD_WORK.get(name, one_epoch)
        total += c.passes(work(method.config, s))
    return total


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"
