"""Datasets by name, loaded into memory as uint8 tensors (or an image-file list).

=================  ========  =====  ==========  =====  ==========================
name               images    size   channels    flip   crop padding (native px)
=================  ========  =====  ==========  =====  ==========================
digits (default)   1,797     8x8    1           no     1
mnist              70,000    28x28  1           no     2
fashion-mnist      70,000    28x28  1           yes    2
kmnist             70,000    28x28  1           no     2
cifar10/cifar100   60,000    32x32  3           yes    4
svhn               99,289    32x32  3           no     4
folder:PATH        any       any    3 (RGB)     yes    size // 8
synthetic[:k=v,]   generated 16x16  3           no     2
=================  ========  =====  ==========  =====  ==========================

Horizontal flips are used only where a mirrored image is still an image of the
same class: clothes and CIFAR's objects yes; digits, Kuzushiji characters and
house numbers no (a mirrored 2 or 7 is not a digit). Random crops with zero
padding are used everywhere; the padding is scaled when images are resized.

``digits`` is scikit-learn's bundled copy of the UCI handwritten digits (8x8,
values 0..16, rescaled here to 0..255); it has no official test split, so a
fixed 20% (seed 0, independent of the training seed) is held out as the test
set. ``folder:PATH`` uses ``PATH/train`` and ``PATH/test`` (or ``PATH/val``)
when present, otherwise the same fixed 20% hold-out; every file's header is
checked up front, and ``folder:PATH:skip-bad`` leaves unreadable files out.
Any name followed by ``@N`` (``fashion-mnist@2000``) keeps a fixed random N of its
training images.

Normalisation statistics (per-channel mean and std) are computed from the
training file itself for the in-memory sets; ``folder:`` uses ImageNet's.
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from convzoo.data.catalog import register_dataset
from convzoo.data.files import CorruptFileError, Resource, find_files, md5sum
from convzoo.data.splits import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SKIP_BAD_SUFFIX,
    FolderSplit,
    ImageSet,
    TensorSplit,
    bad_images_message,
    channel_stats,
    holdout,
    scan_images,
)
from convzoo.errors import BadImagesError

__all__ = ["read_idx"]


# -- file formats -----------------------------------------------------------
def read_idx(path: str | Path, *, ndim: int) -> Tensor:
    """Read an IDX file of unsigned bytes (MNIST's format), optionally gzipped.

    Checks the gzip CRC, the magic number, the number of dimensions and that
    the payload holds exactly the bytes the header promises.
    """
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFileError(path, f"cannot decompress it ({exc})") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise CorruptFileError(path, "not an IDX file of unsigned bytes (bad magic number)")
    if data[3] != ndim:
        raise CorruptFileError(path, f"expected {ndim} dimensions, the header says {data[3]}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptFileError(path, "header is truncated")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise CorruptFileError(path, f"holds {len(data)} bytes, its header promises {expected}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header).view(*dims)


def _idx_split(images_path: Path, labels_path: Path, num_classes: int) -> TensorSplit:
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1).long()
    if len(images) != len(labels):
        raise CorruptFileError(
            labels_path, f"{len(labels)} labels for {len(images)} images in {images_path.name}"
        )
    if len(labels) and int(labels.max()) >= num_classes:
        raise CorruptFileError(labels_path, f"label {int(labels.max())} >= {num_classes} classes")
    return TensorSplit(images[:, None].contiguous(), labels)


@dataclass(frozen=True)
class IdxSpec:
    """An MNIST-format dataset; file names, mirrors and MD5s come from torchvision."""

    name: str
    torchvision_class: str
    classes: tuple[str, ...]
    flip: bool
    debian_package: str | None = None

    def resources(self) -> list[Resource]:
        import torchvision.datasets as tvd

        cls = getattr(tvd, self.torchvision_class)
        return [
            Resource(filename, tuple(m + filename for m in cls.mirrors), md5)
            for filename, md5 in cls.resources
        ]


MNIST_LIKE = {
    "mnist": IdxSpec("mnist", "MNIST", tuple("0123456789"), flip=False),
    "fashion-mnist": IdxSpec(
        "fashion-mnist",
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        flip=True,
        debian_package="dataset-fashion-mnist",
    ),
    "kmnist": IdxSpec(
        "kmnist", "KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"), flip=False
    ),
}


# the four files of every MNIST-format set, in the order the loader reads them
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def load_mnist_like(spec: IdxSpec, data_dir: str | Path | None, download: bool) -> ImageSet:
    folders = (spec.name, f"{spec.torchvision_class}/raw")
    try:  # a local copy needs only the names: torchvision (seconds to import) knows the mirrors
        local = [Resource(name, (), None) for name in IDX_FILES]
        files = find_files(spec.name, local, folders=folders, data_dir=data_dir,
                           download_missing=False)  # fmt: skip
    except FileNotFoundError:
        files = find_files(
            spec.name, spec.resources(), folders=folders, data_dir=data_dir,
            download_missing=download, debian_package=spec.debian_package,
        )  # fmt: skip
    paths = [files[name] for name in IDX_FILES]
    # Local copies may be recompressed (Debian's are), so the archive MD5 is only
    # enforced on download; here the content is checked: gzip CRC, header, sizes.
    train = _idx_split(paths[0], paths[1], len(spec.classes))
    test = _idx_split(paths[2], paths[3], len(spec.classes))
    mean, std = channel_stats(train.images)
    return ImageSet(
        spec.name, list(spec.classes), train, test, 1, (28, 28), mean, std,
        flip=spec.flip, crop_padding=2, source=str(paths[0].parent),
    )  # fmt: skip


@dataclass(frozen=True)
class CifarSpec:
    name: str
    torchvision_class: str
    label_key: str  # "labels" or "fine_labels"

    def tv(self):
        import torchvision.datasets as tvd

        return getattr(tvd, self.torchvision_class)

    def archive(self) -> Resource:
        cls = self.tv()
        return Resource(cls.filename, (cls.url,), cls.tgz_md5)

    def members(self) -> dict[str, str]:
        """File name inside the batch folder -> its MD5."""
        cls = self.tv()
        pairs = [*cls.train_list, *cls.test_list, [cls.meta["filename"], cls.meta["md5"]]]
        return {name: md5 for name, md5 in pairs}


CIFAR = {
    "cifar10": CifarSpec("cifar10", "CIFAR10", "labels"),
    "cifar100": CifarSpec("cifar100", "CIFAR100", "fine_labels"),
}


def _unpickle_verified(path: Path, md5: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"missing dataset file {path}")
    got = md5sum(path)
    if got != md5:  # checked before unpickling: only the published files are unpickled
        raise CorruptFileError(path, f"MD5 {got}, expected {md5}")
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="latin1")


def load_cifar(spec: CifarSpec, data_dir: str | Path | None, download: bool) -> ImageSet:
    import tarfile

    from convzoo.data.files import candidate_dirs, download_root, search_roots

    cls = spec.tv()
    members = spec.members()
    folder = next(
        (
            d / cls.base_folder
            for d in candidate_dirs(search_roots(data_dir), (spec.name,))
            if (d / cls.base_folder).is_dir()
        ),
        None,
    )
    if folder is None:
        archive = find_files(
            spec.name, [spec.archive()], folders=(spec.name,),
            data_dir=data_dir, download_missing=download,
        )[spec.archive().filename]  # fmt: skip
        if md5sum(archive) != spec.archive().md5:
            raise CorruptFileError(archive, f"MD5 differs from the published {spec.archive().md5}")
        target = download_root(data_dir) / spec.name
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        folder = target / cls.base_folder

    def split(names: list[list[str]]) -> TensorSplit:
        images, labels = [], []
        for name, _ in names:
            path = folder / name
            entry = _unpickle_verified(path, members[name])
            try:
                images.append(torch.as_tensor(entry["data"]).view(-1, 3, 32, 32))
                labels.extend(entry[spec.label_key])
            except (KeyError, RuntimeError) as exc:
                raise CorruptFileError(path, f"unexpected content ({exc})") from None
        return TensorSplit(torch.cat(images), torch.tensor(labels, dtype=torch.long))

    meta = _unpickle_verified(folder / cls.meta["filename"], members[cls.meta["filename"]])
    train, test = split(cls.train_list), split(cls.test_list)
    mean, std = channel_stats(train.images)
    return ImageSet(
        spec.name, list(meta[cls.meta["key"]]), train, test, 3, (32, 32), mean, std,
        flip=True, crop_padding=4, source=str(folder),
    )  # fmt: skip


def load_svhn(data_dir: str | Path | None, download: bool) -> ImageSet:
    import scipy.io
    import torchvision.datasets as tvd

    resources = [
        Resource(filename, (url,), md5)
        for split, (url, filename, md5) in tvd.SVHN.split_list.items()
        if split in ("train", "test")
    ]
    files = find_files(
        "svhn", resources, folders=("svhn", "SVHN"), data_dir=data_dir, download_missing=download
    )

    def split(resource: Resource) -> TensorSplit:
        path = files[resource.filename]
        got = md5sum(path)
        if got != resource.md5:
            raise CorruptFileError(path, f"MD5 {got}, expected {resource.md5}")
        mat = scipy.io.loadmat(path)
        images = torch.as_tensor(mat["X"]).permute(3, 2, 0, 1).contiguous()  # HWCN -> NCHW
        labels = torch.as_tensor(mat["y"].astype("int64")).flatten()
        return TensorSplit(images, labels % 10)  # SVHN stores the digit 0 as label 10

    train, test = split(resources[0]), split(resources[1])
    mean, std = channel_stats(train.images)
    return ImageSet(
        "svhn", list("0123456789"), train, test, 3, (32, 32), mean, std,
        flip=False, crop_padding=4, source=str(files[resources[0].filename].parent),
    )  # fmt: skip


def load_digits() -> ImageSet:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.as_tensor(bunch.images * (255 / 16)).round().to(torch.uint8)[:, None]
    full = TensorSplit(images.contiguous(), torch.as_tensor(bunch.target, dtype=torch.long))
    train, test = holdout(full)
    mean, std = channel_stats(train.images)
    return ImageSet(
        "digits", list("0123456789"), train, test, 1, (8, 8), mean, std,
        flip=False, crop_padding=1, source="sklearn.datasets.load_digits (bundled)",
        notes=["digits has no official test split: a fixed 20% (seed 0) is the test set"],
    )  # fmt: skip


def load_folder(path: str) -> ImageSet:
    """An ImageFolder tree; every file's header is checked before training starts.

    Unreadable files stop the load with one line listing all of them, unless
    the name ends in ``:skip-bad``: then they are left out, counted and named
    in the dataset's notes (which a training run records).
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    skip_bad = path.endswith(SKIP_BAD_SUFFIX)
    root = Path(path.removesuffix(SKIP_BAD_SUFFIX)).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    test_dir = next((root / n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes, index = find_classes(str(root / "train"))
        train_samples = make_dataset(str(root / "train"), index, IMG_EXTENSIONS)
        test_samples = make_dataset(str(test_dir), index, IMG_EXTENSIONS)
        notes = [f"test set: {test_dir}"]
    else:
        classes, index = find_classes(str(root))
        train_samples, test_samples = make_dataset(str(root), index, IMG_EXTENSIONS), None
        notes = ["no train/ and test/ subfolders: a fixed 20% (seed 0) is the test set"]
    everything = train_samples + (test_samples or [])
    bad = scan_images([p for p, _ in everything])
    if bad and not skip_bad:
        raise BadImagesError(bad_images_message(bad, len(everything)))
    if bad:
        unreadable = {p for p, _ in bad}
        train_samples = [s for s in train_samples if s[0] not in unreadable]
        test_samples = test_samples and [s for s in test_samples if s[0] not in unreadable]
        names = ", ".join(str(Path(p).relative_to(root)) for p, _ in bad)
        notes.append(f"skipped {len(bad)} unreadable image files of {len(everything)}: {names}")
    if test_samples is None:
        train, test = holdout(FolderSplit(train_samples))
    else:
        train, test = FolderSplit(train_samples), FolderSplit(test_samples)
    return ImageSet(
        f"folder:{root}", classes, train, test, 3, None, IMAGENET_MEAN, IMAGENET_STD,
        flip=True, crop_padding=-1, source=str(root), notes=notes,
    )  # fmt: skip


def load_synthetic(options: str = "") -> ImageSet:
    """Learnable generated data: one random template per class plus noise.

    ``synthetic:channels=1,size=8,classes=3,train=256,test=64,seed=0``.
    """
    opts = {"channels": 3, "size": 16, "classes": 4, "train": 256, "test": 64, "seed": 0}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key not in opts or not value.isdigit():
            raise ValueError(f"synthetic option must be one of {sorted(opts)}=INT, got {item!r}")
        opts[key] = int(value)
    g = torch.Generator().manual_seed(opts["seed"])
    c, s, k = opts["channels"], opts["size"], opts["classes"]
    # a distinct brightness per class and channel, plus a random pattern: learnable by
    # tiny networks in a few steps, yet not trivially separable by one pixel
    offsets = torch.rand(k, c, 1, 1, generator=g) * 140 + 40
    templates = offsets + (torch.rand(k, c, s, s, generator=g) - 0.5) * 60

    def make(n: int) -> TensorSplit:
        labels = torch.randint(k, (n,), generator=g)
        noise = torch.randn(n, c, s, s, generator=g) * 40
        images = (templates[labels] + noise).round().clamp(0, 255).to(torch.uint8)
        return TensorSplit(images, labels)

    train, test = make(opts["train"]), make(opts["test"])
    mean, std = channel_stats(train.images)
    return ImageSet(
        "synthetic" + (f":{options}" if options else ""), [f"class{i}" for i in range(k)],
        train, test, c, (s, s), mean, std, flip=False, crop_padding=2, source="generated",
    )  # fmt: skip


# In the order `convzoo train --help` lists them; a loader takes (argument, data_dir, download).
register_dataset("digits", lambda arg, root, fetch: load_digits())
for _name, _spec in MNIST_LIKE.items():
    register_dataset(_name, lambda arg, root, fetch, s=_spec: load_mnist_like(s, root, fetch))
for _name, _spec in CIFAR.items():
    register_dataset(_name, lambda arg, root, fetch, s=_spec: load_cifar(s, root, fetch))
register_dataset("svhn", lambda arg, root, fetch: load_svhn(root, fetch))
register_dataset("folder:PATH", lambda arg, root, fetch: load_folder(arg))
register_dataset("synthetic", lambda arg, root, fetch: load_synthetic(arg), argument="optional")
