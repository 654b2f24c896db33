"""convzoo cost --kernel K --in C --out C --size HxW"""

from __future__ import annotations

import argparse

from rich.table import Table

from convzoo.cli.formats import to_csv, to_markdown
from convzoo.cli.output import print_json, show_table
from convzoo.formatting import human

NAME = "cost"
HELP = (
    "Params and multiply-adds of one convolution layer done four ways: standard, "
    "depthwise separable, grouped and 1x1-bottleneck, with the ratio to standard."
)
EXAMPLE = "convzoo cost --kernel 3 --in 256 --out 256 --size 56 --groups 32 --bottleneck 4"

COLUMNS = ("design", "structure", "params", "mult-adds", "ratio")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kernel", "-k", type=int, default=3, help="kernel side (default: %(default)s)"
    )
    parser.add_argument(
        "--in",
        dest="in_channels",
        type=int,
        default=256,
        help="input channels (default: %(default)s)",
    )
    parser.add_argument(
        "--out", dest="out_channels", type=int, help="output channels (default: = --in)"
    )
    parser.add_argument(
        "--size", default="56", help="output feature map, H or HxW (default: %(default)s)"
    )
    parser.add_argument(
        "--groups", type=int, default=32, help="groups of the grouped conv (default: %(default)s)"
    )
    parser.add_argument(
        "--bottleneck",
        type=int,
        default=4,
        help="channel reduction of the 1x1 bottleneck (default: %(default)s)",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="CSV table")
    fmt.add_argument("--markdown", action="store_true", help="Markdown table")


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
        raise ValueError(f"--size must be H or HxW, got {text!r}")
    h = int(parts[0])
    return h, int(parts[-1])


def run(args: argparse.Namespace) -> int:
    from convzoo.analysis.calculators import conv_costs

    h, w = _size(args.size)
    out_channels = args.in_channels if args.out_channels is None else args.out_channels
    costs = conv_costs(
        args.kernel,
        args.in_channels,
        out_channels,
        h,
        w,
        groups=args.groups,
        bottleneck=args.bottleneck,
    )
    if args.json:
        print_json([c.as_dict() for c in costs])
        return 0
    if args.csv or args.markdown:
        rows = [(c.name, c.structure, c.params, c.macs, f"{c.ratio:.4f}") for c in costs]
        print((to_csv if args.csv else to_markdown)(COLUMNS, rows), end="")
        return 0
    table = Table(
        title=f"{args.kernel}x{args.kernel} conv, {args.in_channels}->{out_channels} channels, "
        f"{h}x{w} output (biases left out)"
    )
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("design", "structure") else "right")
    for c in costs:
        table.add_row(
            c.name,
            c.structure,
            f"{c.params:,}",
            human(c.macs),
            f"{c.ratio:.3f} (1/{1 / c.ratio:.1f})",
        )
    show_table(table)
    return 0
