"""Any timm model (Wightman, "PyTorch Image Models", github.com/huggingface/pytorch-image-models)
by name, for ``create_model("timm:<name>", ...)``. Never downloads weights (no internet).
"""

from __future__ import annotations

import difflib
from typing import Any

from torch import nn

from benchmark.core.errors import UserError

LIST_HINT = "list names with: python -c \"import timm; print(timm.list_models('*resnet*'))\""


def _needs_fixed_size(timm: Any, name: str) -> bool:
    # Transformers (ViT, DeiT, ...) are built for one input size: their pretrained config says
    # so and they accept ``img_size``. CNNs do not take that argument.
    try:
        return bool(timm.get_pretrained_cfg_value(name, "fixed_input_size"))
    except Exception:  # no pretrained config for this name (older timm, custom entries)
        return False


def create_timm_model(
    name: str,
    /,
    *,
    num_classes: int,
    in_channels: int = 3,
    image_size: int = 32,
    **timm_kwargs: Any,
) -> nn.Module:
    """``timm.create_model(name, pretrained=False, num_classes=..., in_chans=...)``.

    For fixed-input-size models ``img_size=image_size`` is passed unless given. Extra
    keyword arguments go to the timm model.
    """
    import timm  # lazily: importing timm costs about a second at start-up

    if timm_kwargs.pop("pretrained", False):
        raise UserError(
            "timm models are built without weights here (no downloads); drop pretrained"
        )
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5)
        maybe = f"; did you mean {', '.join(close)}?" if close else ""
        raise UserError(f"unknown timm model {name!r}{maybe} ({LIST_HINT})")
    if "img_size" not in timm_kwargs and _needs_fixed_size(timm, name):
        timm_kwargs["img_size"] = image_size
    return timm.create_model(
        name, pretrained=False, num_classes=num_classes, in_chans=in_channels, **timm_kwargs
    )
