"""Unlearning methods: one file each, registered in METHODS by name."""

from methods.base import METHODS, Access, UnlearningMethod, UnlearnRequest


def import_builtins() -> None:
    """Import the built-in method modules so their @METHODS.register decorators run."""
    from methods import finetune, fisher, retrain, unsir  # noqa: F401


def get_method(name: str) -> type[UnlearningMethod]:
    import_builtins()
    return METHODS.get(name)


__all__ = ["METHODS", "Access", "UnlearnRequest", "UnlearningMethod", "get_method", "import_builtins"]
