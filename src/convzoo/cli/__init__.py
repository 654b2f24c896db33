"""`convzoo VERB ...`: one thin module per verb; each only parses and prints.

A verb module defines ``NAME``, ``HELP``, ``EXAMPLE``, ``add_arguments(parser)``
and ``run(args) -> int``. Library errors (``ValueError``, ``FileNotFoundError``)
are printed as one readable line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from convzoo.cli import (
    compare,
    conv_cost,
    diagram,
    export,
    info,
    list_models,
    predict,
    receptive_field,
    reproduce,
    train,
)
from convzoo.cli import eval as eval_cmd

COMMANDS: tuple[ModuleType, ...] = (
    list_models,
    info,
    compare,
    diagram,
    receptive_field,
    conv_cost,
    train,
    eval_cmd,
    predict,
    export,
    reproduce,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convzoo",
        description="The landmark convolutional networks: faithful, measured, trainable.",
        epilog="Run `convzoo VERB --help` for a verb's options and an example.",
    )
    sub = parser.add_subparsers(dest="command", metavar="VERB", required=True)
    for command in COMMANDS:
        verb = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=f"example:\n  {command.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(verb)
        verb.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        print(f"convzoo {args.command}: error: {exc}", file=sys.stderr)
        return 2
