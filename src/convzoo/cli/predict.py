"""convzoo predict CHECKPOINT IMAGE... (class probabilities, or masks for segmentation)"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from convzoo.cli.output import console, print_json
from convzoo.cli.train import add_speed_arguments

NAME = "predict"
HELP = (
    "Top-k class probabilities for image files, with the checkpoint's own preprocessing "
    "(channels, size, normalisation); a segmentation checkpoint writes a mask PNG and an "
    "overlay per image (unet: overlap-tile, any size)."
)
EXAMPLE = (
    "convzoo predict runs/lenet5/best.pt shoe.png shirt.jpg --top-k 3\n"
    "  convzoo predict runs/unet_padded-shapes-20260101-120000 scan.png --out masks/"
)

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
    parser.add_argument(
        "--out", help="segmentation: folder for the masks (default: RUN_DIR/predictions)"
    )
    parser.add_argument(
        "--tile", type=int, help="segmentation with unet: input tile side (default: training size)"
    )
    add_speed_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.export.predict import Predictor, Preprocess, expand_image_paths
    from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint

    path = resolve_checkpoint(args.checkpoint)
    model, config = model_from_checkpoint(path)
    paths = expand_image_paths(args.images)
    setting = speed_setting(args, model, config, images=len(paths))
    if model.card.task == "segmentation":
        with setting.autocast():
            return run_segmentation(args, model, config, paths, path.parent / "predictions")
    predictor = Predictor(model, Preprocess.from_config(config), config.get("classes"))
    with setting.autocast():
        results = predictor.predict_files(paths, top_k=args.top_k)
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


def speed_setting(args: argparse.Namespace, model, config, *, images: int):
    """The precision and layout for `images` inputs (see `inference_speed`); prepares `model`."""
    import torch

    from convzoo.speed import Setting
    from convzoo.train.autotune import inference_speed

    pre = config.get("preprocess") or {}
    shape = (pre.get("in_channels", 3), *pre.get("input_size", model.default_input_size))
    choice = inference_speed(
        model, name=config["model"], input_shape=tuple(shape), batch=min(images, 32) or 1,
        images=images, precision=args.precision, channels_last=args.channels_last,
    )  # fmt: skip
    if not args.json:
        console.print(choice.line())
    if choice.channels_last:
        model.to(memory_format=torch.channels_last)
    return Setting(choice.precision, choice.channels_last)


def run_segmentation(args: argparse.Namespace, model, config, paths, default_out) -> int:
    from convzoo.export.segment import SegmentationPredictor

    predictor = SegmentationPredictor.from_parts(model, config, tile=args.tile)
    results = predictor.predict_files(paths, args.out or default_out)
    failed = [r for r in results if not r.ok]
    if args.json:
        print_json([r.as_dict() for r in results])
        return 1 if failed else 0
    table = Table(title=f"{config['model']}: masks ({predictor.method})")
    for column in ("image", "size", "classes (share of pixels)", "mask", "overlay"):
        table.add_column(column)
    for r in results:
        if r.ok:
            shares = ", ".join(f"{n} {100 * f:.1f}%" for n, f in r.fractions.items() if f > 0)
            table.add_row(r.path, f"{r.size[1]}x{r.size[0]}", shares, r.mask, r.overlay)
    if len(failed) < len(results):
        console.print(table)
    for r in failed:
        errors.print(f"[red]error:[/red] {escape(r.error or '')}", highlight=False, soft_wrap=True)
    return 1 if failed else 0
