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

from torch import nn

from benchmark.core.errors import UnknownNameError, UserError
from benchmark.core.registry import Registry

ModelBuilder = Callable[..., nn.Module]

MODELS: Registry[ModelBuilder] = Registry("model", "unlearning_bench.models")
TIMM_PREFIX = "timm:"

_ARCH = "benchmark.models"
MODELS.register("resnet18", f"{_ARCH}.resnet:resnet18")
MODELS.register("resnet18_imagenet", f"{_ARCH}.resnet:resnet18_imagenet")
MODELS.register("allcnn", f"{_ARCH}.allcnn:allcnn")
MODELS.register("mobilenetv2", f"{_ARCH}.mobilenet:mobilenetv2")
MODELS.register("vit", f"{_ARCH}.vit:vit")
MODELS.register("smallcnn", f"{_ARCH}.small_cnn:smallcnn")
MODELS.register("resnet8", f"{_ARCH}.cifar_resnet:resnet8")
MODELS.register("resnet20", f"{_ARCH}.cifar_resnet:resnet20")
MODELS.register("resnet9", f"{_ARCH}.cifar_resnet:resnet9")

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
        from benchmark.models.timm_models import create_timm_model

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
