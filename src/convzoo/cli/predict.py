"""convzoo predict CHECKPOINT IMAGE..."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from convzoo.cli.output import console, print_json

NAME = "predict"
HELP = (
    "Top-k class probabilities for image files, with the checkpoint's own preprocessing "
    "(channels, size, normalisation)."
)
EXAMPLE = "convzoo predict runs/lenet5/best.pt shoe.png shirt.jpg --top-k 3"

errors = Console(stderr=True)  # per-file failures, kept apart from the results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a checkpoint file or a run directory")
    parser.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files (PNG, JPEG, ...) or folders of them (their images, sorted by name)",
    )
    parser.add_argument("--top-k", type=int, default=5, help="classes per image (default: 5)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.export.predict import Predictor, expand_image_paths

    predictor = Predictor.from_checkpoint(args.checkpoint)
    results = predictor.predict_files(expand_image_paths(args.images), top_k=args.top_k)
    failed = [r for r in results if not r.ok]
    if args.json:
        print_json([r.as_dict() for r in results])
        return 1 if failed else 0

    prep = predictor.preprocess
    model_name = getattr(getattr(predictor.model, "card", None), "name", "model")
    table = Table(
        title=f"{model_name}: {'RGB' if prep.in_channels == 3 else 'grayscale'} "
        f"{prep.input_size[0]}x{prep.input_size[1]}, top {args.top_k}"
    )
    for column, justify in (("image", "left"), ("rank", "right"), ("class", "left")):
        table.add_column(column, justify=justify)
    table.add_column("probability", justify="right")
    for result in results:
        for rank, score in enumerate(result.top, start=1):
            table.add_row(
                result.path if rank == 1 else "",
                str(rank),
                score.name,
                f"{score.probability:.4f}",
                end_section=rank == len(result.top),
            )
    if len(failed) < len(results):
        console.print(table)
    for result in failed:
        errors.print(
            f"[red]error:[/red] {escape(result.error or '')}", highlight=False, soft_wrap=True
        )
    return 1 if failed else 0
