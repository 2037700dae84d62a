"""Models: the registry (``create_model``, ``MODELS``) and one file per architecture.

Architectures are registered as lazy ``"module:function"`` strings (see ``registry``), so
naming a model imports only its own file (torchvision and timm model code is slow to
import). Each architecture file holds plain builder functions with the signature
``builder(*, num_classes, in_channels=3, image_size=32, **options) -> nn.Module``.
``layers`` finds a model's classifier head and GradCAM layer without assuming its type.
"""

from benchmark.models.layers import classifier_head, gradcam_reshape_transform, gradcam_target_layer
from benchmark.models.registry import (
    MODELS,
    TIMM_PREFIX,
    ModelBuilder,
    create_model,
    model_names,
    resolved_options,
)

__all__ = [
    "MODELS", "TIMM_PREFIX", "ModelBuilder", "classifier_head", "create_model",
    "gradcam_reshape_transform", "gradcam_target_layer", "model_names", "resolved_options",
]
