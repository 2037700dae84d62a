"""The layerwise Fisher diagonal (methods/per_sample_squares.py): exact for every layer kind it
claims, equal to the torch.func path, and out of the way for the models it does not claim."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.models import create_model
from methods.fisher import FisherConfig
from methods.fisher_diagonal import fisher_diagonal
from methods.per_sample_squares import unsupported_reason, weight_squares
from methods.ssd import SsdConfig

CPU = torch.device("cpu")
NORMALIZER = Normalizer((0.5, 0.4, 0.3), (0.2, 0.25, 0.3), CPU)


class Mixed(nn.Module):
    """The odd layer kinds: a grouped, strided, dilated conv with bias, BatchNorm1d on a
    sequence, a Linear over tokens (3-d input), a frozen bias, and a Conv2d head."""

    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=2, dilation=2, bias=False)
        self.grouped = nn.Conv2d(6, 8, (3, 2), padding=(1, 0), groups=2)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.norm = nn.BatchNorm1d(8)
        self.tokens = nn.Linear(8, 5)
        self.head = nn.Conv2d(5, classes, 1)
        self.grouped.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.depthwise(torch.relu(self.grouped(torch.relu(self.conv(x))))))
        seq = self.norm(x.flatten(2))  # [N, 8, L]
        tokens = torch.tanh(self.tokens(seq.transpose(1, 2)))  # [N, L, 5]
        return self.head(tokens.mean(1)[:, :, None, None]).flatten(1)


class Twice(nn.Module):
    """Calls one Linear twice: a per-sample gradient is then the sum of two outer products."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(12, 12)
        self.head = nn.Linear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layer(torch.relu(self.layer(x.flatten(1)[:, :12]))))


def with_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            with torch.no_grad():
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
    return model


def images(n: int, size: int, seed: int = 0) -> LabelledImages:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, size, size), generator=generator, dtype=torch.uint8)
    return LabelledImages(x, torch.randint(0, 3, (n,), generator=generator))


def brute_force(model: nn.Module, data: LabelledImages, approximation: str) -> dict[str, torch.Tensor]:
    """The reference loop in float64: one sample and one class at a time, plain autograd."""
    model = copy.deepcopy(model).double().eval()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    total = {n: torch.zeros_like(p) for n, p in named}
    x = NORMALIZER(data.x).double()
    for i in range(len(x)):
        log_prob = model(x[i : i + 1]).log_softmax(-1)[0]
        prob = log_prob.exp().detach()
        weights = prob if approximation == "exact" else torch.eye(len(prob))[data.y[i]].double()
        for c in torch.nonzero(weights).flatten().tolist():
            grads = torch.autograd.grad(-log_prob[c], [p for _, p in named], retain_graph=True)
            for (name, _), grad in zip(named, grads, strict=True):
                total[name] += weights[c] * grad.square()
    return {n: t / len(x) for n, t in total.items()}


def assert_equal_diagonals(got: dict, expected: dict, rtol: float, atol_of_max: float) -> None:
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        scale = float(value.abs().max())
        torch.testing.assert_close(got[name].to(value.dtype), value, rtol=rtol,
                                   atol=atol_of_max * scale, msg=lambda m, n=name: f"{n}: {m}")


# Every architecture family the layerwise path claims (each is checked to be claimed).
FAMILIES = {
    "smallcnn": (lambda: create_model("smallcnn", 3, 3, 8, widths=(4, 6, 8)), 8),
    "resnet9": (lambda: create_model("resnet9", 3, 3, 16, width=4, stem_stride=2), 16),
    "resnet20": (lambda: create_model("resnet20", 3, 3, 8, widths=(4, 6, 8)), 8),
    "resnet18_imagenet": (lambda: create_model("resnet18_imagenet", 3, 3, 32), 32),
    "allcnn": (lambda: create_model("allcnn", 3, 3, 8, filters_percentage=0.1), 8),
    "mobilenetv2": (lambda: create_model("mobilenetv2", 3, 3, 8, width_mult=0.25), 8),
    "mixed": (Mixed, 9),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_layerwise_equals_the_float64_loop(family: str) -> None:
    """In float64 the layerwise path is the brute-force loop up to rounding (1e-9): the
    algebra is exact for every layer of the family (grouped and depthwise convs included)."""
    build, size = FAMILIES[family]
    torch.manual_seed(0)
    model = with_statistics(build()).double()
    assert unsupported_reason(model) is None
    data = images(3, size)
    for approximation in ("exact", "empirical"):
        got = fisher_diagonal(model, data, NORMALIZER, CPU, batch_size=2,
                              approximation=approximation, backend="layerwise")
        assert_equal_diagonals(got, brute_force(model, data, approximation), 1e-9, 1e-12)


@pytest.mark.parametrize("family", ["resnet9", "mobilenetv2", "mixed"])
@pytest.mark.parametrize("approximation", ["exact", "empirical", "sampled"])
def test_layerwise_equals_the_func_path_in_float32(family: str, approximation: str) -> None:
    """What users get: float32, the same samples and (sampled) the same drawn labels."""
    build, size = FAMILIES[family]
    torch.manual_seed(1)
    model = with_statistics(build(), seed=1).train()
    data = images(5, size, seed=1)

    def run(backend: str) -> dict[str, torch.Tensor]:
        return fisher_diagonal(model, data, NORMALIZER, CPU, batch_size=2 if backend == "func" else 3,
                               approximation=approximation,
                               generator=torch.Generator().manual_seed(3), backend=backend)

    new, old = run("layerwise"), run("func")
    assert all(v.dtype == torch.float32 for v in new.values())
    assert_equal_diagonals(new, old, 1e-4, 1e-6)
    assert model.training  # mode restored


def test_layerwise_leaves_the_model_as_it_was() -> None:
    torch.manual_seed(0)
    model = with_statistics(FAMILIES["resnet9"][0]()).train()
    state = copy.deepcopy(model.state_dict())
    fisher_diagonal(model, images(4, 16), NORMALIZER, CPU, backend="layerwise")
    assert model.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks for m in model.modules())


def test_weight_squares_ways_agree() -> None:
    generator = torch.Generator().manual_seed(0)
    for classes, groups, length in ((3, 1, 1), (3, 1, 5), (1, 2, 7), (4, 4, 3)):
        g = torch.randn(classes, 6, 8, length, generator=generator, dtype=torch.float64)
        a = torch.randn(6, 4 * groups, length, generator=generator, dtype=torch.float64)
        per_sample = torch.einsum("cngol,ngkl->cngok", g.view(classes, 6, groups, 8 // groups, length),
                                  a.view(6, groups, 4, length))
        expected = per_sample.square().sum((0, 1)).reshape(8, 4)
        for way in ("gram", "direct", "auto"):
            torch.testing.assert_close(weight_squares(g, a, groups, way), expected)


def test_models_it_does_not_claim_fall_back_to_the_func_path() -> None:
    vit = create_model("vit", 3, 3, 8, depth=1)
    assert unsupported_reason(vit) is not None  # class token, position embedding, LayerNorm
    data = images(2, 8)
    auto = fisher_diagonal(vit, data, NORMALIZER, CPU)
    assert_equal_diagonals(auto, fisher_diagonal(vit, data, NORMALIZER, CPU, backend="func"), 0, 0)
    with pytest.raises(ValueError, match="layerwise"):
        fisher_diagonal(vit, data, NORMALIZER, CPU, backend="layerwise")

    tied = nn.Sequential(nn.Flatten(), nn.Linear(27, 27), nn.Linear(27, 27))
    tied[2].weight = tied[1].weight
    assert "shared" in unsupported_reason(tied)


def test_a_layer_called_twice_falls_back_at_run_time() -> None:
    torch.manual_seed(0)
    model = Twice()
    assert unsupported_reason(model) is None  # only the forward pass shows it
    data = images(3, 2)
    generator = torch.Generator().manual_seed(0)
    auto = fisher_diagonal(model, data, NORMALIZER, CPU, approximation="sampled", generator=generator)
    func = fisher_diagonal(model, data, NORMALIZER, CPU, approximation="sampled",
                           generator=torch.Generator().manual_seed(0), backend="func")
    assert_equal_diagonals(auto, func, 0, 0)  # the fallback drew the same labels
    with pytest.raises(ValueError, match="called twice"):
        fisher_diagonal(model, data, NORMALIZER, CPU, backend="layerwise")
    assert not any(m._forward_hooks for m in model.modules())


def test_backend_is_a_setting_of_fisher_and_ssd() -> None:
    assert FisherConfig().backend == "auto" and SsdConfig().backend == "auto"
    assert FisherConfig(backend="func").backend == "func"
    with pytest.raises(ValueError):
        FisherConfig(backend="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SsdConfig(backend="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend"):
        fisher_diagonal(nn.Linear(3, 2), images(1, 1), NORMALIZER, CPU, backend="fast")  # type: ignore[arg-type]
