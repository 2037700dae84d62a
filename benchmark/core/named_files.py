"""TOML files found by a shipped name or by a path: presets, claim sets, tuned settings.

One rule for every kind: ``name`` (no ``.toml``) is looked up among the files a package
ships; anything ending in ``.toml`` is read as a path. The package's folder is given by
the caller, so the kernel knows nothing of where presets or claims live.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from benchmark.core.errors import UserError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def shipped_names(package: str, folder: str) -> list[str]:
    """Names (without ``.toml``) of the files shipped in ``package``/``folder``, sorted."""
    root = resources.files(package) / folder
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def read_named_toml(name_or_path: str, package: str, folder: str, kind: str) -> dict[str, Any]:
    """The TOML table of a shipped ``kind`` called ``name_or_path``, or of a ``.toml`` path.

    Missing files and TOML syntax errors are one-line UserErrors naming the known files.
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        raise UserError(f"{kind} must be a name or a path to a .toml file, not {name_or_path!r}")
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise UserError(f"no {kind} file at {path}")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read {kind} file {path}: {error}") from None
    else:
        candidate = resources.files(package) / folder / f"{name_or_path}.toml"
        if not candidate.is_file():
            known = ", ".join(shipped_names(package, folder))
            raise UserError(f"unknown {kind} {name_or_path!r}; known: {known} "
                            "(or give a path to a .toml file)")
        text = candidate.read_text()
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{kind} {name_or_path!r} is not valid TOML: {error}") from None
    if not table:  # an empty file would silently mean "all defaults"
        raise UserError(f"{kind} file {name_or_path!r} is empty (or only comments); give its "
                        "settings, or leave the flag out for the defaults")
    return table
