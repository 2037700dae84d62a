"""The model registry: every architecture builds, gives (N, C) logits, exposes its head
and a GradCAM layer; bad names and options are one-line UserErrors."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from benchmark.core.errors import UnknownNameError, UserError
from benchmark.models import (
    MODELS,
    classifier_head,
    create_model,
    gradcam_reshape_transform,
    gradcam_target_layer,
    model_names,
)

BUILTIN = ["allcnn", "mobilenetv2", "resnet18", "resnet18_imagenet", "resnet20", "resnet8",
           "resnet9", "smallcnn", "vit"]
TIMM_SMALL = "timm:resnet10t"


@functools.cache
def _built(name: str, num_classes: int = 10) -> nn.Module:
    """Models in eval mode, built once per test session (tests only read them)."""
    torch.manual_seed(0)
    return create_model(name, num_classes=num_classes).eval()


def _logits_and_head_output(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    seen: list[torch.Tensor] = []
    handle = classifier_head(model).register_forward_hook(lambda m, i, out: seen.append(out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    assert len(seen) == 1
    return logits, seen[0]


def test_builtin_names_are_registered() -> None:
    assert set(BUILTIN) <= set(model_names())
    assert model_names() == sorted(model_names())


@pytest.mark.parametrize("num_classes", [10, 100])
@pytest.mark.parametrize("name", BUILTIN + [TIMM_SMALL])
def test_logits_shape_and_head(name: str, num_classes: int) -> None:
    model = _built(name, num_classes)
    logits, head_out = _logits_and_head_output(model, torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, num_classes)
    head = classifier_head(model)
    assert head.weight.shape[0] == num_classes
    # The head really produces the logits (AllCNN's 1x1 conv is followed by a mean pool).
    pooled = head_out.mean(dim=(2, 3)) if head_out.dim() == 4 else head_out
    torch.testing.assert_close(pooled, logits)


@pytest.mark.parametrize("name", BUILTIN)
def test_one_channel_8x8_digits(name: str) -> None:
    model = create_model(name, num_classes=10, in_channels=1, image_size=8).eval()
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_smallcnn_trains_step() -> None:
    model = create_model("smallcnn", num_classes=10, in_channels=1, image_size=8)
    loss = nn.functional.cross_entropy(model(torch.randn(64, 1, 8, 8)), torch.randint(0, 10, (64,)))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_resnet18_cifar_stem() -> None:
    model = create_model("resnet18", num_classes=10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert model.conv1.padding == (1, 1)
    assert isinstance(model.maxpool, nn.Identity)
    gray = create_model("resnet18", num_classes=10, in_channels=1)
    assert gray.conv1.in_channels == 1


def test_resnet18_imagenet_keeps_torchvision_stem() -> None:
    for model in (
        create_model("resnet18_imagenet", num_classes=10),
        create_model("resnet18", num_classes=10, stem="imagenet"),
    ):
        assert model.conv1.kernel_size == (7, 7) and model.conv1.stride == (2, 2)
        assert isinstance(model.maxpool, nn.MaxPool2d)
    assert create_model("resnet18_imagenet", num_classes=10, in_channels=1).conv1.in_channels == 1


def test_mobilenetv2_keeps_4x4_maps_at_32x32() -> None:
    model = _built("mobilenetv2")
    assert model.features(torch.randn(1, 3, 32, 32)).shape[-2:] == (4, 4)


def test_allcnn_layout_and_options() -> None:
    model = create_model("allcnn", num_classes=10)
    assert classifier_head(model).weight.shape == (10, 192, 1, 1)
    widths = [m.out_channels for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [96, 96, 96, 192, 192, 192, 192, 192]
    half = create_model("allcnn", num_classes=10, filters_percentage=0.5, dropout=True)
    assert classifier_head(half).weight.shape == (10, 96, 1, 1)
    assert any(isinstance(m, nn.Dropout) for m in half.modules())


def test_vit_patch_size_follows_image_size() -> None:
    assert create_model("vit", num_classes=10).patch_embed.patch_size == (4, 4)
    big = create_model("vit", num_classes=10, image_size=64, depth=1)
    assert big.patch_embed.patch_size == (8, 8)


def test_timm_fixed_size_model_gets_image_size() -> None:
    model = create_model("timm:vit_tiny_patch16_224", num_classes=10, depth=1).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(UnknownNameError, match="resnet18.*timm:<name>"):
        create_model("resnet19", num_classes=10)
    assert TIMM_SMALL in model_names(include_timm=True)


def test_unknown_timm_name_says_how_to_list() -> None:
    with pytest.raises(UserError, match="list_models"):
        create_model("timm:not_a_real_model", num_classes=10)


@pytest.mark.parametrize(
    "name", ["allcnn", "smallcnn", "resnet18", "mobilenetv2", "vit", TIMM_SMALL]
)
def test_unknown_option_is_user_error(name: str) -> None:
    with pytest.raises(UserError, match="bogus"):
        create_model(name, num_classes=10, bogus=1)


def test_bad_values_are_user_errors() -> None:
    with pytest.raises(UserError, match="stem"):
        create_model("resnet18", num_classes=10, stem="tiny")
    with pytest.raises(UserError, match="num_classes"):
        create_model("smallcnn", num_classes=0)
    with pytest.raises(UserError, match="in_chans"):  # sizes go through create_model's own args
        create_model(TIMM_SMALL, num_classes=10, in_chans=1)
    with pytest.raises(UserError, match="pretrained"):
        create_model(TIMM_SMALL, num_classes=10, pretrained=True)


def test_third_party_registration() -> None:
    @MODELS.register("test_linear_probe")
    def linear(*, num_classes: int, in_channels: int = 3, image_size: int = 32) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size**2, num_classes))

    try:
        model = create_model("test_linear_probe", num_classes=5, in_channels=1, image_size=4)
        assert classifier_head(model).out_features == 5
    finally:
        MODELS.unregister("test_linear_probe")


@pytest.mark.parametrize("name", BUILTIN + [TIMM_SMALL])
def test_gradcam_layer_gives_spatial_maps(name: str) -> None:
    model = _built(name)
    seen: list[torch.Tensor] = []
    handle = gradcam_target_layer(model).register_forward_hook(lambda m, i, out: seen.append(out))
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    handle.remove()
    reshape = gradcam_reshape_transform(model)
    assert (reshape is None) == (name != "vit")
    maps = reshape(seen[-1]) if reshape else seen[-1]
    assert maps.dim() == 4 and maps.shape[0] == 2
    # The ImageNet stems (torchvision's, timm's) shrink 32x32 to 1x1 by the last stage.
    if name not in ("resnet18_imagenet", TIMM_SMALL):
        assert maps.shape[-2] > 1 and maps.shape[-1] > 1


@pytest.mark.parametrize("name", ["smallcnn", "vit"])
def test_pytorch_grad_cam_runs(name: str) -> None:
    gradcam = pytest.importorskip("pytorch_grad_cam")
    kwargs = {"depth": 2} if name == "vit" else {}
    model = create_model(name, num_classes=10, **kwargs).eval()
    cam = gradcam.GradCAM(
        model=model,
        target_layers=[gradcam_target_layer(model)],
        reshape_transform=gradcam_reshape_transform(model),
    )
    heatmap = cam(input_tensor=torch.randn(2, 3, 32, 32), targets=None)
    assert heatmap.shape == (2, 32, 32)
