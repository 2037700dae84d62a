"""Data sets of the unlearning benchmark (this suite's own package, not Hugging Face's)."""

from datasets.base import DATASETS, DataSource, ImageDataset

# Marker checked at start-up: another package named ``datasets`` (Hugging Face) can shadow
# this one when both are installed, and the failure would otherwise be obscure.
IS_UNLEARNING_BENCH_DATASETS = True


def load_dataset(name: str, source: DataSource | None = None) -> ImageDataset:
    """Load the registered data set ``name`` (uint8 tensors on the CPU)."""
    import_builtins()
    return DATASETS.get(name)(source or DataSource())


def import_builtins() -> None:
    """Import the built-in loaders so their @DATASETS.register decorators run."""
    # Importing the modules runs their @DATASETS.register decorators.
    from datasets import cifar, digits, faces, synthetic  # noqa: F401


__all__ = ["DATASETS", "DataSource", "ImageDataset", "import_builtins", "load_dataset"]
