"""Evaluate a trained checkpoint on a dataset's test set.

Classifiers: top-1/top-5, per-class accuracy, confusion matrix. Segmentation
networks: mean IoU, Dice, Boundary IoU and pixel accuracy, the three per class, and the
pixel confusion matrix (see `convzoo.train.segmentation`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from convzoo.data import Batches, ImageSet, load_dataset
from convzoo.errors import CheckpointError
from convzoo.outputs import prepare_output_dir
from convzoo.speed import Setting
from convzoo.train.autotune import inference_speed
from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint
from convzoo.train.metrics import plot_confusion
from convzoo.train.tasks import check_dataset, task_for

__all__ = ["evaluate_checkpoint"]


def evaluate_checkpoint(
    checkpoint: str | Path,
    *,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    download: bool = True,
    batch_size: int = 256,
    out_dir: str | Path | None = None,
    allow_other_classes: bool = False,
    precision: str = "auto",
    channels_last: str = "auto",
    on_choice: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Test-set metrics of a checkpoint (file or run directory).

    Uses the preprocessing stored with the checkpoint (input size, mean, std) and,
    for the dataset it was trained on, the ``data_dir`` the run was given.
    Refuses a dataset whose class names differ from the checkpoint's (output
    ``i`` would be scored against another class ``i``) unless
    `allow_other_classes`. Writes ``eval-<dataset>.json`` and
    ``confusion-<dataset>.png`` to `out_dir` (default: the checkpoint's folder)
    and returns the same data; ``"warnings"`` lists what makes the numbers doubtful.
    `precision` ("auto", "fp32", "bf16") and `channels_last` ("auto", "on", "off") as in
    training: "auto" is measured (`convzoo.train.autotune.inference_speed`); the choice is
    in ``"speed"`` and passed to `on_choice` as one line before the evaluation starts.
    """
    path = resolve_checkpoint(checkpoint)
    model, config = model_from_checkpoint(path)
    pre = _preprocess(path, config)
    name = dataset or config.get("dataset")
    if not name:
        raise ValueError(f"{path} does not record its dataset; pass --dataset")
    if data_dir is None and dataset is None:  # where training found the files
        data_dir = (config.get("train") or {}).get("data_dir")
    task = config.get("task") or model.card.task
    check_dataset(config["model"], task, name)
    data = load_dataset(name, data_dir=data_dir, download=download)
    classes = list(config.get("classes") or [])
    if data.in_channels != pre["in_channels"] or data.num_classes != len(classes):
        raise ValueError(
            f"{path} was trained on {pre['in_channels']}-channel images of {len(classes)} classes; "
            f"{data.name} has {data.in_channels} channels and {data.num_classes} classes"
        )
    if classes != list(data.classes) and not allow_other_classes:
        raise ValueError(_class_mismatch(path, config.get("dataset"), classes, data))
    size = tuple(pre["input_size"])
    batches = Batches(
        data.test.resized(size),
        batch_size=batch_size,
        mean=tuple(pre["mean"]),
        std=tuple(pre["std"]),
        shuffle=False,
    )
    choice = inference_speed(
        model, name=config["model"], input_shape=(pre["in_channels"], *size), batch=batch_size,
        images=len(data.test), precision=precision, channels_last=channels_last,
    )  # fmt: skip
    if on_choice:
        on_choice(choice.line())
    setting = Setting(choice.precision, choice.channels_last)
    if setting.channels_last:
        model = model.to(memory_format=torch.channels_last)
    metrics = task_for(task).evaluate(
        model, batches, num_classes=data.num_classes, device=torch.device("cpu"),
        autocast_dtype=setting.autocast_dtype, channels_last=setting.channels_last,
    )  # fmt: skip
    result = {
        "checkpoint": str(path),
        "model": config["model"],
        "task": task,
        "dataset": data.name,
        **(_segmentation(metrics, data.classes) if task == "segmentation" else {}),
        **(_classification(metrics, data.classes) if task == "classification" else {}),
        "loss": metrics["loss"],
        "images": metrics["n"],
        "classes": list(data.classes),
        "confusion": metrics["confusion"],
        "warnings": _warnings(metrics, classes, data.classes),
        "speed": choice.as_dict(),
    }
    out = prepare_output_dir(Path(out_dir) if out_dir else path.parent, "eval output folder")
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", data.name).strip("_")
    result["json"] = str(out / f"eval-{tag}.json")
    result["png"] = str(out / f"confusion-{tag}.png")
    Path(result["json"]).write_text(json.dumps(result, indent=2) + "\n")
    plot_confusion(
        metrics["confusion"],
        data.classes,
        Path(result["png"]),
        title=f"{config['model']} on {data.name}: {_headline(result)}",
    )
    return result


PREPROCESS_KEYS = ("in_channels", "input_size", "mean", "std")


def _preprocess(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's preprocessing, or `CheckpointError` naming what is missing."""
    pre = config.get("preprocess")
    if not isinstance(pre, dict):
        raise CheckpointError(
            f"{path}: its config has no 'preprocess' entry ({', '.join(PREPROCESS_KEYS)}), "
            "so the test images cannot be prepared as in training"
        )
    missing = [key for key in PREPROCESS_KEYS if key not in pre]
    if missing:
        raise CheckpointError(f"{path}: its config's 'preprocess' lacks {', '.join(missing)}")
    return pre


def _class_mismatch(path: Path, trained_on: str | None, classes: list[str], data: ImageSet) -> str:
    differ = [(a, b) for a, b in zip(classes, data.classes, strict=True) if a != b]
    shown = ", ".join(f"{a!r} vs {b!r}" for a, b in differ[:3])
    return (
        f"{path} was trained on {trained_on or 'another dataset'} "
        f"(classes {', '.join(classes[:4])}{', ...' if len(classes) > 4 else ''}); "
        f"{data.name} names them differently ({shown}{', ...' if len(differ) > 3 else ''}), "
        "so output i would be scored against another class. Pass --allow-other-classes "
        "to evaluate anyway (e.g. the same classes under other names)"
    )


def _warnings(metrics: dict[str, Any], classes: list[str], names: list[str]) -> list[str]:
    notes = []
    if not math.isfinite(metrics["loss"]):
        notes.append(
            "the model's outputs contain NaN or inf (diverged weights?); "
            "the accuracies are not meaningful"
        )
    if classes != list(names):
        notes.append("class names differ from the checkpoint's; scored by output index")
    return notes


def _classification(metrics: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    return {
        "top1": metrics["top1"],
        "top5": metrics["top5"],
        "per_class_accuracy": dict(zip(classes, metrics["per_class"], strict=True)),
    }


def _segmentation(metrics: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    return {
        "miou": metrics["miou"],
        "dice": metrics["dice"],
        "boundary_iou": metrics["boundary_iou"],
        "pixel_acc": metrics["pixel_acc"],
        "pixels": metrics["pixels"],
        "per_class_iou": dict(zip(classes, metrics["per_class_iou"], strict=True)),
        "per_class_dice": dict(zip(classes, metrics["per_class_dice"], strict=True)),
        "per_class_boundary_iou": dict(
            zip(classes, metrics["per_class_boundary_iou"], strict=True)
        ),
    }


def _headline(result: dict[str, Any]) -> str:
    if result["task"] == "segmentation":
        return f"mean IoU {result['miou']:.2f}%"
    return f"top-1 {result['top1']:.2f}%"
