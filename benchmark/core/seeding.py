"""Every seed the suite derives from a run's seed goes through :func:`derive_seed`.

A run's seed fixes everything: model initialisation, data order, a method's noise. Each
consumer takes its own stream, ``seed * stride + salt``, so two consumers never share one
by accident. The strides are kept as they were when the first results were stored, so those
stay reproducible: methods use ``METHOD_STRIDE`` (a prime far above any salt), model
initialisation ``MODEL_INIT_STRIDE``, and the training loops of retrain and fine-tune
stride 1 (salts 1 and 2).
"""

from __future__ import annotations

import torch

from benchmark.core.errors import UserError

METHOD_STRIDE = 1_000_003
MODEL_INIT_STRIDE = 7919
MAX_SEED = 2**31 - 1  # numpy, CUDA and most reference code accept seeds up to this


def derive_seed(seed: int, salt: int = 0, stride: int = METHOD_STRIDE) -> int:
    """The seed of stream ``salt`` of run seed ``seed``: ``seed * stride + salt``."""
    return seed * stride + salt


def seeded_generator(seed: int, salt: int = 0, stride: int = METHOD_STRIDE) -> torch.Generator:
    """A CPU generator on stream ``salt`` (independent of the global RNG, same on any device)."""
    return torch.Generator().manual_seed(derive_seed(seed, salt, stride))


def check_seed(seed: object) -> int:
    """``seed`` as an int, or a one-line UserError when it is not a whole number in range."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"seed {seed!r} is not a whole number; use seeds like 0,1,2")
    if not 0 <= seed <= MAX_SEED:
        raise UserError(f"seed {seed} is out of range; use 0 to {MAX_SEED}")
    return seed
