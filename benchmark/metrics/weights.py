"""Layer-wise distance between the weights of two models of the same architecture.

The harness stores unlearned-vs-original and retrained-vs-original distances; the UNSIR
paper (Fig. 4) plots both per layer on a log scale to show that UNSIR moves the weights far
less than retraining does. Only parameters count (not buffers such as BatchNorm running
statistics): they are what the optimiser changes and what the paper plots.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def layer_distances(model: nn.Module, reference: nn.Module) -> dict[str, float]:
    """L2 (Frobenius) norm of ``model - reference`` for each parameter tensor, by name.

    Keys are ``model.named_parameters()`` names in module order (e.g. ``"conv1.weight"``).
    Raises ValueError when the two models' parameter names or shapes differ.
    """
    params = dict(model.named_parameters())
    ref_params = dict(reference.named_parameters())
    if params.keys() != ref_params.keys():
        only_model = sorted(params.keys() - ref_params.keys())
        only_ref = sorted(ref_params.keys() - params.keys())
        raise ValueError(
            f"models have different parameters (only in model: {only_model[:5]}, "
            f"only in reference: {only_ref[:5]}); compare models of the same architecture"
        )
    distances: dict[str, float] = {}
    with torch.no_grad():
        for name, value in params.items():
            ref = ref_params[name]
            if value.shape != ref.shape:
                raise ValueError(
                    f"parameter {name!r} has shape {tuple(value.shape)} in the model but "
                    f"{tuple(ref.shape)} in the reference"
                )
            # float64 so tiny per-layer changes (UNSIR's are small) are not lost to rounding.
            diff = value.detach().double() - ref.detach().to(value.device).double()
            distances[name] = float(torch.linalg.vector_norm(diff))
    return distances


def weight_distance_summary(model: nn.Module, reference: nn.Module) -> dict[str, float]:
    """Whole-model L2 distance, raw and relative to the reference's weight norm.

    Returns ``{"weight_distance_total": ||w - w_ref||_2 over all parameters,
    "weight_distance_normalised": that / ||w_ref||_2}`` (NaN when the reference is all zero).
    """
    per_layer = layer_distances(model, reference)
    total = math.sqrt(sum(d * d for d in per_layer.values()))
    with torch.no_grad():
        ref_norm = math.sqrt(
            sum(float(p.detach().double().square().sum()) for p in reference.parameters())
        )
    return {
        "weight_distance_total": total,
        "weight_distance_normalised": total / ref_norm if ref_norm > 0 else float("nan"),
    }
