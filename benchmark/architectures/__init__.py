"""Model architectures, one file each. ``benchmark.models`` registers them lazily.

Each module holds plain builder functions with the signature
``builder(*, num_classes, in_channels=3, image_size=32, **options) -> nn.Module``;
nothing here registers itself, so importing one architecture never imports the others
(torchvision and timm model code is slow to import).
"""
