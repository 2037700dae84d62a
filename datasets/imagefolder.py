"""Image folders and .tar.gz archives -> uint8 tensors, shared by the CIFAR and face loaders.

An "image tree" maps relative POSIX paths (``train/cat/0001.jpg``) to either a file on
disk or the bytes of an archive member. Archives are read member by member, straight from
the tarfile, never extracted: nothing is written next to the data, and a malicious member
name cannot escape anywhere (names that are absolute or contain ``..`` are refused anyway,
since they mean the archive is not what we expect). Images are decoded with PIL in a thread
pool (PIL releases the GIL while decoding) straight into one preallocated N x C x H x W
array, so peak memory is the compressed bytes plus one copy of the decoded set.
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from benchmark.core.errors import UserError
from benchmark.core.progress import progress
from datasets.base import DataSource

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff"})
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")

ImageSource = Path | bytes
"""An image file on disk, or the bytes of an archive member."""

ImageTree = dict[str, ImageSource]
"""Relative POSIX path -> image source."""

DATA_ROOT_ENV = "UNLEARN_DATA_ROOT"


def resolve_data_root(source: DataSource) -> Path | None:
    """``source.data_root``, else ``$UNLEARN_DATA_ROOT``, else None; it must exist if given."""
    chosen = source.data_root or os.environ.get(DATA_ROOT_ENV)
    if not chosen:
        return None
    root = Path(chosen).expanduser()
    if not root.exists():
        origin = "--data-root" if source.data_root else DATA_ROOT_ENV
        raise UserError(f"data root {root} (from {origin}) does not exist; pass an existing folder or archive")
    return root


def is_archive(path: Path) -> bool:
    """Whether ``path`` is an existing file named like a tar archive."""
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def is_image_name(name: str) -> bool:
    """Whether a file name has an image extension (case-insensitive)."""
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def read_tree(origin: Path) -> ImageTree:
    """All image files under a folder, or inside a tar archive, by relative POSIX path.

    Hidden files and folders (``.DS_Store``, ``._x.jpg``, ``.ipynb_checkpoints``) are skipped.
    """
    if origin.is_file():
        return _read_archive(origin)
    tree: ImageTree = {}
    for dirpath, dirnames, filenames in os.walk(origin):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith(".") or not is_image_name(filename):
                continue
            full = Path(dirpath, filename)
            tree[full.relative_to(origin).as_posix()] = full
    return tree


def _read_archive(archive: Path) -> ImageTree:
    tree: ImageTree = {}
    try:
        # Stream mode ("r|*"): one sequential pass over the compressed data, no seeks back;
        # twice as fast as random-access mode on an archive of 60,000 small members.
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                name = member.name
                parts = PurePosixPath(name).parts
                if name.startswith(("/", "\\")) or ".." in parts or ":" in (parts[0] if parts else ""):
                    raise UserError(
                        f"refusing archive {archive}: member {name!r} has an absolute path or "
                        "'..'; unpack a trusted copy and pass its folder instead"
                    )
                parts = tuple(p for p in parts if p != ".")
                if not member.isfile() or not parts or not is_image_name(parts[-1]):
                    continue
                if any(p.startswith(".") for p in parts):
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    tree["/".join(parts)] = handle.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise UserError(
            f"cannot read archive {archive} ({error}); check the file (its SHA256SUMS) or "
            "pass an unpacked folder instead"
        ) from error
    return tree


def strip_top_folders(tree: ImageTree, depth: int) -> ImageTree:
    """Drop top-level folders shared by every path while paths are deeper than ``depth``.

    An archive of ``cifar10/train/cat/1.jpg`` then reads like one of ``train/cat/1.jpg``.
    """
    while tree:
        tops = {path.split("/", 1)[0] for path in tree}
        if len(tops) != 1 or min(path.count("/") + 1 for path in tree) <= depth:
            break
        tree = {path.split("/", 1)[1]: source for path, source in tree.items()}
    return tree


def split_class_layout(tree: ImageTree, where: Path) -> dict[str, dict[str, list[str]]]:
    """Group ``train/<class>/<file>`` and ``test/<class>/<file>`` paths by split and class.

    Paths are keys of ``tree`` (call strip_top_folders first for archives with a top folder).
    Returns ``{"train": {class: [sorted paths]}, "test": {...}}``; both splits must hold the
    same class folders, else UserError (``where`` names the source in the message).
    """
    layout: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
    for path in tree:
        parts = path.split("/")
        if len(parts) == 3 and parts[0] in layout:
            layout[parts[0]].setdefault(parts[1], []).append(path)
    train, test = set(layout["train"]), set(layout["test"])
    if not train or not test:
        raise UserError(
            f"no train/<class>/<image> and test/<class>/<image> files found in {where}; "
            "pass an image-folder directory or archive with that layout"
        )
    if train != test:
        only = sorted(train.symmetric_difference(test))
        raise UserError(
            f"train and test class folders differ in {where} (e.g. {', '.join(only[:3])}); "
            "both splits need the same class folders"
        )
    for classes in layout.values():
        for paths in classes.values():
            paths.sort()
    return layout


def decode_images(
    items: Sequence[tuple[str, ImageSource]], mode: str = "RGB", size: int | None = None,
    workers: int | None = None,
) -> torch.Tensor:
    """Decode named image sources into one uint8 ``N x C x H x W`` tensor.

    ``mode`` is a PIL mode ("RGB" or "L"). With ``size``, every image is resized to
    ``size x size`` when it is not already; without, all must share the first image's size.
    """
    if not items:
        raise ValueError("no images to decode")
    channels = len(mode)
    if size is None:
        first = _open(*items[0], mode, None)
        width, height = first.size
    else:
        width = height = size
    # Filled in N x C x H x W order directly: a per-image transpose is cheap, while
    # permuting the whole set afterwards would need a second full copy in memory.
    out = np.empty((len(items), channels, height, width), dtype=np.uint8)

    def decode_chunk(start: int, stop: int) -> None:
        for index in range(start, stop):
            name, source = items[index]
            image = _open(name, source, mode, size)
            if image.size != (width, height):
                raise UserError(
                    f"image {name} is {image.size[0]}x{image.size[1]}, expected "
                    f"{width}x{height}; resize the images or pass a size"
                )
            out[index] = np.asarray(image).reshape(height, width, channels).transpose(2, 0, 1)

    workers = workers or min(8, os.cpu_count() or 1)
    # Chunks amortise the executor's per-task overhead over many small images.
    chunk = max(64, -(-len(items) // (workers * 8)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(decode_chunk, s, min(s + chunk, len(items)))
                   for s in range(0, len(items), chunk)]
        for done, future in enumerate(futures, 1):
            future.result()  # re-raises the first decoding error
            progress(min(done * chunk, len(items)), len(items), "images decoded")
    return torch.from_numpy(out)


def _open(name: str, source: ImageSource, mode: str, size: int | None) -> Image.Image:
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            if size is not None and image.format == "JPEG" and min(image.size) >= 2 * size:
                # Lets libjpeg decode large JPEGs at a reduced scale: much faster downsizing.
                image.draft(mode, (size, size))
            image.load()
            # convert() copies even when the mode already matches: skip it (20% of the time).
            if image.mode != mode:
                image = image.convert(mode)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UserError(f"cannot decode image {name} ({error}); remove or replace the file") from error
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def labelled_images(
    groups: Mapping[str, Sequence[str]], tree: ImageTree, mode: str, size: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode ``{class: paths}`` (class order = label ids) into images and int64 labels."""
    items = [(path, tree[path]) for paths in groups.values() for path in paths]
    labels = [label for label, paths in enumerate(groups.values()) for _ in paths]
    return decode_images(items, mode, size), torch.tensor(labels, dtype=torch.int64)


def load_split_folders(
    origin: Path, mode: str = "RGB", size: int | None = None, expected_classes: int | None = None
) -> dict[str, object]:
    """Read a ``train/<class>/`` + ``test/<class>/`` folder or archive into a payload dict.

    Class folders in sorted order are the label ids. Returns ``train_x, train_y, test_x,
    test_y`` tensors and ``classes`` (a list of folder names).
    """
    if (origin / "train").is_dir() and (origin / "test").is_dir():
        # Read only the two split folders: the root may hold unrelated images elsewhere.
        tree = {f"{split}/{rel}": src for split in ("train", "test")
                for rel, src in read_tree(origin / split).items()}
    else:
        tree = read_tree(origin)
    tree = strip_top_folders(tree, 3)
    layout = split_class_layout(tree, origin)
    classes = sorted(layout["train"])
    if expected_classes is not None and len(classes) != expected_classes:
        raise UserError(
            f"{origin} has {len(classes)} class folders, expected {expected_classes}; "
            "point the data root at the right data set"
        )
    train_x, train_y = labelled_images({c: layout["train"][c] for c in classes}, tree, mode, size)
    test_x, test_y = labelled_images({c: layout["test"][c] for c in classes}, tree, mode, size)
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
            "classes": classes}


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std in [0, 1] units of uint8 ``N x C x H x W`` images.

    Exact and cheap: computed from a 256-bin histogram per channel, which avoids a float copy
    of the images (600 MB for CIFAR) and is several times faster than float sums on a CPU.
    """
    if images.numel() == 0:
        raise ValueError("channel_stats needs at least one image")
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for channel in range(images.shape[1]):
        counts = torch.bincount(images[:, channel].reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        variance = (counts * values.square()).sum() / total - mean.square()
        means.append(float(mean))
        stds.append(float(variance.clamp_min(0).sqrt()))
    return tuple(means), tuple(stds)
