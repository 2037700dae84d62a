"""Where the suite finds a model's classifier head and its GradCAM layer, for any model.

Methods that treat the logit layer specially (Fisher's forget rows, SSD, boundary shrink)
and the GradCAM figure ask here, so nothing else assumes an architecture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


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
