"""Data-set loaders: embedded sets, image folders and archives, the decode cache, real data."""

from __future__ import annotations

import io
import os
import pickle
import re
import tarfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.core.errors import UserError
from datasets import (
    DATASETS,
    DataSource,
    cifar,
    disk_cache,
    faces,
    imagefolder,
    import_builtins,
    load_dataset,
)
from datasets.digits import digits_arrays, load_digits
from datasets.synthetic import make_synthetic

CLASSES = ("cat", "ant", "bee")  # deliberately unsorted: labels must follow sorted names
SORTED = tuple(sorted(CLASSES))
TINY10 = replace(cifar.CIFAR10, num_classes=3)  # the CIFAR-10 path, accepting 3 classes


def colour(label: int, index: int, split: str) -> tuple[int, int, int]:
    """A distinct solid colour per image, so decoded pixels identify the file."""
    return (40 * label + 10, 20 * index + 5, 200 if split == "train" else 100)


def make_tree(root: Path, per_split: dict[str, int] | None = None) -> Path:
    """``root/{train,test}/<class>/<i>.png``: 32x32 lossless solid-colour images."""
    for split, count in (per_split or {"train": 4, "test": 2}).items():
        for name in CLASSES:
            (root / split / name).mkdir(parents=True)
            for index in range(count):
                image = Image.new("RGB", (32, 32), colour(SORTED.index(name), index, split))
                image.save(root / split / name / f"{index:02d}.png")
    return root


def make_archive(folder: Path, archive: Path, top: str | None = None) -> Path:
    """A .tar.gz of ``folder``'s contents, optionally under one top-level folder."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            tar.add(path, arcname=f"{top}/{rel}" if top else rel, recursive=False)
    return archive


def check_tiny(data) -> None:
    assert data.classes == SORTED
    assert data.train_x.shape == (12, 3, 32, 32) and data.test_x.shape == (6, 3, 32, 32)
    assert data.train_x.dtype == torch.uint8 and data.train_y.dtype == torch.int64
    assert data.train_y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    for x, y, split, count in ((data.train_x, data.train_y, "train", 4), (data.test_x, data.test_y, "test", 2)):
        for row in range(len(y)):
            expected = torch.tensor(colour(int(y[row]), row % count, split), dtype=torch.uint8)
            assert torch.equal(x[row, :, 0, 0], expected)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNLEARN_DATA_ROOT", raising=False)
    monkeypatch.delenv("UNLEARN_CACHE_DIR", raising=False)


def test_builtins_registered() -> None:
    import_builtins()
    for name in ("digits", "synthetic", "cifar10", "cifar100", "cifar20", "faces"):
        assert name in DATASETS


def test_digits_shapes_split_and_determinism() -> None:
    data = load_dataset("digits")
    again = load_digits(DataSource(seed=7))  # the split must not depend on the run seed
    assert data.train_x.shape[1:] == (1, 8, 8) and len(data.train_x) + len(data.test_x) == 1797
    assert data.train_x.dtype == torch.uint8 and data.test_y.dtype == torch.int64
    assert data.classes == tuple("0123456789")
    assert int(data.train_x.max()) == 255 and int(data.train_x.min()) == 0
    per_class = torch.bincount(data.test_y, minlength=10)
    totals = per_class + torch.bincount(data.train_y, minlength=10)
    assert torch.all((per_class.double() / totals - 0.2).abs() < 0.02)
    assert torch.equal(data.test_x, again.test_x) and torch.equal(data.train_y, again.train_y)
    assert data.mean == imagefolder.channel_stats(data.train_x)[0]


def test_digits_read_without_scikit_learn_equal_its_loader() -> None:
    from sklearn.datasets import load_digits as sklearn_digits

    images, labels = digits_arrays()
    bunch = sklearn_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(labels, bunch.target)


def test_synthetic_defaults_and_overrides() -> None:
    data = load_dataset("synthetic")
    assert data.train_x.shape == (600, 3, 8, 8) and data.test_x.shape == (200, 3, 8, 8)
    assert torch.bincount(data.train_y).tolist() == [60] * 10
    assert torch.bincount(data.test_y).tolist() == [20] * 10
    assert torch.equal(data.train_x, make_synthetic().train_x)
    assert not torch.equal(data.train_x, make_synthetic(seed=1).train_x)
    small = make_synthetic(num_classes=4, train_per_class=5, test_per_class=3, channels=1, size=6)
    assert small.train_x.shape == (20, 1, 6, 6) and small.num_classes == 4 and len(small.std) == 1


def test_synthetic_is_learnable() -> None:
    torch.manual_seed(0)
    data = make_synthetic()
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10),
    )
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):  # "a few epochs": the data set's promise to the other tests
        for batch in torch.randperm(600).split(50):
            x = (data.train_x[batch].float() / 255 - mean) / std
            loss = torch.nn.functional.cross_entropy(net(x), data.train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        predicted = net((data.test_x.float() / 255 - mean) / std).argmax(1)
    assert (predicted == data.test_y).float().mean() > 0.9


def test_image_folder_at_root_and_in_named_subfolder(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    check_tiny(cifar.load_cifar(TINY10, DataSource(str(make_tree(tmp_path / "a")), cache)))
    make_tree(tmp_path / "b" / "cifar10-jpeg")
    check_tiny(cifar.load_cifar(TINY10, DataSource(str(tmp_path / "b"), cache)))


@pytest.mark.parametrize("top", [None, "cifar10"])
def test_archive_as_root_and_by_name(tmp_path: Path, top: str | None) -> None:
    folder = make_tree(tmp_path / "tree")
    (tmp_path / "data").mkdir()
    archive = make_archive(folder, tmp_path / "data" / "cifar10-jpeg.tar.gz", top)
    check_tiny(cifar.load_cifar(TINY10, DataSource(str(archive), str(tmp_path / "c1"))))
    check_tiny(cifar.load_cifar(TINY10, DataSource(str(tmp_path / "data"), str(tmp_path / "c2"))))


def test_unsafe_archive_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo("train/../../evil.png")
        member.size = 3
        tar.addfile(member, io.BytesIO(b"abc"))
    with pytest.raises(UserError, match="refusing"):
        imagefolder.read_tree(archive)


def test_cifar_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError, match=re.escape(str(missing))):
        load_dataset("cifar10", DataSource(str(missing)))
    monkeypatch.setenv("UNLEARN_DATA_ROOT", str(missing))
    with pytest.raises(UserError, match="UNLEARN_DATA_ROOT"):
        load_dataset("cifar10")
    monkeypatch.delenv("UNLEARN_DATA_ROOT")
    with pytest.raises(UserError, match="no CIFAR-10 data"):
        load_dataset("cifar10", DataSource(str(tmp_path)))
    with pytest.raises(UserError, match="3 class folders, expected 10"):
        load_dataset("cifar10", DataSource(str(make_tree(tmp_path / "t")), str(tmp_path / "c")))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(UserError, match="--data-root") as error:
        load_dataset("cifar10", DataSource(cache_dir=str(tmp_path / "dl")))
    assert "\n" not in str(error.value)


def write_torchvision_cifar100(root: Path, per_class: int = 2) -> None:
    """A tiny fake ``cifar-100-python`` folder (torchvision's checksums are patched out)."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    labels = [k for k in range(100) for _ in range(per_class)]
    data = np.array([[k] * 3072 for k in labels], dtype=np.uint8)
    for name in ("train", "test"):
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "fine_labels": labels}, handle)
    with open(folder / "meta", "wb") as handle:
        pickle.dump({"fine_label_names": list(cifar.CIFAR100_FINE)}, handle)


def test_cifar20_coarse_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = torch.tensor(cifar.CIFAR100_FINE_TO_COARSE)
    assert len(table) == 100 and len(cifar.CIFAR100_COARSE) == 20
    assert torch.bincount(table).tolist() == [5] * 20
    assert list(cifar.CIFAR100_FINE) == sorted(cifar.CIFAR100_FINE)
    fine = dict(zip(cifar.CIFAR100_FINE, cifar.CIFAR100_FINE_TO_COARSE, strict=True))
    assert cifar.CIFAR100_COARSE[fine["whale"]] == "aquatic_mammals"
    assert cifar.CIFAR100_COARSE[fine["tractor"]] == "vehicles_2"

    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *args, **kwargs: True)
    write_torchvision_cifar100(tmp_path)
    source = DataSource(str(tmp_path), str(tmp_path / "cache"))
    fine_set = load_dataset("cifar100", source)
    coarse_set = load_dataset("cifar20", source)
    assert fine_set.num_classes == 100 and coarse_set.num_classes == 20
    assert fine_set.train_x.shape == (200, 3, 32, 32)
    assert torch.equal(coarse_set.train_y, table[fine_set.train_y])
    assert torch.bincount(coarse_set.test_y).tolist() == [10] * 20


def make_faces_tree(root: Path, counts: dict[str, int]) -> Path:
    for person, count in counts.items():
        (root / person).mkdir(parents=True)
        for index in range(count):
            Image.new("RGB", (20, 20), (index * 9, 50, 90)).save(root / person / f"{person}_{index:04d}.png")
    return root


def test_faces_split_is_deterministic(tmp_path: Path) -> None:
    counts = {"Zed_B": 10, "Ann_A": 5, "Solo_S": 1, "Two_T": 2}
    make_faces_tree(tmp_path / "data" / "faces", counts)
    source = DataSource(str(tmp_path / "data"), str(tmp_path / "cache"))
    data = faces.make_faces(source, size=16)
    assert data.classes == ("Ann_A", "Solo_S", "Two_T", "Zed_B")
    assert data.train_x.shape[1:] == (3, 16, 16) and len(data.train_x) + len(data.test_x) == 18
    assert torch.bincount(data.test_y, minlength=4).tolist() == [1, 0, 1, 2]
    train, test = faces.split_identity([f"{i:02d}" for i in range(10)], 0.2)
    assert test == ["02", "07"] and len(train) == 8
    assert faces.split_identity(["b", "a"], 0.2) == (["a"], ["b"])
    # The same tree packed as an archive gives the same data set.
    archive = make_archive(tmp_path / "data", tmp_path / "lfw100-faces.tar.gz")
    packed = faces.make_faces(DataSource(str(archive), str(tmp_path / "cache2")), size=16)
    assert torch.equal(packed.test_x, data.test_x) and torch.equal(packed.train_y, data.train_y)
    with pytest.raises(UserError, match="no face images"):
        faces.make_faces(DataSource(str(tmp_path / "cache")))


def test_decode_cache_hit_corruption_and_invalidation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    source = DataSource(str(root), str(cache))
    first = cifar.load_cifar(TINY10, source)
    (entry,) = cache.glob("cifar10-*.pt")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    real_decode = imagefolder.decode_images
    monkeypatch.setattr(imagefolder, "decode_images", no_decoding)
    assert torch.equal(cifar.load_cifar(TINY10, source).test_x, first.test_x)

    monkeypatch.setattr(imagefolder, "decode_images", real_decode)
    entry.write_bytes(b"not a torch file")
    check_tiny(cifar.load_cifar(TINY10, source))
    assert entry.stat().st_size > 100  # rewritten

    # Replacing one image changes the folder fingerprint: a new entry, never a stale one.
    image = root / "test" / "ant" / "00.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(image)
    os.utime(image, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cifar.load_cifar(TINY10, source).test_x[0, :, 0, 0].tolist() == [1, 2, 3]
    assert len(list(cache.glob("cifar10-*.pt"))) == 2
    assert not list(cache.glob(".*.tmp"))


def test_load_or_build_counts_builds_and_checks_crc(tmp_path: Path) -> None:
    calls = []
    pixels = torch.full((4096,), 7, dtype=torch.uint8)

    def build() -> dict:
        calls.append(1)
        return {"x": pixels, "names": ["a", "b"], "mean": [0.5]}

    for _ in range(2):
        payload = disk_cache.load_or_build(tmp_path, "thing", {"k": 1}, build)
    assert len(calls) == 1 and payload["names"] == ["a", "b"] and torch.equal(payload["x"], pixels)
    disk_cache.load_or_build(tmp_path, "thing", {"k": 2}, build)
    assert len(calls) == 2
    # A flipped bit inside the tensor data loads fine with torch.load: the CRC must catch it.
    entry = sorted(tmp_path.glob("thing-*.pt"))[0]
    raw = bytearray(entry.read_bytes())
    raw[raw.index(bytes(pixels.numpy())) + 100] ^= 1
    entry.write_bytes(bytes(raw))
    for key in (1, 2):
        assert torch.equal(disk_cache.load_or_build(tmp_path, "thing", {"k": key}, build)["x"], pixels)
    assert len(calls) == 3


# Real data: UNLEARN_DATA_ROOT pointing at the offline copies (see the data README).
def real_source(archive: str) -> DataSource:
    root = os.environ.get("UNLEARN_DATA_ROOT")
    if not root:
        pytest.skip("set UNLEARN_DATA_ROOT to a folder holding the real data sets")
    if not (Path(root) / archive).exists():
        pytest.skip(f"{archive} not found under UNLEARN_DATA_ROOT={root}")
    return DataSource(root)


@pytest.mark.data
def test_real_cifar10() -> None:
    data = load_dataset("cifar10", real_source("cifar10-jpeg.tar.gz"))
    assert data.train_x.shape == (50000, 3, 32, 32) and data.test_x.shape == (10000, 3, 32, 32)
    assert torch.bincount(data.train_y).tolist() == [5000] * 10
    assert data.classes[0] == "airplane" and data.classes[-1] == "truck"


@pytest.mark.data
def test_real_cifar100_and_cifar20() -> None:
    source = real_source("cifar100-jpeg.tar.gz")
    fine, coarse = load_dataset("cifar100", source), load_dataset("cifar20", source)
    assert fine.classes == cifar.CIFAR100_FINE and torch.bincount(fine.test_y).tolist() == [100] * 100
    assert coarse.num_classes == 20 and torch.bincount(coarse.train_y).tolist() == [2500] * 20
    assert torch.equal(coarse.test_y, torch.tensor(cifar.CIFAR100_FINE_TO_COARSE)[fine.test_y])


@pytest.mark.data
def test_real_faces() -> None:
    data = load_dataset("faces", real_source("lfw100-faces.tar.gz"))
    assert data.num_classes == 100 and data.train_x.shape[1:] == (3, 64, 64)
    assert len(data.train_x) + len(data.test_x) == 3011
    assert int(torch.bincount(data.test_y, minlength=100).min()) >= 1
