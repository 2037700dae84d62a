"""docs/ARCHITECTURE.md places every module, our imports form no circle, and the plan a run
is resolved into is immutable, picklable (Ray sends it to workers) and the only way in."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

from benchmark.core.errors import UserError
from benchmark.harness.plan import FrozenDict, plan_of, resolve
from benchmark.harness.spec import RunArgs

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "methods", "datasets", "reports")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def test_architecture_page_names_every_module() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"`([\w./:]+)", page))
    words = {part for text in named for part in re.split(r"[./:]", text)}
    missing = [name for name in _modules() if name.rsplit(".", 1)[-1] not in words
               and not name.endswith("__main__")]
    assert not missing, f"docs/ARCHITECTURE.md does not place: {', '.join(sorted(missing))}"


def test_no_import_circles() -> None:
    modules = _modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        if path.name == "__init__.py":  # packages re-export their modules: not a circle
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[name] |= {t for t in targets if t in modules and t != name
                            and modules[t].name != "__init__.py"}
    circles = [(a, b) for a in edges for b in edges[a] if _reaches(edges, b, a)]
    assert not circles, f"import circles: {circles[:5]}"


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo += edges.get(node, ())
    return False


def test_the_python_api_builds_no_argparse_namespace() -> None:
    assert "argparse" not in (ROOT / "benchmark" / "api.py").read_text()


def test_a_plan_is_immutable_picklable_and_checked_once(tiny_spec) -> None:
    plan = plan_of(tiny_spec)
    with pytest.raises(TypeError, match="immutable"):
        plan.instances["unsir"] = None  # type: ignore[index]
    copy = pickle.loads(pickle.dumps(plan))
    assert copy.method("unsir").config == plan.method("unsir").config
    assert copy.recipe("smallcnn", "synthetic") == tiny_spec.train
    assert plan.cache_root.is_absolute()
    trial = plan.with_method_settings("unsir", {"impair_lr": 0.05})
    assert trial.method("unsir").config.impair_lr == 0.05
    assert plan.method("unsir").config.impair_lr != 0.05  # the plan it came from is unchanged
    with pytest.raises(UserError, match="unsir.impair_lr"):
        plan.with_method_settings("unsir", {"impair_lr": -1.0})
    assert isinstance(plan.instances, FrozenDict)


def test_resolve_takes_typed_settings_and_assignments_alike(tmp_path) -> None:
    common = dict(methods=["unsir"], device="cpu", results=str(tmp_path / "r.sqlite"))
    typed = resolve(RunArgs(**common, settings={"unsir.impair_lr": 0.05, "train.epochs": 2}))
    texts = resolve(RunArgs(**common, settings=["unsir.impair_lr=0.05", "train.epochs=2"]))
    assert typed.method("unsir").config == texts.method("unsir").config
    assert typed.recipe("smallcnn", "digits") == texts.recipe("smallcnn", "digits")
    assert typed.methods == ("unsir",) and "retrain" in typed.instances  # the gold's, always
    with pytest.raises(UserError, match="unknown setting unsir.nope"):
        resolve(RunArgs(**common, settings={"unsir.nope": 1}))
