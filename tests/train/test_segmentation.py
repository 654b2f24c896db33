"""Segmentation training: loss, border weights, IoU/Dice, refusals, train -> eval -> predict."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import convzoo
from convzoo.cli import main
from convzoo.train.engine import TrainConfig, train
from convzoo.train.segmentation import (
    border_weight_map,
    boundary_bands,
    boundary_counts,
    boundary_scores,
    boundary_width,
    confusion_scores,
    crop_targets,
    pixel_loss,
)

TINY = {"progress": False, "tensorboard": False, "batch_size": 4, "threads": 1}


def test_border_weight_map_by_hand():
    # two objects of class 1 with a 3-pixel gap: 4 foreground, 3 background pixels
    mask = np.array([[1, 1, 0, 0, 0, 1, 1]])
    weights = border_weight_map(mask)
    w_bg, w_fg = 7 / (2 * 3), 7 / (2 * 4)  # w_c: mean 1 over the pixels
    # gap pixels: (d1, d2) = (1, 3), (2, 2), (3, 1) -> d1 + d2 = 4 for each
    border = 10 * math.exp(-(4**2) / (2 * 5**2))
    expected = [w_fg, w_fg, w_bg + border, w_bg + border, w_bg + border, w_fg, w_fg]
    np.testing.assert_allclose(weights[0], expected, rtol=1e-6)
    # one object: no second-nearest border, only the class balance
    single = border_weight_map(np.array([[0, 0, 0, 2]]))
    np.testing.assert_allclose(single[0], [4 / 6, 4 / 6, 4 / 6, 2.0], rtol=1e-6)


def test_iou_and_dice_from_a_hand_computed_confusion():
    confusion = torch.tensor([[5, 1, 0], [2, 3, 0], [0, 0, 0]])  # rows: truth
    s = confusion_scores(confusion)
    # class 0: TP 5, FN 1, FP 2; class 1: TP 3, FN 2, FP 1; class 2 never occurs
    assert s["per_class_iou"][:2] == pytest.approx([100 * 5 / 8, 100 * 3 / 6])
    assert s["per_class_dice"][:2] == pytest.approx([100 * 10 / 13, 100 * 6 / 9])
    assert s["per_class_iou"][2] is None and s["per_class_dice"][2] is None
    assert s["miou"] == pytest.approx(100 * (5 / 8 + 3 / 6) / 2)
    assert s["dice"] == pytest.approx(100 * (10 / 13 + 6 / 9) / 2)
    assert s["pixel_acc"] == pytest.approx(100 * 8 / 11)


def test_boundary_iou_by_hand():
    # 6x6: truth has a 4x4 square of class 1 at rows 1-4, columns 1-4; the prediction
    # shifts it one column right, so its right side lies on the image frame
    truth = torch.zeros(1, 6, 6, dtype=torch.long)
    truth[0, 1:5, 1:5] = 1
    predicted = torch.zeros(1, 6, 6, dtype=torch.long)
    predicted[0, 1:5, 2:6] = 1
    assert boundary_width(6, 6) == 1 and boundary_width(64, 64) == 2  # 2% of the diagonal
    bands = boundary_bands(predicted, 2, 1)[0]
    # the frame is no contour: column 5 is in the band only where rows 1 and 4 meet background
    assert bands[1, :, 5].tolist() == [False, True, False, False, True, False]
    inter, union = boundary_counts(predicted, truth, 2, 1)
    # class 1: truth band = the 12-pixel ring; prediction band = rows 1 and 4 (4 + 4) and
    # column 2 at rows 2-3 (2) = 10; shared: rows 1 and 4 at columns 2-4 = 6
    # class 0: every one of the 20 truth background pixels touches the square; prediction
    # band = rows 0 and 5 at columns 1-5 (5 + 5) and column 1 at rows 1-4 (4) = 14; shared 10
    assert inter.tolist() == [10, 6] and union.tolist() == [24, 16]
    scores = boundary_scores(torch.stack([inter, union]))
    assert scores["per_class_boundary_iou"] == pytest.approx([100 * 10 / 24, 100 * 6 / 16])
    assert scores["boundary_iou"] == pytest.approx(100 * (10 / 24 + 6 / 16) / 2)
    perfect = boundary_scores(boundary_counts(truth, truth, 3, 1))  # class 2: no band, no score
    assert perfect["per_class_boundary_iou"] == [100.0, 100.0, None]


def test_valid_unet_targets_are_the_centre_crop():
    targets = torch.arange(2 * 8 * 8).view(2, 8, 8)
    assert torch.equal(crop_targets(targets, (4, 4)), targets[:, 2:6, 2:6])
    logits = torch.zeros(2, 3, 4, 4)
    logits[:, 1] = 10.0  # confident class 1 everywhere
    masks = torch.zeros(2, 8, 8, dtype=torch.long)
    masks[:, 2:6, 2:6] = 1  # the centre is class 1, the border class 0
    assert pixel_loss(logits, masks).item() < 1e-3  # only the centre is scored
    assert pixel_loss(logits, masks, border_weights=True).item() < 1e-2


def test_skip_connections_option_keeps_the_paper_network():
    with torch.device("meta"):
        paper = convzoo.create_model("unet")
        explicit = convzoo.create_model("unet", skip_connections=True)
        without = convzoo.create_model("unet_padded", skip_connections=False)
    count = sum(p.numel() for p in paper.parameters())
    assert count == sum(p.numel() for p in explicit.parameters()) == 31_030_658
    # without skips the first conv of each up stage sees half the channels
    removed = sum(9 * w * w for w in (512, 256, 128, 64))
    assert sum(p.numel() for p in without.parameters()) == count - removed


@pytest.mark.parametrize(
    ("model", "dataset", "message"),
    [
        (
            "unet_padded",
            "digits",
            r"^unet_padded is a segmentation network: it needs a dataset of masks "
            r"\(shapes, oxford-pet, seg-folder:PATH\); digits has class labels$",
        ),
        (
            "lenet5",
            "shapes:size=32",
            r"^lenet5 is a classification network: it needs a dataset of class labels "
            r"\(digits, .*synthetic\); shapes:size=32 has masks$",
        ),
    ],
)
def test_wrong_kind_of_data_is_refused_in_one_line(model, dataset, message, capsys):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig(model=model, dataset=dataset, **TINY))
    assert main(["train", model, "--dataset", dataset]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "it needs a dataset of" in err


def test_train_eval_predict_unet_padded_on_shapes(tmp_path, capsys):
    run = tmp_path / "run"
    cfg = TrainConfig(
        model="unet_padded", dataset="shapes:size=32,train=24,test=8", epochs=1,
        optimizer="adamw", lr=3e-3, border_weights=True, elastic=True,
        model_kwargs={"base_width": 2, "batch_norm": True}, out=str(run), **TINY,
        precision="fp32",  # `convzoo eval` runs in fp32: the scores below must agree exactly
    )  # fmt: skip
    result = train(cfg)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test_images"] == 8 and len(summary["test_per_class_iou"]) == 4
    assert 0 <= summary["test_miou"] <= 100 and "best_val_miou" in summary
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"val_miou", "val_dice", "val_boundary_iou", "val_acc"} <= set(records[-1])
    assert 0 <= summary["test_boundary_iou"] <= 100
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "segmentation" and config["augment"]["elastic"] is True
    assert result.model.num_classes == 4
    capsys.readouterr()  # the training lines

    assert main(["eval", str(run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["miou"] == pytest.approx(summary["test_miou"], abs=1e-6)
    assert evaluated["boundary_iou"] == pytest.approx(summary["test_boundary_iou"], abs=1e-6)
    assert list(evaluated["per_class_iou"]) == ["background", "circle", "rectangle", "triangle"]
    assert main(["eval", str(run)]) == 0
    table = capsys.readouterr().out
    assert "IoU" in table and "triangle" in table and "mean IoU" in table
    assert "Boundary IoU" in table

    image = tmp_path / "photo.png"  # any size: not a multiple of 16
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (37, 50, 3), np.uint8)).save(image)
    assert main(["predict", str(run), str(image), "--out", str(tmp_path / "out"), "--json"]) == 0
    [prediction] = json.loads(capsys.readouterr().out)
    mask = np.asarray(Image.open(prediction["mask"]))
    assert mask.shape == (37, 50) and mask.max() < 4
    assert Image.open(prediction["overlay"]).size == (50, 37)
    assert sum(prediction["class_fractions"].values()) == pytest.approx(1.0)


def test_valid_unet_trains_on_centre_crops_and_predicts_by_tiles(tmp_path, capsys):
    run = tmp_path / "run"
    cfg = TrainConfig(
        model="unet", dataset="shapes:size=32,train=8,test=4", epochs=1, input_size=188,
        model_kwargs={"base_width": 1}, out=str(run), **TINY,
    )  # fmt: skip
    train(cfg)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["input_size"] == [188, 188]
    evaluated = convzoo.train.evaluation.evaluate_checkpoint(run)
    assert evaluated["pixels"] == 4 * 4 * 4  # four test images, 188 -> 4x4 centre each
    image = tmp_path / "scan.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 41, 3), np.uint8)).save(image)
    capsys.readouterr()
    assert main(["predict", str(run), str(image), "--out", str(tmp_path / "out")]) == 0
    assert "overlap-tile, 204 px tiles" in capsys.readouterr().out  # 188 -> 4 px: too small
    assert np.asarray(Image.open(tmp_path / "out" / "scan-mask.png")).shape == (30, 41)


@pytest.mark.slow
def test_encoder_unet_trains_through_the_same_command(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "unet_padded", "--dataset", "shapes:size=32,train=16,test=4",
            "--model-arg", "encoder=resnet18", "--epochs", "1", "--batch-size", "8",
            "--no-progress", "--no-tensorboard", "--threads", "1", "--out", str(run)]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model_kwargs"]["encoder"] == "resnet18"
    model, _ = convzoo.train.checkpoint.model_from_checkpoint(run)
    assert type(model).__name__ == "EncoderUNet" and model.num_classes == 4
