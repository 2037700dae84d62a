"""The model registry: ``create_model(name, num_classes, ...)`` for every architecture.

Built-in names are registered as lazy ``"module:function"`` strings, so naming a model
imports only its own file (torchvision and timm model code is slow to import). Any timm
model is available as ``"timm:<name>"``; third-party packages add models through the
``unlearning_bench.models`` entry-point group or ``MODELS.register``.

A builder is called as ``builder(num_classes=..., in_channels=..., image_size=..., **kw)``;
extra keyword arguments flow through to it (timm style) and an unknown one is a UserError.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from benchmark.errors import UnknownNameError, UserError
from benchmark.registry import Registry

ModelBuilder = Callable[..., nn.Module]

MODELS: Registry[ModelBuilder] = Registry("model", "unlearning_bench.models")
TIMM_PREFIX = "timm:"

_ARCH = "benchmark.architectures"
MODELS.register("resnet18", f"{_ARCH}.resnet:resnet18")
MODELS.register("resnet18_imagenet", f"{_ARCH}.resnet:resnet18_imagenet")
MODELS.register("allcnn", f"{_ARCH}.allcnn:allcnn")
MODELS.register("mobilenetv2", f"{_ARCH}.mobilenet:mobilenetv2")
MODELS.register("vit", f"{_ARCH}.vit:vit")
MODELS.register("smallcnn", f"{_ARCH}.small_cnn:smallcnn")

_FIXED_ARGS = ("num_classes", "in_channels", "image_size")


def model_names(include_timm: bool = False) -> list[str]:
    """Registered model names, sorted; with ``include_timm`` also every ``timm:<name>``."""
    names = MODELS.names()
    if include_timm:
        import timm

        names += [TIMM_PREFIX + name for name in timm.list_models()]
    return names


def _options(builder: ModelBuilder) -> tuple[list[str], bool]:
    """The builder's own keyword options and whether it passes unknown ones through."""
    try:
        params = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):  # some callables have no signature; assume pass-through
        return [], True
    names = [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    passes_through = any(p.kind is p.VAR_KEYWORD for p in params)
    return [n for n in names if n not in _FIXED_ARGS], passes_through


def create_model(
    name: str, num_classes: int, in_channels: int = 3, image_size: int = 32, **kwargs: Any
) -> nn.Module:
    """Build model ``name`` (registered, or ``"timm:<name>"``) with a ``num_classes`` head.

    Weights are always freshly initialised; nothing is downloaded. Raises UserError for an
    unknown name (listing the known ones), a bad size, or an option the model does not take.
    """
    for arg, value in (
        ("num_classes", num_classes),
        ("in_channels", in_channels),
        ("image_size", image_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"model {name!r}: {arg} must be a positive integer, got {value!r}")
    if name.startswith(TIMM_PREFIX):
        from benchmark.architectures.timm_models import create_timm_model

        builder: ModelBuilder = create_timm_model
        args: tuple[str, ...] = (name[len(TIMM_PREFIX) :],)
    else:
        try:
            builder, args = MODELS.get(name), ()
        except UnknownNameError as error:
            raise UnknownNameError(f"{error}; or any timm model as timm:<name>") from None
    options, passes_through = _options(builder)
    unknown = sorted(set(kwargs) - set(options))
    if unknown and not passes_through:
        raise UserError(
            f"model {name!r} does not take option(s) {', '.join(unknown)}; "
            f"its options: {', '.join(options) or '(none)'}"
        )
    try:
        return builder(
            *args, num_classes=num_classes, in_channels=in_channels, image_size=image_size, **kwargs
        )
    except TypeError as error:
        # Pass-through options reach torchvision/timm constructors, which reject unknown ones.
        if not any(m in str(error) for m in ("unexpected keyword argument", "multiple values")):
            raise
        own = f" (its own options: {', '.join(options)})" if options else ""
        raise UserError(f"model {name!r}: {error}{own}") from error


def resolved_options(name: str, **kwargs: Any) -> dict[str, Any]:
    """The options ``create_model(name, ...)`` builds with: the builder's defaults + ``kwargs``.

    Stored with each result, so saved weights can be rebuilt even after a default changes.
    """
    if name.startswith(TIMM_PREFIX):
        return dict(kwargs)
    builder = MODELS.get(name)
    try:
        params = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        return dict(kwargs)
    defaults = {p.name: p.default for p in params
                if p.default is not p.empty and p.name not in _FIXED_ARGS}
    resolved = {**defaults, **kwargs}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in resolved.items()}


def _unwrap(model: nn.Module) -> nn.Module:
    # torch.compile wraps the module; the layers live on the original.
    return getattr(model, "_orig_mod", model)


def _last_layer(module: nn.Module) -> nn.Linear | nn.Conv2d | None:
    if isinstance(module, nn.Linear | nn.Conv2d):
        return module
    layers = [m for m in module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    return layers[-1] if layers else None


def classifier_head(model: nn.Module) -> nn.Linear | nn.Conv2d:
    """The final layer that produces the logits; its weight is ``(num_classes, features, ...)``.

    Row ``c`` of the weight belongs to class ``c`` (Fisher forgetting treats the forget
    classes' rows specially). Looks at timm's ``get_classifier()``, then ``fc`` (torchvision
    ResNet), then ``classifier`` (MobileNetV2, AllCNN, SmallCNN, VGG, ...), then ``head``,
    and last the last Linear/Conv2d the model registers (right for plain ``nn.Sequential``).
    """
    model = _unwrap(model)
    candidates: list[Any] = []
    if callable(getattr(model, "get_classifier", None)):
        candidates.append(model.get_classifier())
    candidates += [getattr(model, attr, None) for attr in ("fc", "classifier", "head")]
    # Last resort (plain nn.Sequential models): the last Linear/Conv2d registered.
    candidates.append(model)
    for candidate in candidates:
        if isinstance(candidate, nn.Module) and (layer := _last_layer(candidate)) is not None:
            return layer
    raise ValueError(
        f"cannot find the classifier head of {type(model).__name__}: give it a get_classifier() "
        "method or an 'fc'/'classifier'/'head' attribute"
    )


def _is_vit(model: nn.Module) -> bool:
    return hasattr(model, "patch_embed") and hasattr(model, "blocks")


def gradcam_target_layer(model: nn.Module) -> nn.Module:
    """A sensible layer for GradCAM: the output of the last convolutional stage.

    ResNets: ``layer4[-1]``; MobileNetV2 / AllCNN / SmallCNN: ``features[-1]``; timm
    stage-based CNNs: ``stages[-1]``; ViTs: ``blocks[-1].norm1``, whose output is a token
    sequence, so pass ``gradcam_reshape_transform(model)`` to GradCAM as well. Otherwise the
    last Conv2d that is not the classifier head.
    """
    model = _unwrap(model)
    if _is_vit(model):
        return model.blocks[-1].norm1
    for attr in ("layer4", "features", "stages"):
        stage = getattr(model, attr, None)
        if isinstance(stage, nn.Sequential) and len(stage) > 0:
            return stage[-1]
    try:
        head: nn.Module | None = classifier_head(model)
    except ValueError:
        head = None
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m is not head]
    if not convs:
        raise ValueError(f"no convolutional layer for GradCAM in {type(model).__name__}")
    return convs[-1]


def gradcam_reshape_transform(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """None for CNNs; for a ViT, a function turning tokens (N, T, C) into maps (N, C, H, W).

    The class/register tokens are dropped and the patch tokens laid back on their grid, as
    pytorch-grad-cam's ViT tutorial does; pass it as ``GradCAM(..., reshape_transform=...)``.
    """
    model = _unwrap(model)
    if not _is_vit(model):
        return None
    prefix = getattr(
        model, "num_prefix_tokens", 1 if getattr(model, "cls_token", None) is not None else 0
    )
    grid = tuple(getattr(model.patch_embed, "grid_size", ()))

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        patches = tokens[:, prefix:, :]
        count = patches.shape[1]
        height, width = (
            grid if len(grid) == 2 and grid[0] * grid[1] == count else (int(count**0.5),) * 2
        )
        if height * width != count:
            raise ValueError(f"cannot lay {count} ViT tokens on a square grid for GradCAM")
        return patches.reshape(patches.shape[0], height, width, patches.shape[2]).permute(
            0, 3, 1, 2
        )

    return reshape
