"""Small conversions shared by the metric functions (private to the package).

Metrics accept torch tensors on any device (what ``predict_logits`` returns) or anything
``torch.as_tensor`` understands (numpy arrays, nested lists), so tests and notebooks can
pass hand-made values. Probability maths runs in float64: the values are reduced to a
handful of scalars, so the cost is nil and the results do not depend on bf16/float32.
"""

from __future__ import annotations

from typing import Any

import torch

ArrayLike = Any  # torch.Tensor | numpy.ndarray | nested sequences


def as_logits(logits: ArrayLike) -> torch.Tensor:
    """A 2-D float64 tensor of shape (samples, classes), on the input's device."""
    tensor = torch.as_tensor(logits).detach().to(torch.float64)
    if tensor.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples, classes), got shape {tuple(tensor.shape)}")
    return tensor


def as_labels(labels: ArrayLike, device: torch.device, length: int) -> torch.Tensor:
    """A 1-D int64 label tensor on ``device`` whose length matches the logits."""
    tensor = torch.as_tensor(labels).detach().to(device=device, dtype=torch.int64).reshape(-1)
    if tensor.shape[0] != length:
        raise ValueError(f"{tensor.shape[0]} labels for {length} rows of logits")
    return tensor


def softmax_and_log(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and log-probabilities; ``-inf`` logits give exact zeros, not NaN."""
    log_p = torch.log_softmax(logits, dim=1)
    return log_p.exp(), log_p


def xlogy_rows(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Row sums of p * log q with the convention 0 * log(anything) = 0."""
    return torch.where(p > 0, p * log_q, torch.zeros_like(p)).sum(dim=1)
