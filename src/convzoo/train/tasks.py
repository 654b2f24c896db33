"""What a run optimises and reports, chosen by the model card's ``task``.

The engine is the same for every network; a task supplies what differs between
"classification" (one label per image) and "segmentation" (one label per
pixel): the loss (which also matches the targets to the output, e.g. the centre
crop of the valid-convolution ``unet``), the evaluation, the validation score
that picks the best checkpoint, and the test fields of ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from convzoo.data.catalog import dataset_names, dataset_task
from convzoo.models.base import AuxOutput
from convzoo.train.losses import LossTerms, loss_terms
from convzoo.train.metrics import evaluate
from convzoo.train.segmentation import crop_targets, evaluate_segmentation, pixel_loss

__all__ = ["ClassificationTask", "SegmentationTask", "check_dataset", "task_for"]

# what each kind of network needs, for the refusal message
NEEDS = {
    "classification": "a dataset of class labels ("
    + ", ".join(d for d in dataset_names() if dataset_task(d) == "classification")
    + ")",
    "segmentation": "a dataset of masks ("
    + ", ".join(d for d in dataset_names() if dataset_task(d) == "segmentation")
    + ")",
}


def check_dataset(model: str, model_task: str, dataset: str) -> None:
    """Refuse, in one line, a dataset whose targets the model cannot learn from."""
    kind = dataset_task(dataset)
    if kind != model_task:
        has = "masks" if kind == "segmentation" else "class labels"
        raise ValueError(
            f"{model} is a {model_task} network: it needs {NEEDS[model_task]}; {dataset} has {has}"
        )


def _test_summary(test: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The test results of `keys` as ``test_<key>``, then the number of images."""
    return {**{f"test_{key}": test[key] for key in keys}, "test_images": test["n"]}


@dataclass
class ClassificationTask:
    """Cross-entropy (plus auxiliary heads), top-1/top-5; the best epoch by val accuracy."""

    label_smoothing: float = 0.0
    name: str = "classification"
    score_key: str = "val_acc"

    def __post_init__(self) -> None:
        self.criterion = nn.CrossEntropyLoss(label_smoothing=self.label_smoothing)

    def loss(
        self, output: Tensor | AuxOutput, targets: Tensor, model: nn.Module
    ) -> tuple[LossTerms, Tensor]:
        """(the loss terms, the targets the main logits are scored against)."""
        return loss_terms(output, targets, self.criterion, model), targets

    def evaluate(self, model: nn.Module, batches, **kwargs: Any) -> dict[str, Any]:
        return evaluate(model, batches, **kwargs)

    def val_record(self, val: dict[str, Any]) -> dict[str, float]:
        return {"val_loss": val["loss"], "val_acc": val["top1"], "val_top5": val["top5"]}

    def test_summary(self, test: dict[str, Any]) -> dict[str, Any]:
        return _test_summary(test, ("top1", "top5", "loss"))

    def test_line(self, test: dict[str, Any]) -> str:
        return f"test top-1 {test['top1']:.2f}%  top-5 {test['top5']:.2f}%  ({test['n']} images"


@dataclass
class SegmentationTask:
    """Per-pixel cross-entropy (optionally border-weighted); the best epoch by val mean IoU."""

    label_smoothing: float = 0.0
    border_weights: bool = False
    name: str = "segmentation"
    score_key: str = "val_miou"

    def loss(self, output: Tensor, targets: Tensor, model: nn.Module) -> tuple[LossTerms, Tensor]:
        loss = pixel_loss(
            output,
            targets,
            border_weights=self.border_weights,
            label_smoothing=self.label_smoothing,
        )
        return LossTerms(loss, output, loss), crop_targets(targets, tuple(output.shape[-2:]))

    def evaluate(self, model: nn.Module, batches, **kwargs: Any) -> dict[str, Any]:
        return evaluate_segmentation(model, batches, **kwargs)

    def val_record(self, val: dict[str, Any]) -> dict[str, float]:
        return {
            "val_loss": val["loss"],
            "val_acc": val["pixel_acc"],
            "val_miou": val["miou"],
            "val_dice": val["dice"],
            "val_boundary_iou": val["boundary_iou"],
        }

    def test_summary(self, test: dict[str, Any]) -> dict[str, Any]:
        keys = ("miou", "dice", "boundary_iou", "pixel_acc")
        per_class = ("per_class_iou", "per_class_dice", "per_class_boundary_iou")
        return _test_summary(test, (*keys, *per_class, "loss"))

    def test_line(self, test: dict[str, Any]) -> str:
        return (
            f"test mean IoU {test['miou']:.2f}%  Dice {test['dice']:.2f}%  Boundary IoU "
            f"{test['boundary_iou']:.2f}%  pixel accuracy {test['pixel_acc']:.2f}%  "
            f"({test['n']} images"
        )


Task = ClassificationTask | SegmentationTask


def task_for(
    model_task: str, *, label_smoothing: float = 0.0, border_weights: bool = False
) -> Task:
    """The task object for a model card's ``task``."""
    if model_task == "segmentation":
        return SegmentationTask(label_smoothing, border_weights)
    if border_weights:
        raise ValueError(
            "--border-weights is the U-Net loss weighting: it needs a segmentation model"
        )
    return ClassificationTask(label_smoothing)
