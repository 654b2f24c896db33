"""convzoo diagram MODEL -o FILE.svg"""

from __future__ import annotations

import argparse

from convzoo.analysis.diagram import render_diagram
from convzoo.cli.output import console
from convzoo.outputs import prepare_output

NAME = "diagram"
HELP = (
    "Draw a block-level architecture diagram (stages, blocks, branches, skips, "
    "output shapes on the edges) with Graphviz."
)
EXAMPLE = "convzoo diagram resnet50 -o resnet50.svg   |   convzoo diagram vgg16 -o vgg16.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a registered name (see `convzoo list`)")
    parser.add_argument(
        "-o", "--output", required=True, help="file to write: .svg, .png, .pdf or .dot (source)"
    )
    parser.add_argument("--input-size", type=int, help="square input side in pixels")
    parser.add_argument(
        "--depth", type=int, help="draw modules below this nesting level as single boxes"
    )
    parser.add_argument("--no-collapse", action="store_true", help="draw every repeated block")


def run(args: argparse.Namespace) -> int:
    path = render_diagram(
        args.model,
        prepare_output(args.output, what="diagram"),
        args.input_size,
        depth=args.depth,
        collapse=not args.no_collapse,
    )
    console.print(f"wrote {path}")
    return 0
