"""Evaluate a trained checkpoint on a dataset's test set.

Classifiers: top-1/top-5, per-class accuracy, confusion matrix. Segmentation
networks: mean IoU, Dice and pixel accuracy, IoU and Dice per class, and the
pixel confusion matrix (see `convzoo.train.segmentation`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from convzoo.data import Batches, load_dataset
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
) -> dict[str, Any]:
    """Test-set metrics of a checkpoint (file or run directory).

    Uses the preprocessing stored with the checkpoint (input size, mean, std).
    Writes ``eval-<dataset>.json`` and ``confusion-<dataset>.png`` to `out_dir`
    (default: the checkpoint's folder) and returns the same data.
    """
    path = resolve_checkpoint(checkpoint)
    model, config = model_from_checkpoint(path)
    name = dataset or config.get("dataset")
    if not name:
        raise ValueError(f"{path} does not record its dataset; pass --dataset")
    task = config.get("task") or model.card.task
    check_dataset(config["model"], task, name)
    data = load_dataset(name, data_dir=data_dir, download=download)
    classes = config.get("classes") or []
    pre = config["preprocess"]
    if data.in_channels != pre["in_channels"] or data.num_classes != len(classes):
        raise ValueError(
            f"{path} was trained on {pre['in_channels']}-channel images of {len(classes)} classes; "
            f"{data.name} has {data.in_channels} channels and {data.num_classes} classes"
        )
    size = tuple(pre["input_size"])
    batches = Batches(
        data.test.resized(size),
        batch_size=batch_size,
        mean=tuple(pre["mean"]),
        std=tuple(pre["std"]),
        shuffle=False,
    )
    metrics = task_for(task).evaluate(
        model, batches, num_classes=data.num_classes, device=torch.device("cpu")
    )
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
    }
    out = Path(out_dir) if out_dir else path.parent
    out.mkdir(parents=True, exist_ok=True)
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
        "pixel_acc": metrics["pixel_acc"],
        "pixels": metrics["pixels"],
        "per_class_iou": dict(zip(classes, metrics["per_class_iou"], strict=True)),
        "per_class_dice": dict(zip(classes, metrics["per_class_dice"], strict=True)),
    }


def _headline(result: dict[str, Any]) -> str:
    if result["task"] == "segmentation":
        return f"mean IoU {result['miou']:.2f}%"
    return f"top-1 {result['top1']:.2f}%"
