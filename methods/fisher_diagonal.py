"""Diagonal of the Fisher information of a classifier over a data set, batched with torch.func.

    F = (1/N) sum_n sum_c p_c(x_n) * (d log p_c(x_n) / d theta)^2

the expectation over the model's own predictive distribution (the "true" Fisher, not the
empirical one that uses the labels), averaged over the N samples. This is exactly what the
Fisher-forgetting reference code computes (``hessian`` in the SSD repository and in
Golatkar's notebook: a batch-size-1 DataLoader, ``grad2_acc += prob[:, y] * grad**2`` for
every class y, then ``grad2_acc /= len(train_loader)``), but batched, by one of two
backends that give the same values (tests/test_fisher_layerwise.py):

* ``layerwise`` (the CPU default; methods/per_sample_squares.py): one forward pass a chunk
  of samples with hooks that keep each layer's input, then backward passes that ask only
  for the gradients at the layers' outputs (no weight gradients), one per cotangent; each
  layer's sum of squared per-sample gradients then follows from its input and output
  gradients (Linear: an exact factorisation; Conv2d through unfold, per layer either the
  per-sample gradients themselves or a Gram expansion over spatial positions that sums the
  classes first; BatchNorm in eval mode from x_hat). For the exact Fisher the C cotangents
  sqrt(p_c)(e_c - p) are replaced by the C-1 scaled eigenvectors of their sum of outer
  products diag(p) - pp^T (same sum of squares, one backward pass fewer). It covers models
  whose trainable parameters all sit in Linear, Conv2d and BatchNorm1d/2d layers, each
  called once a forward pass (the suite's ResNets, AllCNN, MobileNetV2, SmallCNN); for
  any other model "auto" uses the torch.func backend. About 5-17x faster than torch.func
  on 2 CPU cores (docs/BENCHMARKS.md, "Exact Fisher and SSD importances on the CPU").
* ``func`` (the default on CUDA, where the layerwise path has not been measured yet):
  one forward pass per sample, vmapped over a chunk of ``batch_size`` samples
  (``torch.func.vjp`` inside ``torch.func.vmap``), then C vector-Jacobian products through
  that single graph, one per class. Since d log p_c / d logits = e_c - p, the cotangent for
  class c is sqrt(p_c) (e_c - p): its squared gradient already carries the weight p_c, and
  the softmax never has to be differentiated again. On a small CNN on the CPU this was
  3x faster than C separate ``vmap(grad(loss_c))`` passes (each redoes the forward pass).
  Only one chunk of per-sample gradients exists at a time; squares are summed over the
  chunk straight away into one float32 buffer per parameter.

The model runs in eval mode (BatchNorm uses its running statistics, as the reference's
``model.eval()``; buffers are passed as they are and never updated) and in float32 without
autocast. TF32 stays as the Engine set it (on by default for cuDNN convolutions in PyTorch,
so the reference ran with it too on Ampere or newer GPUs). A float64 model is computed in
float64 (the tests' exact reference).

``approximation="empirical"`` gives the *empirical* Fisher instead,
(1/N) sum_n (d log p_{y_n}(x_n) / d theta)^2 with the given labels y_n: the squared
per-sample gradient of the cross-entropy on the label, which is what selective synaptic
dampening (methods/ssd.py) uses as a parameter importance.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, vjp, vmap

from methods.api import LabelledImages, Normalizer, progress
from methods.per_sample_squares import (
    Capture,
    Unsupported,
    fisher_cotangents,
    layer_parameters,
    layer_squares,
    output_gradients,
    unsupported_reason,
)

Approximation = Literal["exact", "sampled"]
# What fisher_diagonal accepts: the Fisher approximations, or the empirical Fisher.
Estimator = Literal["exact", "sampled", "empirical"]
# How the squares are computed (same values): see fisher_diagonal.
Backend = Literal["auto", "layerwise", "func"]
BACKENDS: tuple[str, ...] = ("auto", "layerwise", "func")
# Samples a chunk of the layerwise path (0 = auto); set by tests/bench/fisher_speed.py.
LAYERWISE_CHUNK = 32
# Exact Fisher, layerwise path: C-1 cotangents from diag(p) - pp^T (per_sample_squares.
# fisher_cotangents) instead of the C rows sqrt(p_c)(e_c - p); same sum, one backward fewer.
REDUCED_COTANGENTS = True


def auto_chunk_size(model: nn.Module, device: torch.device, most: int = 512) -> int:
    """How many samples' per-sample gradients to hold at once within a memory budget.

    About three parameter-sized float32 tensors live per sample in a chunk (the pullback's
    gradients, their squares and the running sum). Budget: half the free GPU memory, or
    4 GiB on the CPU. ResNet-18 (11M parameters) gets ~32 samples on the CPU, hundreds on
    an 80 GB GPU; small models get ``most``.
    """
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if device.type == "cuda":
        budget = torch.cuda.mem_get_info(device)[0] // 2
    else:
        budget = 4 * 2**30
    return int(max(1, min(most, budget // max(params * 4 * 3, 1))))


def fisher_diagonal(
    model: nn.Module,
    data: LabelledImages,
    normalizer: Normalizer,
    device: torch.device | str,
    batch_size: int = 0,
    approximation: Estimator = "exact",
    generator: torch.Generator | None = None,
    backend: Backend = "auto",
) -> dict[str, torch.Tensor]:
    """Fisher diagonal of ``model`` over ``data``: parameter name -> tensor of its shape.

    Covers the parameters that require grad (frozen ones are held constant, like buffers).
    ``approximation="sampled"`` replaces the sum over classes by one label per sample drawn
    from the model's predictive distribution: an unbiased estimate at the cost of one
    backward pass instead of C. Its draws come from ``generator`` (a CPU generator, so a
    seed gives the same labels on any device and with either backend; None: the global RNG).
    The labels in ``data`` are used only by ``approximation="empirical"`` (the empirical
    Fisher, one backward pass per sample on its own label); the other two are expectations
    over the model's own predictions. The model's parameters, buffers and train/eval mode
    are left as they were.

    ``backend``: "layerwise" (methods/per_sample_squares.py: squares from each layer's
    input and output gradients; raises ValueError for a model it cannot handle exactly),
    "func" (torch.func: vmap over samples of C vector-Jacobian products) or "auto": the
    layerwise path on the CPU where it applies, else torch.func (always torch.func on CUDA,
    where the layerwise path has not been measured yet). Both give the same values.
    """
    if batch_size < 0:
        raise ValueError("batch_size must be >= 0 (0 = auto)")
    if approximation not in ("exact", "sampled", "empirical"):
        raise ValueError(f"unknown approximation {approximation!r}; "
                         "use 'exact', 'sampled' or 'empirical'")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    device = torch.device(device)
    if backend == "layerwise" or (backend == "auto" and device.type != "cuda"):
        reason = unsupported_reason(model)
        if reason is None:
            generator_state = generator.get_state() if generator is not None else None
            try:
                return _layerwise_fisher(model, data, normalizer, device,
                                         batch_size or LAYERWISE_CHUNK, approximation, generator)
            except Unsupported as error:
                reason = str(error)
                if generator is not None:  # the fallback draws the same labels again
                    generator.set_state(generator_state)
        if backend == "layerwise":
            raise ValueError(f"the layerwise Fisher cannot handle this model exactly: {reason}; "
                             "use backend='func'")
    return _func_fisher(model, data, normalizer, device, batch_size or auto_chunk_size(model, device),
                        approximation, generator)


def _input_dtype(model: nn.Module) -> torch.dtype:
    """float32, or float64 for a model in double precision (the tests' exact reference)."""
    return torch.float64 if any(p.dtype == torch.float64 for p in model.parameters()) else torch.float32


def _sum_dtype(param: torch.Tensor) -> torch.dtype:
    return torch.promote_types(param.dtype, torch.float32)


def _cotangents(logits: torch.Tensor, approximation: Estimator, y: torch.Tensor,
                u: torch.Tensor) -> torch.Tensor:
    """[C', N, classes]: d log p / d logits for each class (exact, weighted by sqrt(p_c)) or
    for one label a sample (empirical: its own; sampled: drawn by inverse CDF from ``u``)."""
    prob = logits.detach().to(torch.promote_types(logits.dtype, torch.float32)).softmax(-1)
    classes = prob.shape[-1]
    one_hot = torch.eye(classes, device=prob.device, dtype=prob.dtype)
    if approximation == "exact":  # [c, n]: sqrt(p_nc) (e_c - p_n)
        return prob.sqrt().T.unsqueeze(-1) * (one_hot.unsqueeze(1) - prob.unsqueeze(0))
    if approximation == "empirical":
        label = y
    else:
        label = (prob.cumsum(-1) < u.unsqueeze(-1)).sum(-1).clamp(max=classes - 1)
    return (one_hot[label] - prob).unsqueeze(0)


def _uniforms(count: int, approximation: Estimator, generator: torch.Generator | None,
              device: torch.device) -> torch.Tensor:
    if approximation == "sampled":  # CPU draws, chunk by chunk (the same stream for any chunk size)
        return torch.rand(count, generator=generator).to(device)
    return torch.zeros(count, device=device)  # unused: the exact and empirical paths draw nothing


def _layerwise_fisher(
    model: nn.Module, data: LabelledImages, normalizer: Normalizer, device: torch.device,
    batch_size: int, approximation: Estimator, generator: torch.Generator | None,
) -> dict[str, torch.Tensor]:
    layers = layer_parameters(model)
    params = dict(model.named_parameters())
    dtype = _input_dtype(model)
    sums = {full: torch.zeros_like(params[full], dtype=_sum_dtype(params[full]))
            for names in layers.values() for full in names.values()}
    was_training = model.training
    model.eval()
    capture = Capture(layers)
    try:
        for start in range(0, len(data), batch_size):
            x = normalizer(data.x[start : start + batch_size].to(device)).to(dtype)
            u = _uniforms(x.shape[0], approximation, generator, device)
            y = data.y[start : start + batch_size].to(device)
            capture.clear()
            with torch.enable_grad():
                logits = model(x)
                modules = list(capture.outputs)
                if approximation == "exact" and REDUCED_COTANGENTS and logits.shape[-1] > 1:
                    prob = logits.detach().to(torch.promote_types(logits.dtype, torch.float32))
                    cotangents = fisher_cotangents(prob.softmax(-1))
                else:
                    cotangents = _cotangents(logits, approximation, y, u)
                grads = output_gradients(logits, [capture.outputs[m] for m in modules],
                                         cotangents.to(logits.dtype))
            del logits
            capture.outputs.clear()  # frees the graph
            with torch.no_grad():
                for module, grad in zip(modules, grads, strict=True):
                    if grad is None:  # this layer does not reach the logits
                        continue
                    squares = layer_squares(module, capture.inputs[module], grad)
                    for key, value in squares.items():
                        sums[layers[module][key]] += value
            progress(min(start + batch_size, len(data)), len(data), "samples")
    finally:
        capture.remove()
        capture.clear()
        model.train(was_training)
    count = max(len(data), 1)
    return {name: total / count for name, total in sums.items()}


def _func_fisher(
    model: nn.Module, data: LabelledImages, normalizer: Normalizer, device: torch.device,
    batch_size: int, approximation: Estimator, generator: torch.Generator | None,
) -> dict[str, torch.Tensor]:
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    constants = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    constants.update({n: b.detach() for n, b in model.named_buffers()})
    sums = {n: torch.zeros_like(p, dtype=_sum_dtype(p)) for n, p in params.items()}
    dtype = _input_dtype(model)

    def per_sample(theta: dict[str, torch.Tensor], x: torch.Tensor, u: torch.Tensor,
                   y: torch.Tensor):
        """Squared gradients of one sample: weighted by p_c and summed over classes (exact),
        for one drawn label (sampled) or for its own label ``y`` (empirical)."""

        def logits_of(weights: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(model, (weights, constants), (x.unsqueeze(0),))

        logits, pullback = vjp(logits_of, theta)
        cotangents = _cotangents(logits, approximation, y.unsqueeze(0), u.unsqueeze(0))
        total = {n: torch.zeros_like(t, dtype=_sum_dtype(t)) for n, t in theta.items()}
        for cotangent in cotangents:  # one pullback per class through the one forward graph
            (grads,) = pullback(cotangent.to(logits.dtype))
            total = {n: total[n] + grads[n].to(total[n].dtype).square() for n in total}
        return total

    batched = vmap(per_sample, in_dims=(None, 0, 0, 0))
    was_training = model.training
    model.eval()
    # timm attention calls fused scaled_dot_product_attention, for which torch.func has no
    # batching rule: vmap falls back to a per-sample loop. The plain matmul-softmax path gives
    # the same numbers (checked to 1e-6 on a ViT) and vmaps, so switch to it meanwhile.
    fused = [m for m in model.modules() if getattr(m, "fused_attn", False) is True]
    for module in fused:
        module.fused_attn = False
    try:
        for start in range(0, len(data), batch_size):
            x = normalizer(data.x[start : start + batch_size].to(device)).to(dtype)
            u = _uniforms(x.shape[0], approximation, generator, device)
            y = data.y[start : start + batch_size].to(device)
            for name, squares in batched(params, x, u, y).items():
                sums[name] += squares.sum(0)
            progress(min(start + batch_size, len(data)), len(data), "samples")
    finally:
        model.train(was_training)
        for module in fused:
            module.fused_attn = True
    count = max(len(data), 1)
    return {name: total / count for name, total in sums.items()}
