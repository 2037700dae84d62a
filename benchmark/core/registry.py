"""One generic registry type, used for methods, models and data sets.

Duplicate names are an error, unknown names raise an error that lists the known ones,
and third-party packages add entries through an entry-point group (no fork needed).
Entries may also be lazy ``"module:attribute"`` strings, imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar

from benchmark.core.errors import UnknownNameError

T = TypeVar("T")


class DuplicateNameError(ValueError):
    """Two entries were registered under one name."""


class Registry(Generic[T]):
    """A name -> object table with decorator registration and entry-point discovery."""

    def __init__(
        self, kind: str, entry_point_group: str | None = None,
        check: Callable[[str, T], None] | None = None,
    ) -> None:
        """``check(name, obj)`` vets every entry once it is loaded (raise to refuse it)."""
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._check = check
        self._entries: dict[str, T | str] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | T | str:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator.

        ``obj`` may be a ``"module:attribute"`` string that is imported on first use.
        """
        if obj is not None:
            self._add(name, obj)
            return obj

        def decorator(target: T) -> T:
            self._add(name, target)
            return target

        return decorator

    def _add(self, name: str, obj: T | str) -> None:
        if not name or name != name.strip():
            raise ValueError(f"invalid {self.kind} name {name!r}")
        existing = self._entries.get(name)
        if existing is not None and existing is not obj and not _names(existing, obj):
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        if self._check is not None and not isinstance(obj, str):
            self._check(name, obj)
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """Return the entry for ``name``, importing a lazy entry if needed."""
        self._load_entry_points()
        if name not in self._entries:
            known = ", ".join(self.names()) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}")
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attribute = entry.partition(":")
            # Importing may register the object itself (a decorator in the module).
            entry = getattr(importlib.import_module(module_name), attribute)
            if self._check is not None:
                self._check(name, entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and plugins that register a throwaway entry clean up with it)."""
        if name not in self._entries:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; nothing to unregister")
        del self._entries[name]

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_entry_points(self) -> None:
        # Loaded lazily so start-up does not import third-party code until it is needed.
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            existing = self._entries.get(entry_point.name)
            # A plugin module may register itself on import *and* be named by its entry point.
            if existing is not None and not isinstance(existing, str):
                loaded = entry_point.load()
                if loaded is not existing:
                    raise DuplicateNameError(
                        f"{self.kind} {entry_point.name!r} from entry point "
                        f"{entry_point.value!r} clashes with a registered one"
                    )
                continue
            self._add(entry_point.name, entry_point.value)


def _names(lazy: object, obj: object) -> bool:
    """Whether ``lazy`` is the ``"module:attribute"`` string that names ``obj``.

    A plugin named by its entry point that also registers itself with a decorator on import
    registers one object twice, which is no clash.
    """
    if not isinstance(lazy, str) or isinstance(obj, str):
        return False
    module_name, _, attribute = lazy.partition(":")
    return getattr(obj, "__module__", None) == module_name and \
        getattr(obj, "__qualname__", None) == attribute
