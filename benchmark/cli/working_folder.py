"""``python -m benchmark`` from any folder: the working folder never shadows our packages.

``python -m`` puts the working folder first on ``sys.path``, ahead of the editable
install's finder (which Python consults after the path). A user's ``datasets/``,
``methods/`` or ``reports/`` folder there, with or without an ``__init__.py`` (a plain
folder is a namespace package), then replaces this suite's package of that name, and the
command fails with "cannot import name 'DATASETS' from 'datasets'". ``benchmark/__main__.py``
calls :func:`drop_working_folder` before it imports anything else of ours, so the suite's
own packages load; the working folder stays on the path only when it is the folder that
holds them (a source checkout). The ``unlearning-bench`` console script never had the
working folder on its path.

What this cannot fix: a ``benchmark/`` folder in the working folder is found by ``python -m
benchmark`` itself, before any of our code runs. From such a folder use the console script
``unlearning-bench``, or ``python -P -m benchmark`` (``-P``: do not put the working folder on
the path).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

OUR_PACKAGES = ("benchmark", "datasets", "methods", "reports")


def project_root() -> Path:
    """The folder holding this suite's top-level packages."""
    return Path(__file__).resolve().parents[2]


def drop_working_folder() -> None:
    """Take the working folder that ``python -m`` put first on ``sys.path`` off it (unless it is
    the project root), and forget any of our package names already imported from elsewhere."""
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the working folder was deleted: nothing of it can shadow anything
        return
    if cwd == project_root() or not sys.path:
        return
    first = sys.path[0]
    if first in ("", ".") or _resolves_to(first, cwd):
        del sys.path[0]
    root = str(project_root())
    for name in [n for n in sys.modules if n.split(".")[0] in OUR_PACKAGES[1:]]:
        module = sys.modules[name]
        files = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
        if not any(str(f).startswith(root + os.sep) for f in files if f):
            del sys.modules[name]  # imported from the working folder: import ours instead


def _resolves_to(entry: str, folder: Path) -> bool:
    try:
        return Path(entry).resolve() == folder
    except OSError:
        return False
