"""Fisher forgetting: the batched Fisher diagonal, the reference's mean/variance rules, the
seeded noise, the data access, and forgetting end to end on a small learnable problem."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from benchmark.core.config import apply_overrides
from benchmark.core.engine import Engine
from benchmark.core.errors import DataAccessError
from benchmark.core.tensors import LabelledImages, Normalizer
from benchmark.core.training import TrainRecipe, predict_logits, train_with_recipe
from benchmark.harness.requests import build_request
from datasets.base import ImageDataset
from methods.api import METHODS, Access
from methods.fisher import FisherConfig, FisherForgetting, apply_fisher_noise, mean_and_variance
from methods.fisher_diagonal import fisher_diagonal

CPU = torch.device("cpu")
ENGINE = Engine.for_device("cpu")


class ConvNet(nn.Module):
    """Conv + BatchNorm + ReLU + pooling, then a Linear head named ``fc``."""

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 6), nn.BatchNorm1d(6), nn.ReLU(),
        )
        self.fc = nn.Linear(6, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


class MLP(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(48, 32), nn.BatchNorm1d(32), nn.ReLU())
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def fc_head(model: nn.Module) -> nn.Module:
    return model.fc


def random_bn_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial running statistics, so eval-mode BatchNorm is really exercised."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model


def uint8_images(n: int, size: int = 5, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=generator, dtype=torch.uint8)


def prototype_dataset(classes: int = 8, per_class: int = 60, spread: float = 60.0) -> ImageDataset:
    """Each class: a fixed random 3x4x4 prototype plus Gaussian pixel noise (easy to learn)."""
    prototypes = torch.randint(40, 216, (classes, 3, 4, 4), generator=torch.Generator().manual_seed(123))

    def split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % classes
        noise = torch.randn(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
        x = (prototypes[y].float() + spread * noise).clamp(0, 255).to(torch.uint8)
        return x, y

    train_x, train_y = split(classes * per_class, 0)
    test_x, test_y = split(classes * 40, 1)
    names = tuple(f"c{i}" for i in range(classes))
    return ImageDataset("prototypes", train_x, train_y, test_x, test_y, names, (0.5,) * 3, (0.25,) * 3)


def request_for(method, data: ImageDataset, forget: tuple[int, ...], seed: int, model_cls):
    return build_request(method, data, forget, seed, ENGINE, TrainRecipe(), lambda: model_cls(data.num_classes))


def brute_force_fisher(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The reference ``hessian``: one sample and one class at a time, plain autograd, float64."""
    model = copy.deepcopy(model).double().eval()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    total = {n: torch.zeros_like(p) for n, p in named}
    for i in range(x.shape[0]):
        logits = model(x[i : i + 1].double())
        prob = logits.softmax(-1).detach()
        for c in range(logits.shape[1]):
            grads = torch.autograd.grad(-logits.log_softmax(-1)[0, c], [p for _, p in named],
                                        retain_graph=True)
            for (name, _), grad in zip(named, grads, strict=True):
                total[name] += prob[0, c] * grad.pow(2)
    return {n: t / x.shape[0] for n, t in total.items()}


def test_batched_fisher_equals_brute_force_loop() -> None:
    torch.manual_seed(0)
    model = random_bn_statistics(ConvNet(classes=3))
    model.features[1].bias.requires_grad_(False)  # frozen: held constant, not in the result
    model.train()  # fisher_diagonal must switch to eval itself and switch back
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    images = uint8_images(10)
    normalizer = Normalizer((0.5, 0.4, 0.3), (0.2, 0.25, 0.3), CPU)
    data = LabelledImages(images, torch.zeros(10, dtype=torch.int64))

    fisher = fisher_diagonal(model, data, normalizer, CPU, batch_size=4)  # 4 + 4 + 2: ragged end

    expected = brute_force_fisher(model, normalizer(images))
    assert set(fisher) == set(expected) and "features.1.bias" not in fisher
    for name, value in fisher.items():
        assert value.dtype == torch.float32 and value.shape == expected[name].shape
        scale = float(expected[name].abs().max())
        torch.testing.assert_close(value.double(), expected[name], rtol=1e-5, atol=1e-6 * scale)
    assert model.training
    for name, buffer in model.named_buffers():
        assert torch.equal(buffer, buffers[name]), f"{name} changed"


def test_mean_and_variance_follow_the_reference_order() -> None:
    cfg = FisherConfig(alpha=2.0, var_clamp=1e3, head_var_clamp=1e2, forget_row_var=1e-4,
                       head_var_scale=10.0, bias_var_scale=3.0, fisher_eps=0.0)
    # Body weight: clamp at 1e3, times alpha, then averaged over dim 1.
    mean, var = mean_and_variance(torch.ones(2, 3), torch.tensor([[1e-5, 1.0, 0.5]] * 2), False, (1,), cfg)
    torch.testing.assert_close(var, torch.full((2, 3), 2.0 * (1e3 + 1 + 2) / 3))
    torch.testing.assert_close(mean, torch.ones(2, 3))
    # Body 1-d tensor: times bias_var_scale.
    _, var = mean_and_variance(torch.ones(2), torch.tensor([1e-5, 0.25]), False, (1,), cfg)
    torch.testing.assert_close(var, torch.tensor([2.0 * 1e3 * 3, 2.0 * 4 * 3]))
    # Head weight: clamp at 1e2 too; forget row -> mean 0, var forget_row_var; then x10.
    head = torch.full((3, 2), 7.0)
    mean, var = mean_and_variance(head, torch.tensor([[1e-5, 1.0]] * 3), True, (1,), cfg)
    torch.testing.assert_close(mean, torch.tensor([[7.0, 7.0], [0.0, 0.0], [7.0, 7.0]]))
    row = 2.0 * (1e2 + 1.0) / 2 * 10
    torch.testing.assert_close(var, torch.tensor([[row, row], [1e-3, 1e-3], [row, row]]))
    # Head bias: the head's scale only, not also bias_var_scale (the reference's elif).
    mean, var = mean_and_variance(torch.full((3,), 7.0), torch.full((3,), 0.5), True, (0, 2), cfg)
    torch.testing.assert_close(mean, torch.tensor([0.0, 7.0, 0.0]))
    torch.testing.assert_close(var, torch.tensor([1e-3, 2.0 * 2 * 10, 1e-3]))


def test_forget_rows_of_the_head_are_redrawn_around_zero() -> None:
    head = nn.Linear(4096, 5)
    with torch.no_grad():
        head.weight.copy_(torch.randn(5, 4096, generator=torch.Generator().manual_seed(1)))
        head.bias.fill_(5.0)
    original = copy.deepcopy(head)
    fisher = {"weight": torch.full((5, 4096), 1e6), "bias": torch.full((5,), 1e6)}  # alpha/F ~ 1e-12
    cfg = FisherConfig()
    apply_fisher_noise(head, fisher, head, (1, 3), cfg, torch.Generator().manual_seed(0))

    forget_var = cfg.forget_row_var * cfg.head_var_scale  # 1e-3
    rows = head.weight.detach()[[1, 3]]
    assert abs(float(rows.mean())) < 4 * (forget_var / rows.numel()) ** 0.5
    assert float(rows.var()) == pytest.approx(forget_var, rel=0.1)
    kept = [0, 2, 4]
    torch.testing.assert_close(head.weight[kept], original.weight[kept], rtol=0, atol=1e-4)
    assert torch.all(head.bias.detach()[[1, 3]].abs() < 5 * forget_var**0.5)  # was 5.0
    torch.testing.assert_close(head.bias[kept], original.bias[kept], rtol=0, atol=1e-4)


def test_noise_is_reproducible_for_a_seed_and_differs_across_seeds() -> None:
    data = ImageDataset("random", uint8_images(24, 4), torch.arange(24) % 3, uint8_images(6, 4, 1),
                        torch.arange(6) % 3, ("a", "b", "c"), (0.5,) * 3, (0.25,) * 3)
    torch.manual_seed(0)
    model = random_bn_statistics(MLP(3))

    def unlearned(seed: int) -> dict[str, torch.Tensor]:
        method = FisherForgetting(FisherConfig(alpha=1e-3), head=fc_head)
        out = method.unlearn(copy.deepcopy(model), request_for(method, data, (2,), seed, MLP))
        return out.state_dict()

    first, again, other = unlearned(7), unlearned(7), unlearned(8)
    for name, value in first.items():
        assert torch.equal(value, again[name]), name
    assert not torch.equal(first["features.1.weight"], other["features.1.weight"])
    assert not torch.equal(first["fc.weight"], other["fc.weight"])


def test_declares_only_retain_access() -> None:
    assert METHODS.get("fisher") is FisherForgetting
    assert FisherForgetting.needs == frozenset({Access.RETAIN}) and FisherForgetting.zero_glance()
    data = prototype_dataset(classes=3, per_class=4)
    request = request_for(FisherForgetting, data, (0,), 0, MLP)
    assert request.granted == frozenset({Access.RETAIN}) and request._forget is None
    with pytest.raises(DataAccessError):
        request.forget()
    with pytest.raises(DataAccessError):
        request.retain_subset(1)
    method = FisherForgetting(FisherConfig(subset_per_class=2), head=fc_head)
    method.unlearn(MLP(3), request)
    assert request.samples_seen == {"retain": 2 * 2}  # subset of the 2 retained classes


def test_config_checks_and_overrides() -> None:
    assert apply_overrides(FisherConfig(), {"approximation": "sampled"}, "fisher").approximation == "sampled"
    with pytest.raises(ValueError):
        FisherConfig(approximation="bogus")  # type: ignore[arg-type]
    request = request_for(FisherForgetting, prototype_dataset(classes=3, per_class=4), (0,), 0, MLP)
    with pytest.raises(ValueError, match="outputs"):
        FisherForgetting(head=lambda m: m.features[1]).unlearn(MLP(3), request)


@pytest.fixture(scope="module")
def trained() -> tuple[ImageDataset, nn.Module]:
    data = prototype_dataset()
    torch.manual_seed(0)
    model = MLP(data.num_classes)
    recipe = TrainRecipe(epochs=8, batch_size=32, lr=0.05, augment=False, schedule="constant")
    normalizer = Normalizer(data.mean, data.std, CPU)
    train_with_recipe(model, LabelledImages(data.train_x, data.train_y), recipe, ENGINE, normalizer, 0)
    return data, model


def class_accuracy(model: nn.Module, data: ImageDataset) -> torch.Tensor:
    normalizer = Normalizer(data.mean, data.std, CPU)
    predicted = predict_logits(model, data.test_x, ENGINE, normalizer).argmax(1)
    hits = (predicted == data.test_y).float()
    return torch.stack([hits[data.test_y == c].mean() for c in range(data.num_classes)])


def test_forget_class_accuracy_drops_end_to_end(trained) -> None:
    # Default alpha=1e-6 forgets here. The forgetting mostly comes from zeroing the head row:
    # logit_0 becomes ~0, and that loses only if some retained class's logit on a class-0
    # image is positive. With 8 overlapping classes it is; with 3 well-separated classes
    # both other logits stay negative and class 0 still wins, whatever the (tiny) noise.
    data, model = trained
    before = class_accuracy(model, data)
    assert before.min() > 0.9
    method = FisherForgetting()  # the head via benchmark.models.classifier_head (``fc``)
    out = method.unlearn(copy.deepcopy(model), request_for(method, data, (0,), 0, MLP))
    after = class_accuracy(out, data)
    assert after[0] < 0.5  # 0.0 here; other classes/seeds of this toy gave 0.0 to 0.55
    assert after[1:].mean() > 0.85


def test_sampled_approximation_estimates_the_exact_diagonal() -> None:
    torch.manual_seed(0)
    model = random_bn_statistics(ConvNet(classes=4), seed=1)
    images = uint8_images(6).repeat(300, 1, 1, 1)  # 300 label draws per distinct image
    data = LabelledImages(images, torch.zeros(len(images), dtype=torch.int64))
    normalizer = Normalizer((0.5,) * 3, (0.25,) * 3, CPU)
    exact = fisher_diagonal(model, LabelledImages(images[:6], data.y[:6]), normalizer, CPU)

    def sampled(seed: int) -> dict[str, torch.Tensor]:
        return fisher_diagonal(model, data, normalizer, CPU, batch_size=600,
                               approximation="sampled", generator=torch.Generator().manual_seed(seed))

    estimate = sampled(0)
    assert {n: v.shape for n, v in estimate.items()} == {n: v.shape for n, v in exact.items()}
    for name, value in estimate.items():
        assert float(value.sum() / exact[name].sum()) == pytest.approx(1.0, abs=0.15), name
        pair = torch.stack([value.flatten(), exact[name].flatten()])
        if pair.shape[1] > 1:
            assert float(torch.corrcoef(pair)[0, 1]) > 0.9, name
    repeat = sampled(0)
    assert all(torch.equal(v, repeat[n]) for n, v in estimate.items())
    assert not torch.equal(estimate["fc.weight"], exact["fc.weight"])


def test_vit_fisher_uses_the_vmappable_attention_and_restores_it() -> None:
    from benchmark.models import create_model

    model = create_model("vit", 3, 3, 8, depth=1).eval()
    fused_before = [m.fused_attn for m in model.modules() if hasattr(m, "fused_attn")]
    data = LabelledImages(torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8), torch.zeros(4, dtype=torch.long))
    normalizer = Normalizer((0.5,) * 3, (0.25,) * 3, torch.device("cpu"))
    diagonal = fisher_diagonal(model, data, normalizer, "cpu", batch_size=4)
    assert all(torch.isfinite(v).all() for v in diagonal.values())
    assert [m.fused_attn for m in model.modules() if hasattr(m, "fused_attn")] == fused_before


def test_auto_chunk_size_fits_the_model_in_the_budget() -> None:
    from methods.fisher_diagonal import auto_chunk_size

    small = nn.Linear(10, 3)
    assert auto_chunk_size(small, torch.device("cpu")) == 512
    big = nn.Linear(4096, 2048)  # 8.4M parameters: 4 GiB / (8.4M * 12 B) = 42 samples
    assert auto_chunk_size(big, torch.device("cpu")) == 42
