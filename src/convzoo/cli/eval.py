"""convzoo eval RUN_DIR_OR_CHECKPOINT [--dataset D]"""

from __future__ import annotations

import argparse
import warnings

from rich.table import Table

from convzoo.cli.output import console, print_json, show_table
from convzoo.cli.train import add_speed_arguments
from convzoo.errors import ConvzooWarning

NAME = "eval"
HELP = (
    "Evaluate a checkpoint on a test set: top-1, top-5, per-class accuracy, confusion matrix; "
    "segmentation: mean IoU, Dice, Boundary IoU, per class."
)
EXAMPLE = "convzoo eval runs/lenet5-fashion-mnist-20260101-120000 --dataset fashion-mnist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a run directory (its best.pt) or a .pt file")
    parser.add_argument("--dataset", help="default: the dataset the model was trained on")
    parser.add_argument(
        "--data-dir", help="look for dataset files here first (default: the run's --data-dir)"
    )
    parser.add_argument("--no-download", action="store_true")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", help="folder for eval-*.json and confusion-*.png")
    parser.add_argument(
        "--allow-other-classes",
        action="store_true",
        help="evaluate even if the dataset's class names differ from the checkpoint's",
    )
    add_speed_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.train.evaluation import evaluate_checkpoint

    result = evaluate_checkpoint(
        args.checkpoint,
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=not args.no_download,
        batch_size=args.batch_size,
        out_dir=args.out,
        allow_other_classes=args.allow_other_classes,
        precision=args.precision,
        channels_last=args.channels_last,
        on_choice=None if args.json else console.print,
    )
    for note in result["warnings"]:
        warnings.warn(note, ConvzooWarning, stacklevel=1)
    if args.json:
        print_json(result)
        return 0
    table = Table(title=f"{result['model']} on {result['dataset']} ({result['images']} images)")
    table.add_column("class")
    if result["task"] == "segmentation":
        table.add_column("IoU", justify="right")
        table.add_column("Dice", justify="right")
        table.add_column("Boundary IoU", justify="right")
        for name, iou in result["per_class_iou"].items():
            dice, edge = result["per_class_dice"][name], result["per_class_boundary_iou"][name]
            table.add_row(name, percent(iou), percent(dice), percent(edge))
        summary = (
            f"mean IoU {result['miou']:.2f}%  Dice {result['dice']:.2f}%  "
            f"Boundary IoU {result['boundary_iou']:.2f}%  "
            f"pixel accuracy {result['pixel_acc']:.2f}%  loss {result['loss']:.4f}"
        )
    else:
        table.add_column("accuracy", justify="right")
        for name, acc in result["per_class_accuracy"].items():
            table.add_row(name, f"{acc:.2f}%")
        summary = (
            f"top-1 {result['top1']:.2f}%  top-5 {result['top5']:.2f}%  loss {result['loss']:.4f}"
        )
    show_table(table)
    console.print(summary)
    console.print(f"wrote {result['json']} and {result['png']}")
    return 0


def percent(value: float | None) -> str:
    """A class absent from truth and prediction has no score."""
    return "-" if value is None else f"{value:.2f}%"
