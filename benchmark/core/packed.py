"""N models of one architecture as one model: the members' layers side by side in the channels.

A packed model holds, layer by layer, the layers of N members of one architecture: a
convolution of C_in -> C_out channels with g groups becomes one of N*C_in -> N*C_out with
N*g groups (member n's channels are block n), a batch norm of C channels one of N*C (batch
norm is per channel, so each member keeps its own batch statistics and running
statistics), a linear layer a batched matrix product (``PackedLinear``). Layers without
parameters (ReLU, pooling, flatten, residual additions in ``forward``) act per channel and
are kept as they are. Its input is the members' batches side by side in the channels
([batch, N*C, H, W]: :func:`pack_inputs`), its output the members' outputs side by side
([batch, N*classes]: :func:`unpack_outputs`). In exact arithmetic member n of a packed model
computes what member n alone computes; in floating point the grouped kernels round
differently (tests/test_pool_training.py states by how much).

Why not ``torch.func.vmap`` over ``stack_module_state``: on the default preset's small CNN
on 2 loaded CPU cores, one vmapped training step of 8-32 members cost as much as the
members' steps one after the other (1.04x; its batching rules move the member dimension
between layers with copies and split batch norm into several kernels), the packed step
1.39-1.49x less (one thread, interleaved blocks of 10 steps); whole trainings:
tests/bench/pool_training_speed.py and docs/BENCHMARKS.md. A packed model is an ordinary
``nn.Module``: channels_last, autocast and torch's older versions apply alike.

Not every model packs: :func:`pack` refuses layers it cannot pack (layer norm, embeddings,
parameters outside layers), dropout (its random draws would differ from the members'
own), and :func:`check_packed` runs a forward pass and refuses a model whose ``forward``
mixes the members (a softmax or concatenation over channels, a reshape of channels).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
CHECK_BATCH = 4  # images a member in the forward check (batch norm needs more than one)
CHECK_TOLERANCE = 1e-3  # relative to the outputs' scale; a mixing forward is off by ~1


class Unstackable(Exception):
    """Why models cannot be trained stacked (one line, shown to the user)."""


class PackedLinear(nn.Module):
    """N linear layers: weight [N, out, in], bias [N, out]; input [..., N*in] -> [..., N*out]."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias) if bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members, out_features, in_features = self.weight.shape
        *lead, _ = x.shape
        rows = x.reshape(-1, members, in_features).transpose(0, 1)  # [N, rows, in]
        if self.bias is None:
            out = torch.bmm(rows, self.weight.transpose(1, 2))
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), rows, self.weight.transpose(1, 2))
        return out.transpose(0, 1).reshape(*lead, members * out_features)


def pack(models: list[nn.Module]) -> nn.Module:
    """One packed model of ``models`` (same architecture and shapes); raises Unstackable."""
    if not models:
        raise ValueError("nothing to pack")
    first = models[0]
    shapes = {k: tuple(v.shape) for k, v in first.state_dict().items()}
    for other in models[1:]:
        if type(other) is not type(first) or \
                {k: tuple(v.shape) for k, v in other.state_dict().items()} != shapes:
            raise Unstackable("the members differ in architecture")
    _refuse_random(first)
    packed = copy.deepcopy(first)
    theirs = [dict(m.named_modules()) for m in models]
    for name, module in first.named_modules():
        if not _owns_tensors(module):
            continue
        layers = [modules[name] for modules in theirs]
        _replace(packed, name, _pack_layer(layers))
    return packed


def unpack(packed: nn.Module, models: list[nn.Module]) -> None:
    """Copy each member's parameters and buffers back from ``packed`` into ``models``."""
    mine = dict(packed.named_modules())
    theirs = [dict(model.named_modules()) for model in models]
    n = len(models)
    with torch.no_grad():
        for name, module in models[0].named_modules():
            if not _owns_tensors(module):
                continue
            source = mine[name]
            for index, layers in enumerate(theirs):
                target = layers[name]
                for key, tensor in [*target.named_parameters(recurse=False),
                                    *target.named_buffers(recurse=False)]:
                    value = getattr(source, key)
                    if key == "num_batches_tracked":
                        tensor.copy_(value)
                    elif isinstance(source, PackedLinear):
                        tensor.copy_(value[index])
                    else:
                        tensor.copy_(value.chunk(n, dim=0)[index])


def pack_inputs(x: torch.Tensor) -> torch.Tensor:
    """The members' batches [N, batch, C, ...] side by side in the channels: [batch, N*C, ...]."""
    n, batch, channels, *rest = x.shape
    return x.transpose(0, 1).reshape(batch, n * channels, *rest)


def unpack_outputs(out: torch.Tensor, n: int) -> torch.Tensor:
    """Packed outputs [batch, N*classes] -> [N, batch, classes]."""
    return out.reshape(out.shape[0], n, -1).transpose(0, 1)


def check_packed(models: list[nn.Module], image_shape: tuple[int, ...],
                 device: torch.device) -> None:
    """Raise Unstackable unless a packed forward pass (train mode, on copies) gives each
    member's own outputs: catches a ``forward`` that mixes channels across members."""
    members = [copy.deepcopy(m).train() for m in models]
    try:
        packed = pack(copy.deepcopy(members)).train()
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(len(members), CHECK_BATCH, *image_shape, generator=generator).to(device)
        with torch.no_grad():
            expected = torch.stack([m(x[i]) for i, m in enumerate(members)]).float()
            got = unpack_outputs(packed(pack_inputs(x)), len(members)).float()
    except Unstackable:
        raise
    except Exception as error:  # a forward that cannot run packed: say why, train one by one
        raise Unstackable(f"its forward pass fails when packed ({type(error).__name__}: "
                          f"{str(error).splitlines()[0][:120]})") from None
    scale = float(expected.abs().max()) or 1.0
    if got.shape != expected.shape or float((got - expected).abs().max()) > CHECK_TOLERANCE * scale:
        raise Unstackable("its forward pass mixes the members' channels (packed outputs differ)")


def _owns_tensors(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or \
        any(True for _ in module.buffers(recurse=False))


def _refuse_random(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            raise Unstackable(f"it draws random numbers in its forward pass "
                              f"({type(module).__name__})")


def _pack_layer(layers: list[nn.Module]) -> nn.Module:
    first, n = layers[0], len(layers)
    cat = lambda attr: torch.cat([getattr(m, attr).detach() for m in layers])  # noqa: E731
    if type(first) in CONVS:
        conv: _ConvNd = first
        packed = type(conv)(conv.in_channels * n, conv.out_channels * n, conv.kernel_size,
                            stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                            groups=conv.groups * n, bias=conv.bias is not None,
                            padding_mode=conv.padding_mode, device=conv.weight.device,
                            dtype=conv.weight.dtype)
        names = ["weight"] + (["bias"] if conv.bias is not None else [])
    elif isinstance(first, _BatchNorm) and type(first) in (nn.BatchNorm1d, nn.BatchNorm2d,
                                                              nn.BatchNorm3d):
        norm: _BatchNorm = first
        tracked = {int(m.num_batches_tracked) for m in layers} if norm.track_running_stats \
            else set()
        if len(tracked) > 1:
            raise Unstackable("the members' batch norms have seen different numbers of batches")
        like = norm.weight if norm.affine else norm.running_mean
        packed = type(norm)(norm.num_features * n, eps=norm.eps, momentum=norm.momentum,
                            affine=norm.affine, track_running_stats=norm.track_running_stats,
                            device=like.device, dtype=like.dtype)
        names = (["weight", "bias"] if norm.affine else []) + \
            (["running_mean", "running_var"] if norm.track_running_stats else [])
        if norm.track_running_stats:
            packed.num_batches_tracked.fill_(tracked.pop())
    elif type(first) is nn.Linear:
        weight = torch.stack([m.weight.detach() for m in layers])
        bias = torch.stack([m.bias.detach() for m in layers]) if first.bias is not None else None
        return PackedLinear(weight.clone(), None if bias is None else bias.clone())
    else:
        raise Unstackable(f"its {type(first).__name__} layers cannot be stacked")
    with torch.no_grad():
        for name in names:
            getattr(packed, name).copy_(cat(name))
    return packed


def _replace(model: nn.Module, name: str, layer: nn.Module) -> None:
    if not name:
        raise Unstackable(f"it holds parameters outside layers ({type(model).__name__})")
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, layer)
