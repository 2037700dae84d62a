"""``python -m benchmark list``: everything registered, so users see what they can ask for."""

from __future__ import annotations

from rich.table import Table

from benchmark.cli.fit import print_table
from benchmark.harness.settings import preset_names
from benchmark.models import MODELS
from datasets import DATASETS
from datasets import import_builtins as import_datasets
from methods import METHODS
from methods import import_builtins as import_methods


def command_list() -> int:
    import_methods()
    import_datasets()
    methods = Table(title="methods")
    for column in ("name", "data access", "zero-glance", "scenarios", "needs to work", "paper"):
        methods.add_column(column)
    for name in METHODS.names():
        cls = METHODS.get(name)
        methods.add_row(name, ", ".join(sorted(a.value for a in cls.needs)),
                        "yes" if cls.zero_glance() else "",
                        ", ".join(sorted(s.value for s in cls.scenarios)), cls.requires, cls.paper)
    console = print_table(methods)
    console.print("models: " + ", ".join(MODELS.names()) + ", timm:<any timm model name>")
    console.print("data sets: " + ", ".join(DATASETS.names()))
    console.print("presets: " + ", ".join(preset_names()))
    return 0
