"""Registry behaviour: registration, duplicates, unknown names, lazy entries, entry points."""

from __future__ import annotations

from importlib import metadata

import pytest

from benchmark.core.errors import UnknownNameError, UserError
from benchmark.core.registry import DuplicateNameError, Registry


def test_register_and_get_with_decorator() -> None:
    registry: Registry[type] = Registry("widget")

    @registry.register("a")
    class A:
        pass

    assert registry.get("a") is A
    assert "a" in registry
    assert registry.names() == ["a"]


def test_duplicate_name_fails() -> None:
    registry: Registry[object] = Registry("widget")
    registry.register("a", object())
    with pytest.raises(DuplicateNameError, match="already registered"):
        registry.register("a", object())


def test_unknown_name_lists_known_ones() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("alpha", 1)
    registry.register("beta", 2)
    with pytest.raises(UnknownNameError) as error:
        registry.get("gamma")
    assert isinstance(error.value, UserError)
    assert "unknown widget 'gamma'; known: alpha, beta" == str(error.value)


def test_lazy_module_attribute_entry() -> None:
    registry: Registry[object] = Registry("widget")
    registry.register("join", "os.path:join")
    import os.path

    assert registry.get("join") is os.path.join


def test_entry_point_group_adds_third_party_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = metadata.EntryPoint(name="plugin", value="os.path:basename", group="test.group")

    def fake_entry_points(group: str):
        return [entry] if group == "test.group" else []

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    registry: Registry[object] = Registry("widget", "test.group")
    import os.path

    assert registry.get("plugin") is os.path.basename
    assert registry.names() == ["plugin"]


def test_builtin_registries_hold_the_four_methods() -> None:
    from methods import METHODS, import_builtins

    import_builtins()
    assert {"unsir", "fisher", "retrain", "finetune"} <= set(METHODS.names())
    for name in METHODS.names():
        assert METHODS.get(name).name == name
