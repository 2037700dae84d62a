"""A third-party method in a temporary package, installed through the entry point and
importing only the plugin API, runs end to end.

The package lives in ``tmp_path`` with a hand-written ``.dist-info`` folder, which is all
``importlib.metadata`` needs to find its ``unlearning_bench.methods`` entry point once the
folder is on ``PYTHONPATH``; nothing is pip-installed and nothing of ours imports it, so the
CLI can only find it through the entry point.
"""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''"""A toy third-party unlearning method: fine-tunes on a small retain subset."""

from dataclasses import dataclass

import torch

from methods.api import (
    Access, MethodStyle, UnlearningMethod, make_optimizer, register_method, setting, train_epoch,
)


@dataclass(frozen=True)
class ToyConfig:
    epochs: int = setting(1, ge=1)
    lr: float = setting(0.01, gt=0)


@register_method
class ToyForget(UnlearningMethod):
    name = "toy_forget"
    needs = frozenset({Access.RETAIN_SUBSET})
    Config = ToyConfig
    style = MethodStyle(label="Toy", colour="#8c564b", marker="P")

    def unlearn(self, model, request):
        data = request.retain_subset(per_class=20).to(request.engine.device)
        optimizer = make_optimizer(model.parameters(), "sgd", self.config.lr)
        generator = torch.Generator().manual_seed(request.seed)
        for _ in range(self.config.epochs):
            train_epoch(model, [data], optimizer, request.engine, request.normalizer, 32, generator)
        return model
'''


def install_plugin(site: Path, entry_name: str = "toy_forget", decorated: bool = False) -> None:
    """Write ``toy_unlearn`` and its dist-info (METADATA + entry_points.txt) into ``site``.

    Undecorated, the entry point alone registers the class; ``decorated`` keeps the
    ``@register_method`` line that methods/api.py's docstring shows as well.
    """
    source = PLUGIN if decorated else PLUGIN.replace("@register_method\n", "")
    (site / "toy_unlearn").mkdir(parents=True)
    (site / "toy_unlearn" / "__init__.py").write_text(source)
    info = site / "toy_unlearn-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy_unlearn\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[unlearning_bench.methods]\n{entry_name} = toy_unlearn:ToyForget\n")


def bench(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m benchmark ARGS`` with the plugin folder and this tree on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
           "OMP_NUM_THREADS": "1", "UNLEARN_CACHE_DIR": str(site.parent / "data-cache")}
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_plugin_source_imports_only_the_plugin_api() -> None:
    tree = ast.parse(PLUGIN)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"dataclasses", "torch", "methods.api"}


@pytest.mark.slow
def test_entry_point_plugin_is_listed_and_runs_end_to_end(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site)

    listing = bench(site, "list")
    assert listing.returncode == 0, listing.stderr
    (line,) = [row for row in listing.stdout.splitlines() if "toy_forget" in row]
    assert "retain_subset" in line and "yes" in line  # its access set, marked zero-glance

    db = tmp_path / "r.sqlite"
    result = bench(site, "run", "--methods", "toy_forget", "--datasets", "synthetic",
                   "--forget", "3", "--device", "cpu", "--results", str(db),
                   "--cache-dir", str(tmp_path / "cache"), "--set", "train.epochs=2",
                   "--set", "metrics.relearn=false", "--quiet")
    assert result.returncode == 0, result.stderr

    with sqlite3.connect(db) as connection:
        rows = {method: (zero_glance, json.loads(access), json.loads(timings))
                for method, zero_glance, access, timings in connection.execute(
                    "SELECT method, zero_glance, access, timings FROM results")}
    assert set(rows) == {"original", "retrain", "toy_forget"}
    zero_glance, access, timings = rows["toy_forget"]
    assert zero_glance == 1 and access == ["retain_subset"]
    # Synthetic data has 10 classes; forgetting class 3 leaves 9, and it asked for 20 of each.
    assert timings["samples_seen"] == {"retain_subset": 9 * 20}


def test_decorated_plugin_also_loads_through_its_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, decorated=True)
    listing = bench(site, "list")
    assert listing.returncode == 0, listing.stderr
    assert any("toy_forget" in row for row in listing.stdout.splitlines())


def test_entry_point_name_must_match_the_class_name(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, entry_name="other_name")  # the class says name = "toy_forget"

    result = bench(site, "run", "--methods", "other_name", "--datasets", "synthetic",
                   "--device", "cpu", "--results", str(tmp_path / "r.sqlite"),
                   "--cache-dir", str(tmp_path / "cache"), "--quiet")
    assert result.returncode == 2  # a plugin's mistake is one line, like any bad input
    error = result.stderr.strip()
    assert error.startswith("error: ") and "\n" not in error, error
    assert "method registered as 'other_name' declares name = 'toy_forget'" in error
    assert not (tmp_path / "r.sqlite").exists()  # refused before anything was written
