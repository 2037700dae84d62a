"""Face identities from any ``<identity>/<image>`` folder or archive (e.g. LFW-100).

Found under the data root (``DataSource.data_root``, else ``$UNLEARN_DATA_ROOT``) as: the
root itself (a folder of identity folders, or an archive), a ``faces/`` subfolder, or
``lfw100-faces.tar.gz`` in the root. Identities in sorted order are the label ids.

The train/test split is per identity and depends only on the sorted file names (never on
``DataSource.seed``), so every run sees the same test set: ``round(test_fraction * n)``
test images, at least one when an identity has two or more, picked at evenly spaced
positions of the sorted names (LFW numbers photos roughly in time order, so taking the last
ones would bias the test set towards later photos). An identity with a single image goes to
train only. Images are RGB, resized to ``size x size`` (64 by default) and cached decoded.
"""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.core.errors import UserError
from datasets.base import DATASETS, DataSource, ImageDataset
from datasets.disk_cache import Payload, cache_dir_for, fingerprint, load_or_build
from datasets.imagefolder import (
    IMAGE_SUFFIXES,
    channel_stats,
    is_archive,
    is_image_name,
    labelled_images,
    read_tree,
    resolve_data_root,
    strip_top_folders,
)

FACE_FOLDER = "faces"
FACE_ARCHIVES = ("lfw100-faces.tar.gz", "faces.tar.gz")
DEFAULT_SIZE = 64
TEST_FRACTION = 0.2


@DATASETS.register("faces")
def load_faces(source: DataSource) -> ImageDataset:
    """Face identities at 64 x 64 (see the module doc for where they are found)."""
    return make_faces(source)


def make_faces(
    source: DataSource, size: int = DEFAULT_SIZE, test_fraction: float = TEST_FRACTION
) -> ImageDataset:
    """Load an identity folder or archive as an ImageDataset of ``3 x size x size`` images."""
    if size < 1 or not 0.0 <= test_fraction < 1.0:
        raise ValueError("make_faces needs size >= 1 and 0 <= test_fraction < 1")
    origin = locate_faces(resolve_data_root(source))
    key = {
        "loader": "faces",
        "source": fingerprint(origin, IMAGE_SUFFIXES),
        "size": size,
        "test_fraction": test_fraction,
        "split": 1,  # bump if the split rule changes
    }
    payload = load_or_build(
        cache_dir_for(source), "faces", key, lambda: _build(origin, size, test_fraction)
    )
    return ImageDataset(
        name="faces",
        train_x=payload["train_x"],
        train_y=payload["train_y"],
        test_x=payload["test_x"],
        test_y=payload["test_y"],
        classes=tuple(payload["classes"]),
        mean=tuple(payload["mean"]),
        std=tuple(payload["std"]),
    )


def locate_faces(root: Path | None) -> Path:
    """The identity folder or archive under ``root``; UserError when there is none."""
    if root is None:
        raise UserError(
            "faces needs data: pass --data-root or set UNLEARN_DATA_ROOT to a folder of "
            "<identity>/<image> files or to lfw100-faces.tar.gz"
        )
    if is_archive(root) or _holds_identities(root):
        return root
    if (root / FACE_FOLDER).is_dir():
        return root / FACE_FOLDER
    for name in FACE_ARCHIVES:
        if is_archive(root / name):
            return root / name
    raise UserError(
        f"no face images in {root}: expected <identity>/<image> folders, a {FACE_FOLDER}/ "
        f"subfolder or {FACE_ARCHIVES[0]}; point --data-root or UNLEARN_DATA_ROOT at one"
    )


def _holds_identities(folder: Path) -> bool:
    """Whether some subfolder of ``folder`` directly holds image files."""
    if not folder.is_dir():
        return False
    for sub in folder.iterdir():
        if sub.is_dir() and not sub.name.startswith("."):
            if any(f.is_file() and is_image_name(f.name) for f in sub.iterdir()):
                return True
    return False


def split_identity(names: list[str], test_fraction: float) -> tuple[list[str], list[str]]:
    """Deterministic train/test split of one identity's file names (see the module doc)."""
    names = sorted(names)
    n = len(names)
    n_test = min(n - 1, max(1, round(test_fraction * n))) if n >= 2 and test_fraction > 0 else 0
    # Evenly spaced positions: the k-th test image sits in the middle of the k-th of n_test bins.
    test_positions = {int((k + 0.5) * n / n_test) for k in range(n_test)}
    test = [name for i, name in enumerate(names) if i in test_positions]
    train = [name for i, name in enumerate(names) if i not in test_positions]
    return train, test


def _build(origin: Path, size: int, test_fraction: float) -> Payload:
    tree = strip_top_folders(read_tree(origin), 2)
    identities: dict[str, list[str]] = {}
    for path in tree:
        parts = path.split("/")
        if len(parts) == 2:
            identities.setdefault(parts[0], []).append(path)
    if len(identities) < 2:
        raise UserError(
            f"found {len(identities)} identity folders in {origin}; faces needs at least 2 "
            "folders of <identity>/<image> files"
        )
    classes = sorted(identities)
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    for identity in classes:
        train[identity], test[identity] = split_identity(identities[identity], test_fraction)
    train_x, train_y = labelled_images(train, tree, "RGB", size)
    if any(test.values()):
        test_x, test_y = labelled_images(test, tree, "RGB", size)
    else:
        test_x = torch.empty((0, 3, size, size), dtype=torch.uint8)
        test_y = torch.empty(0, dtype=torch.int64)
    # Stored with the images so a cache hit skips the statistics pass too.
    mean, std = channel_stats(train_x)
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
            "classes": classes, "mean": list(mean), "std": list(std)}
