"""Sums of squared per-sample gradients, layer by layer, from activations and output gradients.

For a sample n and an output cotangent v (one per class for the exact Fisher, one per
sample for the empirical or sampled one), the gradient of v . logits(x_n) with respect to
a layer's weight is a function of the layer's input on x_n and of the gradient arriving at
its output. So one forward pass captures every supported layer's input, and the output
gradients for all cotangents come from backward passes that compute no weight gradient at
all (autograd is asked only for gradients with respect to the layers' outputs). Then, per
layer, with A_n the (unfolded) input [K, L] and G_{c,n} the output gradient [O, L] (L
spatial positions or tokens, 1 for a Linear on vectors):

    sum_{c,n} (G_{c,n} A_n^T)^2          (elementwise square of an [O, K] matrix)

Two exact ways to evaluate it, chosen per layer by a flop count:

* ``direct``: materialise each per-sample gradient G_{c,n} A_n^T (a batched matmul),
  square and add. Costs C*N*O*K*L multiply-adds plus C*N*O*K elements written, squared
  and summed: memory-bound.
* ``gram``: expand the square, (sum_l g_l a_l)^2 = sum_{l,l'} g_l g_l' a_l a_l', and sum
  over the classes *before* the big product: S_n[o, (l,l')] = sum_c G_{c,n,o,l} G_{c,n,o,l'}
  (small), then one GEMM over (n, l, l') against A_n[k,l] A_n[k,l']. Costs N*O*K*L^2
  multiply-adds, independent of C: it wins where L is small (the deep layers of a CIFAR
  network, where most parameters live: ResNet-18's last stage has L=1 at 32x32 input, and
  there it is the exact factorisation (sum_c G^2)^T A^2).

Layers handled exactly, matched by exact type (a subclass may change ``forward``):
``nn.Linear`` (any leading dimensions), ``nn.Conv2d`` (stride, padding, dilation, groups,
zero padding mode), ``nn.BatchNorm1d/2d`` in eval mode with running statistics (per-sample
gradient of the scale: sum over positions of g * x_hat; of the shift: sum of g). A model
holding any other trainable parameter (a raw ``nn.Parameter`` such as a ViT's position
embedding, a LayerNorm, a custom module), a parameter shared by two layers, or a layer
called twice in one forward pass is not handled: ``unsupported_reason`` says why, and the
caller uses the torch.func path instead.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F

# Extra cost of the direct way per element of a materialised per-sample gradient (writing it,
# squaring it, summing it), in multiply-adds of a GEMM: about 32-38 in per-layer timings on
# one AMD EPYC core (the direct way is memory-bound, the gram way's GEMM is not).
DIRECT_MEMORY_COST = 32.0
# Largest materialised block (floats, 16 MiB) of per-sample gradients or of input pairs.
DIRECT_BLOCK = 4 * 2**20

_SUPPORTED = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)


class Unsupported(RuntimeError):
    """The model does something the layerwise path cannot account for exactly."""


def unsupported_reason(model: nn.Module) -> str | None:
    """Why the layerwise path cannot compute this model's squares exactly, or None if it can."""
    owners: dict[int, str] = {}
    for module_name, module in model.named_modules():
        trainable = [(n, p) for n, p in module.named_parameters(recurse=False) if p.requires_grad]
        if not trainable:
            continue
        where = module_name or type(model).__name__
        if type(module) not in _SUPPORTED:
            return f"{where} ({type(module).__name__}) holds a trainable parameter"
        for name, param in trainable:
            if name not in ("weight", "bias"):
                return f"{where}.{name} is not a weight or bias"
            if id(param) in owners:
                return f"{where}.{name} is shared with {owners[id(param)]}"
            owners[id(param)] = f"{where}.{name}"
        if isinstance(module, nn.Conv2d) and (
            module.padding_mode != "zeros" or isinstance(module.padding, str)
        ):
            return f"{where}: padding {module.padding!r} / mode {module.padding_mode!r}"
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d) and (
            module.running_mean is None or module.running_var is None
        ):
            return f"{where}: BatchNorm without running statistics uses batch statistics"
    return None


def layer_parameters(model: nn.Module) -> dict[nn.Module, dict[str, str]]:
    """Supported module -> {"weight"/"bias": its full parameter name}, trainable ones only."""
    layers: dict[nn.Module, dict[str, str]] = {}
    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        local = {n: prefix + n for n, p in module.named_parameters(recurse=False) if p.requires_grad}
        if local:
            layers[module] = local
    return layers


class Capture:
    """Forward hooks that keep each layer's input and hand on a copy of its output.

    The copy goes downstream, so in-place operations after the layer (``ReLU(inplace=True)``,
    ``out += identity``) touch the copy and the captured output stays the tensor whose
    gradient is asked for.
    """

    def __init__(self, layers: dict[nn.Module, dict[str, str]]) -> None:
        self.layers = layers
        self.inputs: dict[nn.Module, torch.Tensor] = {}
        self.outputs: dict[nn.Module, torch.Tensor] = {}
        self.handles = [m.register_forward_hook(self._hook) for m in layers]

    def _hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if module in self.outputs:
            raise Unsupported(f"{type(module).__name__} called twice in one forward pass")
        self.inputs[module] = args[0].detach()
        self.outputs[module] = output
        return output.clone()

    def clear(self) -> None:
        self.inputs.clear()
        self.outputs.clear()

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def output_gradients(
    logits: torch.Tensor, outputs: list[torch.Tensor], cotangents: torch.Tensor
) -> list[torch.Tensor | None]:
    """d(cotangents[c] . logits)/d output for every output: each [C, *output.shape].

    C backward passes through the one graph, each computing no weight gradient. (One pass
    vmapped over the cotangents, ``is_grads_batched=True``, was 10x slower on the CPU with
    torch 2.14; one pass over the batch repeated C times, 1.5-2x slower: its C forwards
    cost more than the C backwards save. docs/BENCHMARKS.md.)
    """
    per_class = [
        torch.autograd.grad(logits, outputs, cotangent, retain_graph=True, allow_unused=True)
        for cotangent in cotangents
    ]
    return [None if grads[0] is None else torch.stack(grads) for grads in zip(*per_class, strict=True)]


def fisher_cotangents(prob: torch.Tensor) -> torch.Tensor:
    """[C-1, N, C] rows r with sum_r r r^T = diag(p) - p p^T for each sample's p.

    The exact Fisher sums over classes the squared gradients for sqrt(p_c) (e_c - p), whose
    outer products sum to diag(p) - p p^T. That matrix has rank C-1 (the all-ones vector is
    in its null space: logits shifted by a constant give the same probabilities), so C-1
    eigenvectors scaled by the square roots of their eigenvalues give the same sum of
    squares with one backward pass fewer. The eigendecomposition runs in float64.
    """
    p = prob.double()
    values, vectors = torch.linalg.eigh(torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2))
    rows = vectors[..., 1:] * values[:, 1:].clamp(min=0).sqrt().unsqueeze(1)  # [N, C, C-1]
    return rows.permute(2, 0, 1).to(prob.dtype)


def weight_squares(g: torch.Tensor, a: torch.Tensor, groups: int = 1,
                   way: str = "auto") -> torch.Tensor:
    """sum_{c,n} (per-sample weight gradient)^2 as [O, K / groups].

    ``g``: output gradients [C, N, O, L]; ``a``: inputs [N, K, L], K ordered as the weight's
    flattened input dimensions (conv: ``F.unfold`` order, group-major).
    """
    classes, n, out, length = g.shape
    gram_cost, direct_cost = way_costs(classes, out, a.shape[1], groups, length)
    if way == "gram" or (way == "auto" and gram_cost <= direct_cost):
        return _gram_squares(g, a, groups)
    return _direct_squares(g, a, groups)


def way_costs(classes: int, out: int, k: int, groups: int, length: int) -> tuple[float, float]:
    """Multiply-adds a sample of the ``gram`` and the ``direct`` way for one layer (the direct
    way's memory traffic in its GEMM equivalent): ``classes`` cotangents, ``out`` outputs,
    ``k`` inputs a position (a conv's in_channels x kernel area), ``length`` positions."""
    kg = k // groups
    squared = length * length
    return (out * kg * squared + out * squared * classes + k * squared,
            classes * out * kg * (length + DIRECT_MEMORY_COST))


def squares_madds(layers: Iterable[tuple[int, int, int, int]], classes: int) -> float:
    """A sample's multiply-adds of the cheaper way, summed over layers given as (out, k,
    groups, length): what the estimate prices the squares at (benchmark/harness/calibration.py)."""
    return sum(min(way_costs(classes, *layer)) for layer in layers)


def _gram_squares(g: torch.Tensor, a: torch.Tensor, groups: int) -> torch.Tensor:
    """sum_n sum_{l,l'} (sum_c G_{c,n,o,l} G_{c,n,o,l'}) A_{n,k,l} A_{n,k,l'}: one GEMM over
    (n, l, l') a block of samples. All L^2 pairs, not the L(L+1)/2 of the symmetric half:
    gathering the half cost more than the GEMM saved (tests/bench/fisher_speed.py runs)."""
    classes, n, out, length = g.shape
    k = a.shape[1]
    og, kg = out // groups, k // groups
    squared = length * length
    total = g.new_zeros(groups, og, kg)
    step = max(1, DIRECT_BLOCK // max(k * squared, 1))
    for start in range(0, n, step):
        gb, ab = g[:, start:start + step], a[start:start + step]
        m = ab.shape[0]
        gram = torch.einsum("cnol,cnom->onlm", gb, gb).reshape(groups, og, m * squared)
        at = ab.transpose(0, 1)  # [K, m, L]
        pairs = (at.unsqueeze(-1) * at.unsqueeze(-2)).reshape(groups, kg, m * squared)
        total += torch.bmm(gram, pairs.transpose(1, 2))
    return total.reshape(out, kg)


def _direct_squares(g: torch.Tensor, a: torch.Tensor, groups: int) -> torch.Tensor:
    classes, n, out, length = g.shape
    k = a.shape[1]
    og, kg = out // groups, k // groups
    g = g.reshape(classes, n, groups, og, length)
    a = a.reshape(n, groups, kg, length)
    total = g.new_zeros(groups, og, kg)
    step = max(1, DIRECT_BLOCK // max(classes * out * kg, 1))
    for start in range(0, n, step):
        block = torch.einsum("cngol,ngkl->cngok", g[:, start:start + step], a[start:start + step])
        total += block.square_().sum((0, 1))
    return total.reshape(out, kg)


def layer_squares(module: nn.Module, x: torch.Tensor, g: torch.Tensor,
                  way: str = "auto") -> dict[str, torch.Tensor]:
    """{"weight": ..., "bias": ...}: the layer's sums of squared per-sample gradients.

    ``x``: the layer's input [N, ...]; ``g``: gradients at its output [C, N, ...].
    """
    classes, n = g.shape[:2]
    result: dict[str, torch.Tensor] = {}
    wants = {name for name, p in module.named_parameters(recurse=False) if p.requires_grad}
    if isinstance(module, nn.Linear):
        a = x.reshape(n, -1, x.shape[-1]).transpose(1, 2)  # [N, in, T]
        g = g.reshape(classes, n, -1, g.shape[-1]).transpose(2, 3)  # [C, N, out, T]
        if "weight" in wants:
            result["weight"] = weight_squares(g, a, 1, way)
    elif isinstance(module, nn.Conv2d):
        g = g.flatten(3)  # [C, N, O, L]
        if "weight" in wants:
            a = F.unfold(x, module.kernel_size, module.dilation, module.padding, module.stride)
            result["weight"] = weight_squares(g, a, module.groups, way).reshape(module.weight.shape)
    else:  # BatchNorm1d/2d, eval mode: y = weight * x_hat + bias
        g = g.reshape(classes, n, g.shape[2], -1)  # [C, N, O, L]
        if "weight" in wants:
            shape = (1, -1, 1)
            x_hat = (x.reshape(n, x.shape[1], -1) - module.running_mean.view(shape)) * torch.rsqrt(
                module.running_var.view(shape) + module.eps)
            result["weight"] = torch.einsum("cnol,nol->cno", g, x_hat).square().sum((0, 1))
    if "bias" in wants:
        result["bias"] = g.sum(-1).square().sum((0, 1))
    return result
