"""Unlearning methods: one file each, registered in METHODS under the class's ``name``.

Method files import only :mod:`methods.api`, the plugin API a third-party method uses too.
"""

from methods.api import (
    METHODS,
    Access,
    ForgetSummary,
    MethodStyle,
    UnlearningMethod,
    UnlearnRequest,
)

BUILTIN_MODULES = ("bad_teacher", "boundary_shrink", "finetune", "fisher", "l1_sparse", "neggrad",
                   "random_label", "retrain", "salun", "scrub", "ssd", "unsir")


def import_builtins() -> None:
    """Import the built-in method modules so their ``@register_method`` decorators run."""
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(f"methods.{module}")


def get_method(name: str) -> type[UnlearningMethod]:
    import_builtins()
    return METHODS.get(name)


__all__ = ["METHODS", "Access", "ForgetSummary", "MethodStyle", "UnlearnRequest",
           "UnlearningMethod", "get_method", "import_builtins"]
