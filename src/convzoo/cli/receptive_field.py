"""convzoo rf LAYER..."""

from __future__ import annotations

import argparse

from rich.table import Table

from convzoo.cli.formats import to_csv, to_markdown
from convzoo.cli.output import console, print_json, show_table

NAME = "rf"
HELP = (
    "Receptive field of a stack of convolutions/pools, layer by layer, with the weights "
    "it costs versus one convolution that sees as much (VGG's 3x3 argument)."
)
EXAMPLE = "convzoo rf 3x3 3x3 3x3   |   convzoo rf --stack conv7s2,pool3s2,conv3,conv3"

COLUMNS = ("layer", "rf", "jump", "start", "stack weights", "one conv this size")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "layers",
        nargs="*",
        help="layers in order: 3x3, conv3, conv3s2 (stride), conv3d2 (dilation), pool2, pool3s2",
    )
    parser.add_argument("--stack", help="the same as a comma-separated list: conv3,conv3,pool2")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="CSV table")
    fmt.add_argument("--markdown", action="store_true", help="Markdown table")


def run(args: argparse.Namespace) -> int:
    from convzoo.analysis.calculators import rf_stack

    layers = list(args.layers) + ([s for s in args.stack.split(",") if s] if args.stack else [])
    rows = rf_stack(layers)
    if args.json:
        print_json([r.as_dict() for r in rows])
        return 0
    cells = [
        (r.layer, r.size, r.jump, f"{r.start:g}", f"{r.weights_c2}C^2", f"{r.single_conv_c2}C^2")
        for r in rows
    ]
    if args.csv or args.markdown:
        print((to_csv if args.csv else to_markdown)(COLUMNS, cells), end="")
        return 0
    table = Table(title="receptive field of the stack (C channels in and out of every conv)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "layer" else "right")
    for row in cells:
        table.add_row(*map(str, row))
    show_table(table)
    last = rows[-1]
    ratio = last.weights_c2 / last.single_conv_c2
    convs = sum(1 for r in rows if r.layer.startswith("conv"))
    console.print(
        f"{len(rows)} layers see {last.size}x{last.size} pixels with {last.weights_c2}C^2 weights; "
        f"a single {last.size}x{last.size} conv would need {last.single_conv_c2}C^2 "
        f"({_percent(ratio)} of it), and has one non-linearity instead of {convs}."
    )
    return 0


def _percent(ratio: float) -> str:
    """55%, 4.5%, 0.45%: two significant digits below 10%, so a small share is never 0%."""
    return f"{ratio:.0%}" if ratio >= 0.1 else f"{ratio * 100:.2g}%"
