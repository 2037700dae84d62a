"""Imports point one way: a test fails when a module imports a layer above its own.

Every ``.py`` file of the four top-level packages is parsed with ``ast``; every import is
collected (module level, inside functions, ``from X import Y``, relative forms) and checked
against ``ALLOWED``. docs/ARCHITECTURE.md draws the same arrows.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "methods", "datasets", "reports")

# Layer -> the other layers it may import (a layer may always import itself). Written once.
ALLOWED: dict[str, frozenset[str]] = {
    # The kernel: everything builds on it, so it may build on nothing of ours.
    "core": frozenset(),
    # Architectures, data sources and metrics are leaves over the kernel, independent of each other.
    "models": frozenset({"core"}),
    "datasets": frozenset({"core"}),
    "metrics": frozenset({"core"}),
    # The plugin API gathers the tools a method needs; the methods package __init__ may
    # import method modules to register the built-ins.
    "methods_api": frozenset({"core", "models", "metrics", "datasets", "methods"}),
    # Method files see the suite only through methods.api, so internals can move freely.
    "methods": frozenset({"methods_api"}),
    # The harness drives methods and computes metrics; nothing below it may know it exists.
    "harness": frozenset({"core", "models", "datasets", "metrics", "methods_api", "methods"}),
    # Claims run the harness and judge its results.
    "claims": frozenset({"core", "models", "datasets", "metrics", "methods_api", "methods",
                         "harness"}),
    # Reports read what the harness stored; they must not depend on claims or the CLI.
    "reports": frozenset({"core", "models", "datasets", "metrics", "methods_api", "methods",
                          "harness"}),
    # The tuner runs the harness trial by trial; only the CLI drives it.
    "tuning": frozenset({"core", "models", "datasets", "metrics", "methods_api", "methods",
                         "harness"}),
    # The command line wires everything together.
    "cli": frozenset({"core", "models", "datasets", "metrics", "methods_api", "methods",
                      "harness", "claims", "reports", "tuning"}),
}

# Known violations in today's code, as (file, imported module). Each entry needs a comment
# naming the file and line and why it is tolerated; an entry that no longer occurs fails.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


def layer_of(module: str) -> str | None:
    """The layer of one of our modules, or None for a module that is not ours."""
    parts = module.split(".")
    if parts[0] == "benchmark":
        sub = parts[1] if len(parts) > 1 else None
        # The package __init__ may re-export the harness's API, so importing it is cli level.
        return {"core": "core", "models": "models", "metrics": "metrics", "harness": "harness",
                "claims": "claims", "tuning": "tuning"}.get(sub, "cli")  # cli.*, __main__, the bare package
    if parts[0] == "methods":
        return "methods_api" if module in ("methods", "methods.api", "methods.interface") \
            else "methods"
    return parts[0] if parts[0] in ("datasets", "reports") else None


def module_name(path: Path, root: Path = ROOT) -> str:
    """``benchmark/core/x.py`` -> ``benchmark.core.x``; a package's __init__ -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    return {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported module) for every import anywhere in ``source``, relative ones resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):  # walk, not body: lazy imports inside functions count
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                # A package's __init__ is its own anchor; a plain module's anchor is its parent.
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from benchmark import metrics` imports the submodule benchmark.metrics;
                # `from benchmark import run` takes a name from the package __init__ itself.
                target = f"{base}.{alias.name}"
                found.append((node.lineno, target if target in known else base))
    return found


def violations(root: Path = ROOT) -> list[tuple[str, int, str, str, str]]:
    """(file, line, imported module, importer layer, imported layer) for each wrong-way import."""
    modules = our_modules(root)
    bad = []
    for name, path in modules.items():
        importer = layer_of(name)
        assert importer is not None, name
        for line, target in imports_of(path.read_text(), name, path.name == "__init__.py",
                                       set(modules)):
            imported = layer_of(target)
            if imported not in (None, importer) and imported not in ALLOWED[importer]:
                bad.append((path.relative_to(root).as_posix(), line, target, importer, imported))
    return bad


def test_every_import_points_down_the_layers() -> None:
    found = violations()
    assert len(our_modules()) > 50  # the scan really covered the tree
    new = [v for v in found if (v[0], v[2]) not in KNOWN_VIOLATIONS]
    report = "\n".join(f"{f}:{line} imports {target} (layer {a} may not import layer {b})"
                       for f, line, target, a, b in new)
    assert not new, "imports pointing the wrong way:\n" + report
    stale = KNOWN_VIOLATIONS - {(v[0], v[2]) for v in found}
    assert not stale, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_checker_sees_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    # Guards the guard: a checker that silently found nothing would pass any tree.
    files = {"benchmark/core/bad.py": "def f():\n    from ..harness import runner\n",
             "methods/toy.py": "import os\nfrom benchmark import core\nfrom methods.api import x\n"
                               "import benchmark\n",
             "benchmark/harness/runner.py": ""}
    for pkg in ("benchmark", "benchmark/core", "benchmark/harness", *PACKAGES[1:]):
        files[f"{pkg}/__init__.py"] = ""
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = {(f, line, target) for f, line, target, _, _ in violations(tmp_path)}
    assert found == {("benchmark/core/bad.py", 2, "benchmark.harness.runner"),
                     ("methods/toy.py", 2, "benchmark.core"), ("methods/toy.py", 4, "benchmark")}


def _loaded_after(statement: str) -> list[str]:
    """Our modules in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = (f"import json, sys\n{statement}\nimport benchmark\n"
            "print(json.dumps([benchmark.__file__, sorted(sys.modules)]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    origin, loaded = json.loads(out.splitlines()[-1])
    assert Path(origin).resolve().is_relative_to(ROOT)  # this tree, not an installed copy
    return [m for m in loaded if layer_of(m) is not None]


def test_importing_the_kernel_loads_nothing_above_it() -> None:
    loaded = _loaded_after("import benchmark.core, pkgutil, importlib\n"
                           "for m in pkgutil.iter_modules(benchmark.core.__path__):\n"
                           "    importlib.import_module('benchmark.core.' + m.name)")
    assert "benchmark.core.training" in loaded  # the submodules really were imported
    above = [m for m in loaded if layer_of(m) != "core" and m != "benchmark"]  # parent package
    assert not above, f"benchmark.core pulled in {above}"


def test_a_method_file_does_not_load_the_harness() -> None:
    loaded = _loaded_after("import methods.unsir")
    assert "methods.unsir" in loaded
    above = [m for m in loaded if layer_of(m) in ("harness", "claims", "cli", "reports")
             and m != "benchmark"]  # the bare package is the parent of every benchmark.*
    assert not above, f"methods.unsir pulled in {above}"
