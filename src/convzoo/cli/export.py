"""convzoo export CHECKPOINT --format onnx|torchscript"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from convzoo.cli.output import console, print_json, show_table
from convzoo.formatting import human

NAME = "export"
HELP = (
    "Export a checkpoint to ONNX or TorchScript and verify the file against PyTorch "
    "on random inputs (max abs difference reported)."
)
EXAMPLE = "convzoo export runs/resnet20/best.pt --format onnx -o resnet20.onnx"


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
    from convzoo.export.checkpoint import export_checkpoint
    from convzoo.export.verified import ExportError

    try:
        done = export_checkpoint(
            args.checkpoint,
            format=args.format,
            output=args.output,
            opset=args.opset,
            rtol=args.rtol,
            atol=args.atol,
            overwrite=args.force,
        )
    except ExportError as exc:
        print(f"convzoo export: failed: {exc}", file=sys.stderr)
        return 1

    result, data = done.result, done.as_dict()
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
