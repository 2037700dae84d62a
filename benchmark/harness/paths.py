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

``run`` checks its own outputs twice, writing nothing: its results file and cache folder
can be written (:func:`check_outputs`, before any data is loaded), and the cache's disk has
room for the checkpoints (:func:`check_free_space`, once the data tells the model sizes).
The store and the cache are opened (and created) only after both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from benchmark.core.artifacts import StorageError
from benchmark.core.errors import UserError
from benchmark.harness.store import check_ours

Inputs = dict[str, "str | Path | None"]  # what the input is called -> its path (None: not given)
SPARE_BYTES = 64 * 2**20  # room left for the results database and the decode cache


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


def check_outputs(results: str | Path, cache: Path) -> None:
    """Raise StorageError/UserError unless ``run``'s results file and cache folder are writable
    and the results file, when it exists, is a database of ours."""
    results = Path(results)
    if results.is_dir():
        raise UserError(f"results path {results} is a folder; give a file such as results.sqlite")
    _check_writable(results, "results file", is_folder=False)
    check_ours(results)
    if cache.exists() and not cache.is_dir():
        raise StorageError(f"cache folder {cache} is a file; give a folder with --cache-dir")
    _check_writable(cache, "cache folder", is_folder=True)


def check_free_space(cache: Path, checkpoint_bytes: int) -> None:
    """Raise StorageError when the cache's disk cannot hold ``checkpoint_bytes`` and a spare."""
    need = SPARE_BYTES + checkpoint_bytes
    folder = existing_ancestor(cache)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise StorageError(f"not enough free disk for this run's checkpoints under {folder}: "
                           f"{free / 2**20:.0f} MiB free, about {need / 2**20:.0f} MiB needed; "
                           "free space or use another --cache-dir")


def _check_writable(path: Path, what: str, is_folder: bool) -> None:
    target = path.expanduser().absolute()
    if target.exists() and not os.access(target, os.W_OK):
        raise StorageError(f"the {what} {target} is not writable; give a writable one")
    folder = target if is_folder and target.exists() else existing_ancestor(target.parent)
    if not folder.is_dir():
        raise StorageError(f"cannot create the {what} {target}: {folder} is not a folder")
    if problem := write_problem(folder):
        raise StorageError(f"cannot write the {what} {target}: {folder} is not writable "
                           f"({problem})")
