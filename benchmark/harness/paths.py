"""Output paths checked before any work: never over an input, never a traceback.

Every command that writes (``run``'s results and cache, ``report --out``, ``export --out``,
``tune --out``, ``verify-gpu --out``) checks its outputs here first, writing nothing:

- an output that is (or resolves to, through links or ``..``) one of the command's inputs
  (the results database, the cache folder, the data root) is refused: no command writes
  over what it reads;
- a file output that is a folder (``--out outd/``), a folder output that is a file, an
  output under a file (``blocker/x.csv``) or in a folder that cannot be written (``/proc``)
  is one line and exit 2, before the database is read or a model trained.

Missing parent folders of an output are fine: the command creates them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmark.core.errors import UserError

Inputs = dict[str, "str | Path | None"]  # what the input is called -> its path (None: not given)


def resolved(path: str | Path) -> Path:
    """``path`` made absolute, with ``~``, links and ``..`` resolved (it need not exist)."""
    return Path(path).expanduser().resolve()


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name the same file or folder (hard links included)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return resolved(a) == resolved(b)


def check_not_an_input(out: str | Path, flag: str, inputs: Inputs) -> None:
    """Refuse ``out`` when it is one of ``inputs`` (what each is called -> its path)."""
    for name, path in inputs.items():
        if path is not None and str(path) != "" and same_path(out, path):
            raise UserError(f"{flag} {out} is the {name} ({path}); writing there would "
                            f"overwrite it; give another {flag}")


def check_output_file(out: str | Path, flag: str, inputs: Inputs | None = None) -> Path:
    """Refuse a file output that cannot be written or would overwrite an input; returns it."""
    text = str(out)
    path = Path(out).expanduser()
    check_not_an_input(path, flag, inputs or {})
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise UserError(f"{flag} {out} is a folder; give a file name such as {path / 'results.csv'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{flag} {out} is not writable; give another {flag}")
    _check_creatable(path.parent, flag, out)
    return path


def check_output_folder(out: str | Path, flag: str, inputs: Inputs | None = None) -> Path:
    """Refuse a folder output that is a file, cannot be made or is an input; returns it."""
    path = Path(out).expanduser()
    check_not_an_input(path, flag, inputs or {})
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {out} is a file; give a folder (it is created if missing)")
    _check_creatable(path, flag, out)
    return path


def _check_creatable(folder: Path, flag: str, out: str | Path) -> None:
    """Raise unless ``folder`` exists as a writable folder or can be created."""
    existing = existing_ancestor(folder)
    if not existing.is_dir():
        raise UserError(f"cannot write {flag} {out}: {existing} is a file, not a folder")
    if problem := write_problem(existing):
        raise UserError(f"cannot write {flag} {out}: {existing} is not writable ({problem})")


def existing_ancestor(path: Path) -> Path:
    """``path`` itself when it exists, else its nearest existing parent (absolute)."""
    path = path.expanduser().absolute()
    while not path.exists():
        path = path.parent
    return path


def write_problem(folder: Path) -> str | None:
    """Why nothing can be created in ``folder``, or None: a real test that leaves nothing
    behind (``os.access`` says yes to root on /proc)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".unlearning-bench-probe-", dir=folder))
    except OSError as error:
        return error.strerror or str(error)
    return None
