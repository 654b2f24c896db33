"""convzoo compare [MODELS... | --family F | --all]"""

from __future__ import annotations

import argparse

from rich.table import Table

from convzoo.cli.formats import to_csv, to_markdown
from convzoo.cli.output import console, print_json, show_table
from convzoo.formatting import human
from convzoo.outputs import prepare_output

NAME = "compare"
HELP = (
    "Year, params, multiply-adds, depth, activation memory and reported accuracy of "
    "several models side by side; --plot draws the accuracy-vs-cost chart."
)
EXAMPLE = (
    "convzoo compare --all --sort macs --plot zoo.png   |   convzoo compare vgg11 vgg16 --json"
)

COLUMNS = ("model", "family", "year", "input", "params", "mult-adds", "depth", "act memory",
           "rf", "top-1")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", help="registered names")
    parser.add_argument("--family", help="every model of this family")
    parser.add_argument("--all", action="store_true", help="every registered model")
    parser.add_argument(
        "--sort",
        default="year",
        help="column to sort by: name, family, year, params, macs, depth, activation_bytes, top1 "
        "(default year)",
    )
    parser.add_argument("--descending", action="store_true", help="largest first")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every row (rows are cached per source version in $CONVZOO_CACHE "
        "or ~/.cache/convzoo)",
    )
    parser.add_argument("--plot", metavar="FILE", help="write the charts to FILE (.png/.svg/.pdf)")
    parser.add_argument(
        "--y", choices=("top1", "params"), default="top1", help="y axis of the bubble chart"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="CSV table")
    fmt.add_argument("--markdown", action="store_true", help="Markdown table")


def run(args: argparse.Namespace) -> int:
    from convzoo.analysis.compare import (
        compare,
        default_cache_dir,
        plot_compare,
        select_models,
        sort_rows,
    )

    names = select_models(args.models, family=args.family, all_models=args.all)
    cache = None if args.no_cache else default_cache_dir()
    rows = sort_rows(compare(names, cache_dir=cache), args.sort, descending=args.descending)
    if args.plot:
        path = plot_compare(rows, prepare_output(args.plot, what="plot"), y=args.y)
        if not (args.json or args.csv or args.markdown):
            console.print(f"wrote {path}")
    if args.json:
        print_json([r.as_dict() for r in rows])
        return 0
    raw = [
        (r.name, r.family, r.year, "x".join(map(str, r.input_size[1:])), r.params, r.macs,
         r.depth, r.activation_bytes, r.rf, r.top1)
        for r in rows
    ]  # fmt: skip
    if args.csv or args.markdown:
        print((to_csv if args.csv else to_markdown)(COLUMNS, raw), end="")
        return 0
    table = Table(title=f"{len(rows)} models, sorted by {args.sort}")
    for column in COLUMNS:
        table.add_column(
            column,
            justify="left" if column in ("model", "family") else "right",
            no_wrap=column == "model",
            overflow="fold",
        )
    for r in rows:
        table.add_row(
            r.name, r.family, str(r.year), "x".join(map(str, r.input_size[1:])),
            human(r.params), human(r.macs), str(r.depth), human(r.activation_bytes, "B"),
            f"{r.rf:g}" if r.rf is not None else "-",
            f"{r.top1:g}" if r.top1 is not None else "-",
        )  # fmt: skip
    show_table(table, drop=("act memory", "input", "family", "depth", "rf", "year"))
    console.print(
        "[dim]depth: weight layers on the longest path; act memory: forward, batch 1; "
        "rf: receptive field of the last feature map (px); top-1: as the paper reports[/dim]"
    )
    return 0
