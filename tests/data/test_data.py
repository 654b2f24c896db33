"""Dataset files: lookup order, IDX/CIFAR-pickle/ImageFolder parsing, checksums, corruption."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import pickle
import struct
import threading

import numpy as np
import pytest
import torch

from convzoo.data import Augment, Batches, CorruptFileError, load_dataset, split_validation
from convzoo.data import files as files_mod
from convzoo.data.datasets import read_idx
from convzoo.data.files import Resource, download, find_files
from convzoo.data.splits import TensorSplit

FASHION = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No real cache, no system folders, no $CONVZOO_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVZOO_DATA", raising=False)
    monkeypatch.setattr(files_mod, "SYSTEM_DIRS", (tmp_path / "system",))


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def write_mnist_like(folder, n_train=40, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28)),
        rng.integers(0, 10, n_train),
        rng.integers(0, 256, (n_test, 28, 28)),
        rng.integers(0, 10, n_test),
    ]
    for name, array in zip(FASHION, arrays, strict=True):
        (folder / name).write_bytes(gzip.compress(idx_bytes(array)))
    return arrays


def test_idx_files_load_and_lookup_order(tmp_path, monkeypatch):
    a = write_mnist_like(tmp_path / "mine", n_train=40)
    write_mnist_like(tmp_path / "env" / "fashion-mnist", n_train=30)
    write_mnist_like(tmp_path / "system" / "fashion-mnist", n_train=50)
    monkeypatch.setenv("CONVZOO_DATA", str(tmp_path / "env"))
    data = load_dataset("fashion-mnist", data_dir=tmp_path / "mine", download=False)
    assert data.train.images.shape == (40, 1, 28, 28) and data.test.images.shape == (20, 1, 28, 28)
    assert torch.equal(data.train.images[:, 0], torch.as_tensor(a[0], dtype=torch.uint8))
    assert data.classes[0] == "T-shirt/top" and data.flip
    assert len(load_dataset("fashion-mnist", download=False).train) == 30  # $CONVZOO_DATA next
    monkeypatch.delenv("CONVZOO_DATA")
    assert len(load_dataset("fashion-mnist", download=False).train) == 50  # system folder last


def test_truncated_and_inconsistent_files_are_named(tmp_path):
    folder = tmp_path / "d"
    write_mnist_like(folder)
    images = folder / FASHION[0]
    images.write_bytes(images.read_bytes()[:-50])  # truncated gzip stream
    with pytest.raises(CorruptFileError, match=FASHION[0]):
        load_dataset("fashion-mnist", data_dir=folder, download=False)
    raw = folder / "x-idx3-ubyte"
    raw.write_bytes(idx_bytes(np.zeros((3, 4, 4)))[:-1])  # one byte short, uncompressed
    with pytest.raises(CorruptFileError, match="header promises"):
        read_idx(raw, ndim=3)
    write_mnist_like(folder)
    labels = folder / FASHION[1]
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(39))))  # 39 labels for 40 images
    with pytest.raises(CorruptFileError, match="39 labels for 40 images"):
        load_dataset("fashion-mnist", data_dir=folder, download=False)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_checksum(tmp_path, http_server):
    root, url = http_server
    payload = b"some published bytes" * 100
    (root / "file.bin").write_bytes(payload)
    good = Resource(
        "file.bin", (url + "missing.bin", url + "file.bin"), hashlib.md5(payload).hexdigest()
    )
    path = download(good, tmp_path / "dl")  # first mirror 404s, the second works
    assert path.read_bytes() == payload
    bad = Resource("other.bin", (url + "file.bin",), "0" * 32)
    with pytest.raises(OSError, match="checksum mismatch"):
        download(bad, tmp_path / "dl")
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["file.bin"]  # no partial file


def test_missing_dataset_is_downloaded_into_the_cache(tmp_path, http_server, monkeypatch):
    root, url = http_server
    write_mnist_like(root)
    md5 = {n: hashlib.md5((root / n).read_bytes()).hexdigest() for n in FASHION}
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.FashionMNIST, "mirrors", [url])
    monkeypatch.setattr(tvd.FashionMNIST, "resources", [(n, md5[n]) for n in FASHION])
    data = load_dataset("fashion-mnist")
    assert len(data.train) == 40
    assert (tmp_path / "cache" / "convzoo" / "fashion-mnist" / FASHION[0]).is_file()


def test_offline_message_says_where_files_come_from(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("fashion-mnist")
    message = str(info.value)
    for part in ("127.0.0.1:9/train-images-idx3-ubyte.gz", "apt install dataset-fashion-mnist",
                 "--data-dir", "Download failed", str(tmp_path / "cache")):  # fmt: skip
        assert part in message
    with pytest.raises(FileNotFoundError, match="downloads disabled"):
        find_files("x", [Resource("a", ("u",), None)], folders=("x",), download_missing=False)


def write_cifar(folder, n=10):
    rng = np.random.default_rng(0)
    base = folder / "cifar-10-batches-py"
    base.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, n).tolist()}  # fmt: skip
        (base / name).write_bytes(pickle.dumps(entry))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return base, {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in base.iterdir()}


def test_cifar_pickles_checksums_and_corruption(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    base, md5 = write_cifar(tmp_path / "cifar10")
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]]
                                                    for i in range(1, 6)])  # fmt: skip
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {**tvd.CIFAR10.meta, "md5": md5["batches.meta"]})
    data = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert data.train.images.shape == (50, 3, 32, 32) and len(data.test) == 10
    assert data.classes[3] == "c3" and data.flip and data.crop_padding == 4
    (base / "data_batch_3").write_bytes((base / "data_batch_3").read_bytes()[:-7])
    with pytest.raises(CorruptFileError, match=r"data_batch_3.*MD5"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_image_folder_and_unreadable_image(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("cat", "dog"):
            folder = tmp_path / "pets" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(
                    folder / f"{i}.png"
                )
    data = load_dataset(f"folder:{tmp_path / 'pets'}")
    assert data.classes == ["cat", "dog"] and len(data.train) == 12 and len(data.test) == 4
    split = data.train.resized((16, 16))
    batches = Batches(split, batch_size=4, mean=data.mean, std=data.std, shuffle=True,
                      augment=Augment(2, True), num_workers=0)  # fmt: skip
    images, _ = next(batches.epoch(0))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.float32
    bad = tmp_path / "pets" / "train" / "dog" / "0.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"0\.png"):
        list(Batches(split, batch_size=12, mean=data.mean, std=data.std, shuffle=False).epoch(0))


def test_batch_augmentation_and_shards_match_one_process():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).view(2, 1, 6, 6)
    aug = Augment(padding=2, flip=True)
    center = torch.full((2,), 2)
    no_flip = torch.zeros(2, dtype=torch.bool)
    assert torch.equal(aug.apply(images, center, center, no_flip), images)
    shifted = aug.apply(
        images, torch.tensor([0, 4]), torch.tensor([2, 2]), torch.tensor([False, True])
    )
    assert torch.equal(shifted[0, 0, 2:], images[0, 0, :4]) and shifted[0, 0, :2].eq(0).all()
    assert torch.equal(shifted[1, 0, :4], images[1, 0, 2:].flip(-1))

    split = TensorSplit(torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8), torch.arange(64))
    kw = {"batch_size": 16, "mean": (0.5,), "std": (0.25,), "shuffle": True,
          "augment": Augment(1, True), "seed": 3}  # fmt: skip
    whole = list(Batches(split, **kw).epoch(2))
    ranks = [list(Batches(split, rank=r, world_size=2, **kw).epoch(2)) for r in range(2)]
    for step, (x, y) in enumerate(whole):
        assert torch.equal(torch.cat([ranks[0][step][0], ranks[1][step][0]]), x)
        assert torch.equal(torch.cat([ranks[0][step][1], ranks[1][step][1]]), y)
    resumed = list(Batches(split, **kw).epoch(2, start_step=2))  # restart mid-epoch
    assert all(torch.equal(a[0], b[0]) for a, b in zip(resumed, whole[2:], strict=True))
    assert not torch.equal(whole[0][1], next(Batches(split, **kw).epoch(3))[1])  # reshuffled


def test_validation_split_is_seeded_and_disjoint():
    split = TensorSplit(torch.zeros(100, 1, 2, 2, dtype=torch.uint8), torch.arange(100))
    train, val = split_validation(split, 0.2, seed=0)
    _, val2 = split_validation(split, 0.2, seed=0)
    assert len(val) == 20 and torch.equal(val.labels, val2.labels)
    assert not set(train.labels.tolist()) & set(val.labels.tolist())
    assert not torch.equal(split_validation(split, 0.2, seed=1)[1].labels, val.labels)


def test_digits_and_synthetic_work_offline():
    digits = load_dataset("digits")
    assert digits.train.images.shape[1:] == (1, 8, 8) and len(digits.test) == 359
    assert digits.train.images.max() == 255 and not digits.flip
    syn = load_dataset("synthetic:channels=1,size=8,classes=3,train=30,test=9")
    assert syn.train.images.shape == (30, 1, 8, 8) and syn.num_classes == 3
    with pytest.raises(ValueError, match="did you mean 'mnist'"):
        load_dataset("mnits")
