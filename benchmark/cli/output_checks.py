"""Output checks of the CLI commands that are not ``run`` (which checks its own in the runner)."""

from __future__ import annotations

import argparse
import os

from benchmark.harness.paths import check_output_folder
from benchmark.harness.spec import RunSpec
from datasets.imagefolder import DATA_ROOT_ENV


def check_tune_out(args: argparse.Namespace, spec: RunSpec) -> None:
    """``tune --out``: a folder that can be made, and none of the inputs of the run."""
    check_output_folder(args.out, "--out", {
        "results database": spec.results,
        "cache folder": spec.cache_root(),
        "data root": spec.data_root or os.environ.get(DATA_ROOT_ENV) or None,
    })
