"""UNSIR's notebook quirks measured on a preset: the fixed variant, each quirk alone, all four.

Runs ``python -m benchmark run --preset PRESET --methods unsir`` once per variant, each into
its own results database under ``--out`` and all sharing one cache, so the originals and
gold retrains are trained once and every variant unlearns the very same models. Then prints
a Markdown table: forget and retain accuracy (test split) after UNSIR per variant, mean and
per-seed values, and the gold retrain's for reference. Accuracies do not depend on the
machine's load, so this may run beside other work; its times do.

    python tests/bench/unsir_quirk_table.py --data-root DATA --out quirk-runs [--seeds 0,1,2]
        [--only fixed,label_zero] [--set metrics.relearn=false]

Rows of a variant already in its database are not measured again, so a stopped table
resumes where it stopped. The gold retrain's row is read from the last variant's database.

The quirk table in docs/REPRODUCTION.md comes from this script (not a test).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from benchmark.harness.store import load_dataframe

QUIRKS = ["quirk_three_noise_images", "quirk_label_zero", "quirk_train_mode_noise",
          "quirk_first_retain_samples"]
VARIANTS: dict[str, list[str]] = {
    "fixed": [],
    **{quirk.removeprefix("quirk_"): [quirk] for quirk in QUIRKS},
    "all four quirks": QUIRKS,
}


def database(name: str, args: argparse.Namespace) -> Path:
    suffix = f"-{args.label}" if args.label else ""
    return args.out / f"{name.replace(' ', '_')}{suffix}.sqlite"


def run_variant(name: str, quirks: list[str], args: argparse.Namespace) -> Path:
    db = database(name, args)
    command = [sys.executable, "-m", "benchmark", "run", "--preset", args.preset,
               "--methods", "unsir,retrain", "--seeds", args.seeds, "--data-root", args.data_root,
               "--results", str(db), "--cache-dir", str(args.out / "cache"), "--quiet"]
    for quirk in quirks:
        command += ["--set", f"unsir.{quirk}=true"]
    for setting in args.set:
        command += ["--set", setting]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    return db


def accuracies(db: Path, method: str) -> dict[str, list[tuple[int, float, float]]]:
    """forget set -> [(seed, forget %, retain %)] of the stored ``ok`` rows of ``method``."""
    frame = load_dataframe(db)
    rows = frame[(frame["method"] == method) & (frame["status"] == "ok")]
    out: dict[str, list[tuple[int, float, float]]] = {}
    for row in rows.sort_values(["forget", "seed"]).itertuples():
        out.setdefault(row.forget, []).append(
            (int(row.seed), 100 * row.forget_acc_test, 100 * row.retain_acc_test))
    return out


def cell(values: list[tuple[int, float, float]], index: int) -> str:
    numbers = [v[index] for v in values]
    each = " / ".join(f"{n:.1f}" for n in numbers)
    return f"{statistics.mean(numbers):.1f} ({each})"


def table(rows: dict[str, dict[str, list[tuple[int, float, float]]]]) -> str:
    forgets = sorted({f for by_forget in rows.values() for f in by_forget})
    head = "| variant | " + " | ".join(
        f"forget {f}: D_f | forget {f}: D_r" for f in forgets) + " |"
    lines = [head, "|" + " --- |" * (1 + 2 * len(forgets))]
    for name, by_forget in rows.items():
        cells = [cell(by_forget[f], i) for f in forgets for i in (1, 2)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--preset", default="cifar10-cpu")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="comma list of variant names to run (default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="passed on to every run, e.g. metrics.relearn=false (repeatable)")
    parser.add_argument("--label", default="",
                        help="names variants run with extra --set values (their own databases)")
    parser.add_argument("--table-only", action="store_true",
                        help="run nothing: print the table from the databases under --out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = VARIANTS if not args.only else {n: VARIANTS[n] for n in args.only.split(",")}
    rows = {}
    last = None
    for name, quirks in chosen.items():
        db = database(name, args) if args.table_only else run_variant(name, quirks, args)
        rows[f"{name} {args.label}".strip()] = accuracies(db, "unsir")
        last = db
    rows["original (before unlearning)"] = accuracies(last, "original")
    rows["retrain (gold)"] = accuracies(last, "retrain")
    print(table(rows))


if __name__ == "__main__":
    main()
