"""Vision Transformer (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021) for
small images, from timm's ``VisionTransformer`` (ViT-Tiny by default: 12 blocks, width
192, 3 heads).

At 32x32 the patch is 4x4 (an 8x8 token grid, as in common CIFAR ViT recipes); at other
sizes ``image_size // 8``. timm >= 0.9 lets ``img_size``/``patch_size`` override the
variant's defaults (``vit_tiny_patch16_224`` builds its args with
``dict(model_args, **kwargs)``; checked in the 0.9.0 and 1.0 sources). The model is built
for exactly ``image_size``: timm asserts the input size unless ``dynamic_img_size=True``.
No weights are ever loaded (``pretrained=False``).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from benchmark.core.errors import UserError


def default_patch_size(image_size: int) -> int:
    """4 at 32x32, otherwise ``image_size // 8`` (at least 1): an 8x8 grid of tokens."""
    return 4 if image_size == 32 else max(1, image_size // 8)


def vit(
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    patch_size: int | None = None,
    variant: str = "vit_tiny_patch16_224",
    **timm_kwargs: Any,
) -> nn.Module:
    """A timm ViT (``variant``, default ViT-Tiny) sized for ``image_size`` inputs.

    Extra keyword arguments (``depth``, ``drop_path_rate``, ``dynamic_img_size``, ...) go to
    timm's ``VisionTransformer``.
    """
    import timm  # lazily: importing timm costs about a second at start-up

    patch_size = patch_size or default_patch_size(image_size)
    if image_size % patch_size:
        raise UserError(f"vit: patch_size {patch_size} does not divide image_size {image_size}")
    if not timm.is_model(variant):
        raise UserError(f"vit: unknown variant {variant!r}; pick one of timm.list_models('vit_*')")
    return timm.create_model(
        variant,
        pretrained=False,
        img_size=image_size,
        patch_size=patch_size,
        num_classes=num_classes,
        in_chans=in_channels,
        **timm_kwargs,
    )
