"""``verify-gpu``'s SUMMARY.md, rewritten after every stage so a stopped run keeps its record.

It holds the card and torch version, one line a stage (estimated and measured time, status,
the reason a stage was skipped or stopped), the Fisher/SSD backend measurement when its
JSON exists, and where the other outputs are.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from benchmark.cli.verify_stages import Setup, Stage, minutes


def write_summary(setup: Setup, stages: list[Stage], state: dict[str, Any], elapsed_s: float) -> None:
    """Write ``SUMMARY.md`` into the output folder (atomically)."""
    lines = ["# GPU verification", "", f"- device: {_device()}",
             f"- torch {torch.__version__}, CUDA {torch.version.cuda}",
             f"- this invocation: {minutes(elapsed_s)} so far", "",
             "| # | stage | what it measures | estimated | measured | status | note |",
             "| ---: | --- | --- | ---: | ---: | --- | --- |"]
    for index, stage in enumerate(stages, 1):
        record = state.get(stage.name, {})
        measured = minutes(record["seconds"]) if "seconds" in record else ""
        status = record.get("status", "not reached")
        note = record.get("reason", "")
        failed = [label for label, code in record.get("commands", []) if code != 0]
        if failed and status != "stopped":
            note = "; ".join(f"{label} exited {code}" for label, code in record["commands"] if code != 0)
        important = " (important)" if stage.important else ""
        lines.append(f"| {index} | {stage.name}{important} | {stage.measures} | "
                     f"{minutes(stage.estimate_s)} | {measured} | {status} | {_cell(note)} |")
    lines += ["", "Estimates are FLOP-count guesses for one H100 (benchmark/cli/verify_stages.py); "
              "the measured column replaces them."]
    fisher = setup.out / "fisher-backends.json"
    if fisher.exists():
        from benchmark.cli.fisher_backends import markdown

        try:
            lines += ["", "## Fisher and SSD importances: func against layerwise", "",
                      *markdown(json.loads(fisher.read_text()))]
        except (ValueError, KeyError) as error:
            lines += ["", f"fisher-backends.json unreadable: {error}"]
    board = next((stage for stage in stages if stage.name == "leaderboard"), None)
    if board is not None and board.notes:
        lines += ["", "## Leaderboard", "", *[f"- {note}" for note in board.notes]]
    lines += ["", "Outputs: `results.sqlite` (every row), `report/index.html`, `claims.txt`, "
              "`fisher-backends.json`, `gpu-bench.json`, `stages.json` (each stage's record; "
              "a rerun with the same --out skips finished stages and resumes the rest)."]
    partial = setup.out / "SUMMARY.md.partial"
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(setup.out / "SUMMARY.md")


def _device() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return "no CUDA GPU visible"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")

