"""One timed ``unlearn`` call, the same for the gold retrain and for every method
(:func:`unlearn_in`: within a group, its request built there).

The starting model is copied before the timer, the warm-up runs before it (see
benchmark.harness.timing), the timer covers the call alone, and the result is checked:
an exception or non-finite weights make a failed outcome with the reason, so the harness
stores a failure row and the grid goes on instead of crashing (and crashing again on every
resume at the same cell).
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass, field

import torch
from torch import nn

from benchmark.core.artifacts import StorageError
from benchmark.core.epoch_checkpoint import EpochCheckpoint
from benchmark.harness.grid import GroupContext
from benchmark.harness.requests import request_in
from benchmark.harness.timing import warm_up
from datasets.forget_sets import ForgetSet
from methods.api import UnlearningMethod, UnlearnRequest


@dataclass
class Outcome:
    """A method's model and time, or the reason it failed."""

    model: nn.Module | None
    seconds: float | None
    error: str | None = None
    samples_seen: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None


def timed_unlearn(method: UnlearningMethod, original: nn.Module, request: UnlearnRequest,
                  seed: int) -> Outcome:
    """Copy ``original``, warm up, then time ``method.unlearn`` on the copy alone."""
    engine = request.engine
    model = copy.deepcopy(original)
    warm_up(original, engine, request.normalizer, request.image_shape, request.num_classes)
    torch.manual_seed(seed)  # methods that draw from the global RNG get the same draws
    try:
        with engine.timer() as timing:
            model = method.unlearn(model, request)
    except (KeyboardInterrupt, StorageError):
        raise
    except Exception as error:  # a method's bug or divergence must not stop the grid
        last = traceback.extract_tb(error.__traceback__)[-1]
        where = f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})" if last else ""
        return Outcome(None, None, f"{type(error).__name__}: {error}{where}",
                       dict(request.samples_seen))
    seconds = timing["seconds"]
    problem = non_finite(model)
    if problem:
        return Outcome(None, seconds, f"diverged: {problem}", dict(request.samples_seen))
    return Outcome(model.eval(), seconds, None, dict(request.samples_seen))


def unlearn_in(ctx: GroupContext, method: UnlearningMethod, forget: ForgetSet,
               start: nn.Module, checkpoint: EpochCheckpoint | None = None) -> Outcome:
    """``method`` on a copy of ``start`` for ``forget`` within one group's work: the request
    holds only the data the method declared, and the group's seed seeds the call.
    ``checkpoint``: where a long training of the method may resume (the gold retrain's)."""
    request = request_in(ctx, method, forget)
    request.checkpoint = checkpoint
    return timed_unlearn(method, start, request, ctx.group.seed)


def non_finite(model: nn.Module) -> str | None:
    """Which weights or buffers hold NaN or infinity, or None when all are finite."""
    bad = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()]
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if not bad:
        return None
    shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    return f"non-finite values in {shown}"
