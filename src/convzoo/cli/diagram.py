"""convzoo diagram MODEL -o FILE.svg"""

from __future__ import annotations

import argparse

from convzoo.cli.output import console, print_json
from convzoo.outputs import prepare_output

NAME = "diagram"
HELP = (
    "Draw a block-level architecture diagram (stages, blocks, branches, skips, "
    "output shapes) as SVG, PNG or PDF; nothing to install beyond Python."
)
EXAMPLE = (
    "convzoo diagram resnet50 -o resnet50.svg   |   convzoo diagram vgg16 -o vgg16.png   |   "
    "convzoo diagram googlenet --json"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a registered name (see `convzoo list`)")
    parser.add_argument(
        "-o",
        "--output",
        help="file to write: .svg, .png, .pdf, .dot (Graphviz source) or .json",
    )
    parser.add_argument("--input-size", type=int, help="square input side in pixels")
    parser.add_argument(
        "--depth", type=int, help="draw modules below this nesting level as single boxes"
    )
    parser.add_argument("--no-collapse", action="store_true", help="draw every repeated block")
    parser.add_argument(
        "--engine",
        choices=("builtin", "dot"),
        default="builtin",
        help="layout: builtin (default, needs nothing) or dot (needs Graphviz installed)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the graph (nodes, edges, clusters) as JSON"
    )


def run(args: argparse.Namespace) -> int:
    from convzoo.analysis.diagram import block_graph
    from convzoo.analysis.drawing import render_diagram

    if args.output is None and not args.json:
        raise ValueError("give a file to write with -o FILE.svg (or .png, .pdf), or --json")
    if args.json:
        graph = block_graph(
            args.model, args.input_size, depth=args.depth, collapse=not args.no_collapse
        )
        print_json(graph.as_dict())
    if args.output is not None:
        path = render_diagram(
            args.model,
            prepare_output(args.output, what="diagram"),
            args.input_size,
            depth=args.depth,
            collapse=not args.no_collapse,
            engine=args.engine,
        )
        if not args.json:
            console.print(f"wrote {path}")
    return 0
