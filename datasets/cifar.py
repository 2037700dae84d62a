"""CIFAR-10, CIFAR-100 and CIFAR-20 (CIFAR-100 images with the 20 coarse superclass labels).

Sources, tried in this order under the data root (``DataSource.data_root``, else
``$UNLEARN_DATA_ROOT``):

a. torchvision's own pickles (``cifar-10-batches-py`` / ``cifar-100-python``);
b. an image folder ``train/<class>/`` + ``test/<class>/``: the root itself or a subfolder
   such as ``cifar10``, ``cifar10-jpeg``, ``cifar-10``;
c. a tar archive: the root itself, or ``cifar10-jpeg.tar.gz`` / ``cifar100-jpeg.tar.gz``
   in it (the layout of the offline copies described in the data README).

Without any root, pickles an earlier torchvision download left in the cache directory are
read; otherwise it is a one-line UserError that says how to download (nothing is fetched
unasked). A root that is given but holds none of these is an error too. Image folders are decoded once and cached (disk_cache).
Sorted class-folder names are the label ids, which is CIFAR's own order for both sets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from benchmark.core.errors import UserError
from datasets.base import DATASETS, DataSource, ImageDataset, declare_classes
from datasets.disk_cache import Payload, cache_dir_for, fingerprint, load_or_build
from datasets.imagefolder import IMAGE_SUFFIXES, is_archive, load_split_folders, resolve_data_root

log = logging.getLogger(__name__)

# The standard CIFAR-100 fine label names; alphabetical, so they are also the sorted folder
# order of an image-folder copy (fine label id = position).
CIFAR100_FINE: tuple[str, ...] = tuple("""
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo
keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse
mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy
porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper
snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television
tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm
""".split())

# The 20 CIFAR-100 superclasses, in their standard (alphabetical) id order.
CIFAR100_COARSE: tuple[str, ...] = (
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
    "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
)

# Fine label id -> coarse label id, the "coarse_labels" of CIFAR-100's own meta data.
CIFAR100_FINE_TO_COARSE: tuple[int, ...] = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,  # 0-19
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,  # 20-39
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,  # 40-59
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,  # 60-79
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,  # 80-99
)


@dataclass(frozen=True)
class CifarSpec:
    """Where and how to find one CIFAR variant."""

    name: str  # registry and ImageDataset name
    title: str  # for messages
    num_classes: int  # class folders expected (fine classes for CIFAR-20)
    torchvision_folder: str
    folder_names: tuple[str, ...]
    archive_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    coarse: bool = False  # relabel CIFAR-100 fine labels with the 20 superclasses


CIFAR10 = CifarSpec(
    name="cifar10",
    title="CIFAR-10",
    num_classes=10,
    torchvision_folder="cifar-10-batches-py",
    folder_names=("cifar10", "cifar10-jpeg", "cifar-10", "CIFAR10", "CIFAR-10"),
    archive_names=("cifar10-jpeg.tar.gz", "cifar10.tar.gz", "cifar-10.tar.gz"),
    # The standard CIFAR-10 statistics (per-pixel over the training set).
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2470, 0.2435, 0.2616),
)
CIFAR100 = CifarSpec(
    name="cifar100",
    title="CIFAR-100",
    num_classes=100,
    torchvision_folder="cifar-100-python",
    folder_names=("cifar100", "cifar100-jpeg", "cifar-100", "CIFAR100", "CIFAR-100"),
    archive_names=("cifar100-jpeg.tar.gz", "cifar100.tar.gz", "cifar-100.tar.gz"),
    # The standard CIFAR-100 statistics, computed the same way as CIFAR-10's.
    mean=(0.5071, 0.4865, 0.4409),
    std=(0.2673, 0.2564, 0.2762),
)
CIFAR20 = replace(CIFAR100, name="cifar20", title="CIFAR-20", coarse=True)


@DATASETS.register("cifar10")
@declare_classes(10)
def load_cifar10(source: DataSource) -> ImageDataset:
    """CIFAR-10: 50,000 train + 10,000 test images, 3 x 32 x 32."""
    return load_cifar(CIFAR10, source)


@DATASETS.register("cifar100")
@declare_classes(100)
def load_cifar100(source: DataSource) -> ImageDataset:
    """CIFAR-100 with its 100 fine labels."""
    return load_cifar(CIFAR100, source)


@DATASETS.register("cifar20")
@declare_classes(20)
def load_cifar20(source: DataSource) -> ImageDataset:
    """CIFAR-100 images labelled with the 20 coarse superclasses."""
    return load_cifar(CIFAR20, source)


def load_cifar(spec: CifarSpec, source: DataSource) -> ImageDataset:
    """Load the CIFAR variant ``spec`` from the first source found (see the module doc)."""
    root = resolve_data_root(source)
    cache_dir = cache_dir_for(source)
    if root is None:
        payload = _cached_download(spec, cache_dir)
    else:
        payload = _from_root(spec, root, cache_dir)
        if payload is None:
            archive = spec.archive_names[0]
            raise UserError(
                f"no {spec.title} data in {root}: expected {spec.torchvision_folder}/, "
                f"train/ and test/ class folders (in it or in {spec.folder_names[0]}/), or "
                f"{archive}; point --data-root or UNLEARN_DATA_ROOT at one of them"
            )
    classes = list(payload["classes"])
    data = ImageDataset(
        name=spec.name,
        train_x=payload["train_x"],
        train_y=payload["train_y"],
        test_x=payload["test_x"],
        test_y=payload["test_y"],
        classes=tuple(classes),
        mean=spec.mean,
        std=spec.std,
    )
    if spec.coarse:  # CIFAR-20: superclass labels, the fine ones kept for sub-class forgetting
        _check_fine_names(classes, root)
        data = data.with_superclasses(list(CIFAR100_FINE_TO_COARSE), tuple(CIFAR100_COARSE),
                                      spec.name)
    return data


def _from_root(spec: CifarSpec, root: Path, cache_dir: Path) -> Payload | None:
    # a. torchvision pickles; the root may also be the pickle folder itself.
    tv_root = root.parent if root.name == spec.torchvision_folder else root
    if (tv_root / spec.torchvision_folder).is_dir():
        return _read_torchvision(spec, tv_root)
    # b. an image folder, at the root or in a conventionally named subfolder.
    for folder in (root, *(root / name for name in spec.folder_names)):
        if (folder / "train").is_dir() and (folder / "test").is_dir():
            return _read_images(spec, folder, cache_dir)
    # c. an archive: the root itself or a conventionally named file in it.
    for archive in (root, *(root / name for name in spec.archive_names)):
        if is_archive(archive):
            return _read_images(spec, archive, cache_dir)
    return None


def _read_images(spec: CifarSpec, origin: Path, cache_dir: Path) -> Payload:
    """Decode an image folder or archive once; later loads read the cached tensors."""
    # CIFAR-100 and CIFAR-20 share one cache entry: the decoded fine-labelled images.
    cache_name = CIFAR100.name if spec.coarse else spec.name
    key = {
        "loader": "cifar-image-folders",
        "source": fingerprint(origin, IMAGE_SUFFIXES),
        "size": 32,
        "classes": spec.num_classes,
    }
    log.info("using %s images from %s", spec.title, origin)
    return load_or_build(
        cache_dir, cache_name, key,
        lambda: load_split_folders(origin, "RGB", 32, expected_classes=spec.num_classes),
    )


def _read_torchvision(spec: CifarSpec, root: Path, download: bool = False) -> Payload:
    """Read torchvision's pickles (already decoded arrays: no decode cache needed)."""
    from torchvision import datasets as tv  # imported lazily: it is slow to import

    kind = tv.CIFAR10 if spec.num_classes == 10 else tv.CIFAR100
    payload: Payload = {}
    try:
        for split, train in (("train", True), ("test", False)):
            data = kind(str(root), train=train, download=download)
            # .data is N x H x W x C uint8; per-item PIL access would be 100x slower.
            payload[f"{split}_x"] = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
            payload[f"{split}_y"] = torch.as_tensor(data.targets, dtype=torch.int64)
            payload["classes"] = list(data.classes)
    except RuntimeError as error:  # torchvision's "not found or corrupted"
        raise UserError(
            f"{spec.title} files in {root / spec.torchvision_folder} are incomplete or corrupted "
            f"({error}); delete that folder and download it again"
        ) from error
    if len(payload["classes"]) != spec.num_classes:
        raise UserError(f"{root / spec.torchvision_folder} does not hold {spec.title}")
    return payload


def _cached_download(spec: CifarSpec, cache_dir: Path) -> Payload:
    """No data root given: the pickles a torchvision download left in the cache, else a
    one-line error that says how to get the data. Nothing is downloaded: an offline machine
    used to wait for a URLError first, and a run should not fetch 170 MB unasked."""
    target = cache_dir / "torchvision"
    if (target / spec.torchvision_folder).is_dir():
        return _read_torchvision(spec, target)
    raise UserError(
        f"{spec.title} needs a data root: pass --data-root or set UNLEARN_DATA_ROOT to a "
        "torchvision CIFAR folder, an image-folder directory (train/<class>/, test/<class>/) "
        f"or a .tar.gz of one (to download it: python -c \"import torchvision; "
        f"torchvision.datasets.{'CIFAR10' if spec.num_classes == 10 else 'CIFAR100'}('DATA', download=True)\", then "
        "--data-root DATA)")


def _check_fine_names(classes: list[str], root: Path | None) -> None:
    """CIFAR-20 maps fine label ids by position: the folders must be the standard 100 names."""
    names = [name.lower().replace("-", "_").replace(" ", "_") for name in classes]
    if names != list(CIFAR100_FINE):
        odd = sorted(set(names) - set(CIFAR100_FINE))[:3]
        raise UserError(
            f"CIFAR-20 needs the 100 standard CIFAR-100 fine class folders in {root}; "
            f"unexpected names: {', '.join(odd) or '(order differs)'}"
        )
