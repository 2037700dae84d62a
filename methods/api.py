"""The plugin API: everything an unlearning method imports, ours or a third party's.

A method file imports from here and nowhere else in the suite, so the suite's internals can
move without breaking plugins. A minimal method::

    from dataclasses import dataclass
    from methods.api import Access, MethodStyle, UnlearningMethod, register_method

    @dataclass(frozen=True)
    class MyConfig:
        lr: float = 0.01

    @register_method
    class MyMethod(UnlearningMethod):
        name = "mymethod"
        needs = frozenset({Access.RETAIN_SUBSET})
        Config = MyConfig
        style = MethodStyle(label="Mine", colour="#8c564b", marker="P")

        def unlearn(self, model, request):
            data = request.retain_subset(per_class=100)
            ...
            return model

Third-party packages expose the class through the ``unlearning_bench.methods`` entry-point
group (``mymethod = "my_package.module:MyMethod"``); the entry point's name must equal the
class's ``name``.

What is here: the interface (``UnlearningMethod``, ``UnlearnRequest``, ``Access``,
``MethodStyle``, ``register_method``, ``METHODS``, ``Scenario``: what a method declares in
``scenarios``, ``ForgetSummary``: what ``applicability`` is told about a forget set), the
shared fast trainer (``train_epoch``, ``train_with_recipe``, ``make_optimizer``,
``predict_logits``), batches on the device (``LabelledImages``, ``TiledImages``, ``Normalizer``, ``Augment``,
``balanced_subset``, ``class_mask``), ``Engine`` (device, precision), seeded generators, ``progress`` (report steps of long
work: the harness shows them with an ETA),
hyperparameter ranges (``setting``), search spaces for the tuner (``Float``, ``LogFloat``,
``Int``, ``Choice``, each with its ``source``) and ``classifier_head`` (the logit layer of any
registered model).
"""

from benchmark.core.config import added_later, setting
from benchmark.core.engine import Engine
from benchmark.core.errors import DataAccessError
from benchmark.core.progress import progress
from benchmark.core.scenarios import ALL_SCENARIOS, Scenario
from benchmark.core.search_space import Choice, Float, Int, LogFloat, Param
from benchmark.core.seeding import derive_seed, seeded_generator
from benchmark.core.tensors import (
    Augment,
    LabelledImages,
    Normalizer,
    TiledImages,
    balanced_subset,
    class_mask,
)
from benchmark.core.training import (
    TrainRecipe,
    make_optimizer,
    mean_loss,
    predict_logits,
    train_epoch,
    train_with_recipe,
)
from benchmark.models import classifier_head
from methods.interface import (
    METHODS,
    Access,
    ForgetSummary,
    MethodStyle,
    SubsetProvider,
    UnlearningMethod,
    UnlearnRequest,
    register_method,
)

__all__ = [
    "ALL_SCENARIOS", "METHODS", "Access", "Scenario", "Augment", "Choice", "DataAccessError",
    "Engine", "Float", "ForgetSummary", "Int", "LabelledImages", "LogFloat", "MethodStyle",
    "Normalizer", "Param",
    "SubsetProvider", "TiledImages", "TrainRecipe",
    "UnlearnRequest", "UnlearningMethod", "balanced_subset", "class_mask", "classifier_head",
    "derive_seed", "make_optimizer", "mean_loss", "predict_logits", "progress", "register_method",
    "seeded_generator", "setting", "added_later", "train_epoch", "train_with_recipe",
]
