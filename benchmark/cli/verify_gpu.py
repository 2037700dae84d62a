"""``python -m benchmark verify-gpu``: the paper-scale GPU verification as one command.

On a machine with one CUDA GPU it runs, into one output folder:

1. ``paper-cifar10-official`` with seeds 0, 1, 2 (the notebook's recipe and quirks);
2. ``paper-cifar10`` with seed 0 (same recipe, our UNSIR; it shares the originals and the
   gold models with step 1, so it adds only the methods' runs);
3. the GPU speed benchmarks (``tests/bench/test_bench_gpu.py`` with pytest-benchmark, when
   the tests folder of a source checkout is present);
4. ``report`` on the results, and ``check --claims paper``;

then writes ``SUMMARY.md``: the card, torch version, each step's wall time and outcome.
Everything lands in ``OUT``: ``results.sqlite``, ``cache/``, ``report/``, ``gpu-bench.json``,
``claims.txt`` and the summary.

Time estimate on one H100/H200 (not yet measured; from FLOP counts): ResNet-18 with the
ImageNet stem costs 74 MFLOPs per 32 px image forward, about 0.22 GFLOP per training image;
one seed trains an original (40 epochs x 50,000) and a gold model (40 x 40,000): 3.6 M
training images, 0.8 PFLOP, plus 40 test-loss passes. At small spatial sizes such a step is
bound by kernel launches more than by arithmetic: at 1-3 ms per batch of 256 that is 15-40 s
per training, 6 trainings in 2-4 min. Exact Fisher over 40,000 retain images (one forward
and 10 pullbacks with per-sample gradients each, about 65 TFLOP plus the squares of 4.4 G
gradient elements) takes 1-2 min per run, 4 runs. Metrics (relearn, MIA, logits of 60,000
images per row) add about 20 s per row, 14 rows. The GPU benchmarks take 2-3 min. Total:
about 12-20 min, under the 25-minute budget. CPU reference for the step cost: the same
ResNet-18 trained at 613 images/s on 2 quiet Intel Xeon cores (fp32), 82 s an epoch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from benchmark.core.errors import UserError
from benchmark.harness.plan import resolve
from benchmark.harness.spec import RunArgs

STEPS = (("paper-cifar10-official", "0,1,2"), ("paper-cifar10", "0"))


def command_verify_gpu(args: argparse.Namespace) -> int:
    """Run the verification steps; exit 1 if any step failed, else 0."""
    if not torch.cuda.is_available():
        raise UserError("verify-gpu needs a CUDA GPU and none is visible; run it on a GPU machine")
    from benchmark.harness.paths import check_output_folder

    out = check_output_folder(args.out, "--out", {"data root": args.data_root})
    db, cache = out / "results.sqlite", out / "cache"
    for preset, seeds in STEPS:  # every step's settings checked before the first one runs
        resolve(RunArgs(preset=preset, seeds=[int(s) for s in seeds.split(",")],
                        data_root=args.data_root, results=str(db), cache_dir=str(cache),
                        device="cuda"))
    out.mkdir(parents=True, exist_ok=True)
    log: list[tuple[str, float, int]] = []
    for preset, seeds in STEPS:
        log.append(_step(f"run {preset} seeds {seeds}", [
            "run", "--preset", preset, "--seeds", seeds, "--data-root", args.data_root,
            "--results", str(db), "--cache-dir", str(cache), "--device", "cuda"]))
    bench = Path(__file__).resolve().parents[2] / "tests" / "bench" / "test_bench_gpu.py"
    if bench.exists():
        log.append(_subprocess("GPU speed benchmarks", [
            sys.executable, "-m", "pytest", str(bench), "-q", "--benchmark-enable",
            f"--benchmark-json={out / 'gpu-bench.json'}", "-p", "no:cacheprovider"]))
    log.append(_step("report", ["report", "--db", str(db), "--out", str(out / "report")]))
    with open(out / "claims.txt", "w") as claims:
        log.append(_subprocess("check --claims paper", [
            sys.executable, "-m", "benchmark", "check", "--claims", "paper", "--db", str(db)],
            stdout=claims))
    _summary(out / "SUMMARY.md", log)
    print(f"wrote {out}/SUMMARY.md")
    return 0 if all(code == 0 for _, _, code in log) else 1


def _step(name: str, argv: list[str]) -> tuple[str, float, int]:
    return _subprocess(name, [sys.executable, "-m", "benchmark", *argv])


def _subprocess(name: str, command: list[str], stdout=None) -> tuple[str, float, int]:
    # Each step is its own process: one failing step cannot take the next ones with it.
    print(f"== {name}", flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, stdout=stdout).returncode
    return name, time.perf_counter() - start, code


def _summary(path: Path, log: list[tuple[str, float, int]]) -> None:
    lines = ["# GPU verification", "",
             f"- device: {torch.cuda.get_device_name(0)}",
             f"- torch {torch.__version__}, CUDA {torch.version.cuda}", "",
             "| step | wall time | exit status |", "| --- | --- | --- |"]
    lines += [f"| {name} | {seconds / 60:.1f} min | {code} |" for name, seconds, code in log]
    total = sum(seconds for _, seconds, _ in log)
    lines += ["", f"Total: {total / 60:.1f} min. Results: `results.sqlite`, report: "
              "`report/index.html`, claims: `claims.txt`, benchmarks: `gpu-bench.json`."]
    path.write_text("\n".join(lines) + "\n")
