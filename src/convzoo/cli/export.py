"""convzoo export CHECKPOINT --format onnx|torchscript"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from convzoo.cli.output import console, print_json, show_table
from convzoo.formatting import human
from convzoo.outputs import prepare_output

NAME = "export"
HELP = (
    "Export a checkpoint to ONNX or TorchScript and verify the file against PyTorch "
    "on random inputs (max abs difference reported)."
)
EXAMPLE = "convzoo export runs/resnet20/best.pt --format onnx -o resnet20.onnx"

SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a checkpoint file or a run directory")
    parser.add_argument(
        "--format", required=True, choices=("onnx", "torchscript"), help="file format"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="output file (default: next to the checkpoint)"
    )
    parser.add_argument(
        "--opset", type=int, help="ONNX opset (default: the one torch.onnx implements natively)"
    )
    parser.add_argument(
        "--rtol", type=float, default=1e-4, help="allowed difference per unit of max |logit|"
    )
    parser.add_argument(
        "--atol", type=float, default=0.0, help="allowed absolute difference on top (default 0)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.export.verified import DEFAULT_OPSET, ExportError, export_model
    from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint

    checkpoint = resolve_checkpoint(args.checkpoint)
    model, config = model_from_checkpoint(checkpoint)
    prep = config.get("preprocess") or {}
    in_channels = int(prep.get("in_channels", model.in_channels))
    height, width = prep.get("input_size", model.default_input_size)
    output = prepare_output(
        args.output or checkpoint.with_name(checkpoint.stem + SUFFIX[args.format]),
        what="export file",
        overwrite=args.force,
    )
    metadata = {
        "model": config.get("model"),
        "preprocess": prep,
        "classes": config.get("classes"),
        "source_checkpoint": str(checkpoint),
    }
    try:
        result = export_model(
            model,
            output,
            format=args.format,
            input_size=(in_channels, int(height), int(width)),
            opset=args.opset or DEFAULT_OPSET,
            rtol=args.rtol,
            atol=args.atol,
            metadata=metadata,
        )
    except ExportError as exc:
        print(f"convzoo export: failed: {exc}", file=sys.stderr)
        return 1

    data = {"checkpoint": str(checkpoint), "model": config.get("model"), **result.as_dict()}
    if args.json:
        print_json(data)
        return 0
    table = Table(title=f"{data['model']} -> {result.format}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    c, h, w = result.input_shape
    rows = (
        ("size", human(data["bytes"], "B")),
        ("exporter", result.exporter),
        ("input", f"(batch, {c}, {h}, {w}), batch axis dynamic"),
        ("verified", f"random inputs, batches {', '.join(map(str, result.batch_sizes))}"),
        (
            "max abs diff",
            f"{result.max_abs_diff:.3g}  (limit {result.limit:.3g}; "
            f"max |logit| {result.max_abs_output:.3g})",
        ),
        ("time", f"export {result.export_seconds:.1f}s, verify {result.verify_seconds:.1f}s"),
    )
    for key, value in rows:
        table.add_row(key, value)
    show_table(table)
    for file in result.files:  # outside the table: a path to copy is never cut or folded
        console.print(f"wrote {file}", soft_wrap=True, highlight=False)
    return 0
