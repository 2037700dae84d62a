"""Builds the UnlearnRequest a method gets, holding only the data the method declared."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from benchmark.core.engine import Engine
from benchmark.core.errors import UserError
from benchmark.core.tensors import LabelledImages, Normalizer, balanced_subset
from benchmark.core.training import TrainRecipe
from benchmark.harness.grid import GroupContext
from datasets.base import ImageDataset
from datasets.forget_sets import ForgetSet
from methods.api import Access, UnlearningMethod, UnlearnRequest


def build_request(
    method: type[UnlearningMethod] | UnlearningMethod,
    data: ImageDataset,
    forget: ForgetSet | tuple[int, ...],
    seed: int,
    engine: Engine,
    recipe: TrainRecipe,
    new_model: Callable[[], nn.Module],
    normalizer: Normalizer | None = None,
) -> UnlearnRequest:
    """A request for ``method`` on the train split of ``data``.

    The forget samples are split off here and handed over only when the method declares
    Access.FORGET: a zero-glance method's request holds no reference to them at all.
    ``forget`` is a ForgetSet (any scenario) or a tuple of class ids.
    """
    if not isinstance(forget, ForgetSet):
        forget = ForgetSet.of_classes(tuple(forget))
    train_mask, test_mask = forget.masks(data)
    forgotten, retain = _split(data.train_x, data.train_y, train_mask)
    monitor = None
    if recipe.schedule == "plateau" and recipe.plateau_monitor == "test":
        monitor = _split(data.test_x, data.test_y, test_mask)[1]
    if len(retain) == 0:
        raise UserError("no retained training samples: the retain set is empty")
    needs = frozenset(method.needs)
    subset: Callable[[int, bool, int], LabelledImages] | None = None
    if Access.RETAIN_SUBSET in needs:
        def subset(per_class: int, first_in_order: bool, subset_seed: int) -> LabelledImages:
            return balanced_subset(retain, per_class, first_in_order, subset_seed)
    return UnlearnRequest(
        forget_classes=forget.forget_classes,
        scenario=forget.scenario,
        num_classes=data.num_classes,
        image_shape=tuple(data.train_x.shape[1:]),
        seed=seed,
        engine=engine,
        normalizer=normalizer or Normalizer(data.mean, data.std, engine.device),
        original_recipe=recipe,
        new_model=new_model,
        granted=needs,
        _retain=retain if Access.RETAIN in needs else None,
        _retain_subset=subset,
        _forget=forgotten if Access.FORGET in needs else None,
        schedule_monitor=monitor,
    )


def _split(x, y, mask) -> tuple[LabelledImages, LabelledImages]:
    """(forgotten, kept) rows of one split; each holds only its own rows (copies)."""
    return LabelledImages(x[mask], y[mask]), LabelledImages(x[~mask], y[~mask])


def request_in(ctx: GroupContext, method: UnlearningMethod, forget: ForgetSet) -> UnlearnRequest:
    """The request of ``method`` for ``forget`` within one group's work (its data, seed,
    engine, recipe, model factory and normalizer)."""
    group = ctx.group
    return build_request(method, group.data, forget, group.seed, ctx.engine, ctx.recipe,
                         ctx.factory, ctx.normalizer)
