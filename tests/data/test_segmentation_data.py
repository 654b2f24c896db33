"""Segmentation sets (shapes, oxford-pet, seg-folder) and augmentation that moves masks too."""

import numpy as np
import pytest
import torch
from PIL import Image

from convzoo.data import Batches, load_dataset
from convzoo.data.loader import seeded_generator
from convzoo.data.segmentation import JointAugment, MaskSplit, mirror_index


def test_shapes_are_deterministic_with_every_class_and_touching_objects():
    a = load_dataset("shapes:size=32,train=24,test=8")
    b = load_dataset("shapes:size=32,train=48,test=8,seed=0")
    assert a.task == "segmentation" and a.classes == [
        "background",
        "circle",
        "rectangle",
        "triangle",
    ]
    assert a.train.images.shape == (24, 3, 32, 32) and a.train.masks.shape == (24, 32, 32)
    assert torch.equal(a.train.masks, b.train.masks[:24])  # a prefix of a longer draw
    assert torch.equal(a.test.images, b.test.images)  # test set independent of `train`
    assert set(a.train.masks.unique().tolist()) == {0, 1, 2, 3}
    two = load_dataset("shapes:size=32,classes=2,train=8,test=8")
    assert two.classes == ["background", "circle"] and two.train.masks.max() == 1
    # touching: some foreground pixel has a different foreground class as a neighbour
    m = b.train.masks
    right = (m[:, :, 1:] > 0) & (m[:, :, :-1] > 0) & (m[:, :, 1:] != m[:, :, :-1])
    assert right.any()
    with pytest.raises(ValueError, match=r"shapes option must be one of .*got 'colour=3'"):
        load_dataset("shapes:colour=3")


def test_mirror_index_reflects_without_repeating_the_edge():
    assert mirror_index(torch.arange(-3, 7), 4).tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    assert mirror_index(torch.arange(-2, 2), 1).tolist() == [0, 0, 0, 0]


def _coded_pairs(n: int = 6, size: int = 32):
    """Masks of shapes; each image's pixel value is 60 x its mask's class, in every channel."""
    masks = load_dataset(f"shapes:size={size},train={n},test=8").train.masks
    images = (masks.long() * 60).to(torch.uint8)[:, None].expand(-1, 3, -1, -1).contiguous()
    return images, masks.long()


AUGMENTS = {
    "crop": JointAugment(padding=6, flip=False),
    "flip": JointAugment(padding=0, flip=True),
    "elastic": JointAugment(padding=0, flip=False, elastic=True, elastic_sigma=150.0),
    "all": JointAugment(padding=6, flip=True, elastic=True, elastic_sigma=150.0),
}


@pytest.mark.parametrize("name", list(AUGMENTS))
def test_mask_stays_aligned_with_its_image_under_every_augmentation(name):
    images, masks = _coded_pairs()
    aug = AUGMENTS[name]
    out_images, out_masks = aug.batch(images, masks, len(images), slice(None), seeded_generator(3))
    assert out_masks.dtype == masks.dtype and out_masks.shape == masks.shape
    assert not torch.equal(out_masks, masks), "the augmentation must move something"
    decoded = (out_images[:, 0].float() / 60).round().long()
    agree = (decoded == out_masks).float().mean().item()
    if aug.elastic:  # bilinear image vs nearest mask: only pixels on an outline may differ
        m = out_masks
        interior = torch.zeros_like(m, dtype=torch.bool)  # all four neighbours share the class
        interior[:, 1:-1, 1:-1] = (
            (m[:, 1:-1, 1:-1] == m[:, :-2, 1:-1]) & (m[:, 1:-1, 1:-1] == m[:, 2:, 1:-1])
            & (m[:, 1:-1, 1:-1] == m[:, 1:-1, :-2]) & (m[:, 1:-1, 1:-1] == m[:, 1:-1, 2:])
        )  # fmt: skip
        assert agree > 0.9, agree
        assert (decoded == m)[interior].float().mean().item() > 0.99
    else:
        assert agree == 1.0
        assert torch.equal(out_images[:, 0], out_images[:, 2])
    # the same pairs with the masks left alone disagree: the check can fail
    assert (decoded == masks).float().mean().item() < agree


def test_joint_augment_in_batches_is_seeded_and_sharded_like_one_process():
    images, masks = _coded_pairs(8)
    split = MaskSplit(images, masks.to(torch.uint8))
    aug = JointAugment(padding=4, flip=True, elastic=True, elastic_sigma=100.0)

    def run(rank, world):
        return list(
            Batches(
                split, batch_size=4, mean=(0.5,) * 3, std=(0.5,) * 3, shuffle=True,
                augment=aug, seed=1, rank=rank, world_size=world,
            ).epoch(2)
        )  # fmt: skip

    single = run(0, 1)
    parts = [run(r, 2) for r in range(2)]
    for step, (x, y) in enumerate(single):
        assert torch.equal(y, torch.cat([parts[0][step][1], parts[1][step][1]]))
        assert torch.allclose(x, torch.cat([parts[0][step][0], parts[1][step][0]]))
    assert torch.equal(single[0][1], run(0, 1)[0][1])  # same seed, same epoch: same pairs


def _write_pair(folder, name, size=(12, 10), mask_size=None, value=1):
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(len(name))
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
        folder / "images" / f"{name}.jpg"
    )
    mw, mh = mask_size or size
    mask = np.zeros((mh, mw), dtype=np.uint8)
    mask[2:5, 3:7] = value
    Image.fromarray(mask).save(folder / "masks" / f"{name}.png")


def test_seg_folder_loads_pairs_and_trains_batches(tmp_path):
    for i in range(5):
        _write_pair(tmp_path, f"img{i}", value=1 + i % 2)
    data = load_dataset(f"seg-folder:{tmp_path}")
    assert data.task == "segmentation" and data.classes == ["class0", "class1", "class2"]
    assert len(data.train) == 4 and len(data.test) == 1
    (tmp_path / "classes.txt").write_text("sky\nroad\ncar\n")
    data = load_dataset(f"seg-folder:{tmp_path}")
    assert data.classes == ["sky", "road", "car"]
    split = data.train.resized((20, 24))
    batch = Batches(split, batch_size=2, mean=(0.5,) * 3, std=(0.5,) * 3, shuffle=False)
    x, y = next(iter(batch.epoch()))
    assert x.shape == (2, 3, 20, 24) and y.shape == (2, 20, 24) and y.dtype == torch.long
    assert set(y.unique().tolist()) <= {0, 1, 2}


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("missing", r"seg-folder: image .*images/b\.jpg has no mask .*masks/b\.png$"),
        ("orphan", r"seg-folder: mask .*masks/c\.png has no image of that name in .*images$"),
        ("size", r"seg-folder: mask .*masks/b\.png is 12x9, its image .*images/b\.jpg is 12x10$"),
        ("value", r"seg-folder: mask .*masks/b\.png holds class 5, but .*classes\.txt names 2"),
    ],
)
def test_seg_folder_problems_are_one_line_naming_the_file(tmp_path, problem, message):
    for name in ("a", "d", "e", "f"):
        _write_pair(tmp_path, name)
    if problem == "missing":
        _write_pair(tmp_path, "b")
        (tmp_path / "masks" / "b.png").unlink()
    elif problem == "orphan":
        _write_pair(tmp_path, "c")
        (tmp_path / "images" / "c.jpg").unlink()
    elif problem == "size":
        _write_pair(tmp_path, "b", mask_size=(12, 9))
    else:
        _write_pair(tmp_path, "b", value=5)
        (tmp_path / "classes.txt").write_text("background\nthing\n")
    with pytest.raises(ValueError, match=message) as info:
        load_dataset(f"seg-folder:{tmp_path}")
    assert "\n" not in str(info.value)


def test_oxford_pet_trimaps_from_the_torchvision_layout(tmp_path):
    base = tmp_path / "oxford-iiit-pet"
    (base / "images").mkdir(parents=True)
    (base / "annotations" / "trimaps").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = {"trainval": ["Abyssinian_1", "beagle_2", "beagle_3"], "test": ["pug_4"]}
    for split, ids in names.items():
        lines = [f"{i} 1 1 1" for i in ids]
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
        for i in ids:
            Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(
                base / "images" / f"{i}.jpg"
            )
            trimap = np.full((30, 40), 2, dtype=np.uint8)  # background
            trimap[8:20, 10:30] = 1  # pet
            trimap[8, 10:30] = 3  # border
            Image.fromarray(trimap).save(base / "annotations" / "trimaps" / f"{i}.png")
    data = load_dataset("oxford-pet", data_dir=tmp_path, download=False)
    assert data.classes == ["pet", "background", "border"] and data.task == "segmentation"
    assert (len(data.train), len(data.test)) == (3, 1)
    batches = Batches(data.test.resized((30, 40)), batch_size=1, mean=(0.5,) * 3, std=(0.5,) * 3,
                      shuffle=False)  # fmt: skip
    _, mask = next(iter(batches.epoch()))
    assert mask[0, 0, 0] == 1 and mask[0, 10, 15] == 0 and mask[0, 8, 15] == 2
    with pytest.raises(FileNotFoundError, match=r"oxford-pet: not found in .*downloads disabled"):
        load_dataset("oxford-pet", data_dir=tmp_path / "elsewhere", download=False)
