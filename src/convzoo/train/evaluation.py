"""Evaluate a trained checkpoint on a dataset's test set: top-1/top-5, per class, confusion."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from convzoo.data import Batches, load_dataset
from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint
from convzoo.train.metrics import evaluate, plot_confusion

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

    Uses the preprocessing stored with the checkpoint (input size, mean, std) and,
    for the dataset it was trained on, the ``data_dir`` the run was given.
    Writes ``eval-<dataset>.json`` and ``confusion-<dataset>.png`` to `out_dir`
    (default: the checkpoint's folder) and returns the same data.
    """
    path = resolve_checkpoint(checkpoint)
    model, config = model_from_checkpoint(path)
    name = dataset or config.get("dataset")
    if not name:
        raise ValueError(f"{path} does not record its dataset; pass --dataset")
    if data_dir is None and dataset is None:  # where training found the files
        data_dir = (config.get("train") or {}).get("data_dir")
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
    metrics = evaluate(model, batches, num_classes=data.num_classes, device=torch.device("cpu"))
    result = {
        "checkpoint": str(path),
        "model": config["model"],
        "dataset": data.name,
        "top1": metrics["top1"],
        "top5": metrics["top5"],
        "loss": metrics["loss"],
        "images": metrics["n"],
        "classes": list(data.classes),
        "per_class_accuracy": dict(zip(data.classes, metrics["per_class"], strict=True)),
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
        title=f"{config['model']} on {data.name}: top-1 {metrics['top1']:.2f}%",
    )
    return result
