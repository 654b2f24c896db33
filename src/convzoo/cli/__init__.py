"""`convzoo VERB ...`: one thin module per verb; each only parses and prints.

A verb module defines ``NAME``, ``HELP``, ``EXAMPLE``, ``add_arguments(parser)``
and ``run(args) -> int``. convzoo's own errors (`convzoo.errors.ConvzooError`) and
library errors (``ValueError``, ``TypeError``, ``FileNotFoundError``) are printed as
one readable line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType

from convzoo.cli import (
    bench,
    compare,
    conv_cost,
    diagram,
    export,
    info,
    list_models,
    lr_find,
    predict,
    receptive_field,
    reproduce,
    search,
    serve,
    site,
    speedrun,
    train,
)
from convzoo.cli import eval as eval_cmd
from convzoo.errors import ConvzooError, ConvzooWarning

COMMANDS: tuple[ModuleType, ...] = (
    list_models,
    info,
    compare,
    diagram,
    receptive_field,
    conv_cost,
    train,
    lr_find,
    eval_cmd,
    predict,
    export,
    bench,
    serve,
    site,
    reproduce,
    search,
    speedrun,
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
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(_unrecognized(args.command, extra))
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConvzooWarning)  # one line per file, not per call site
        warnings.showwarning = _one_line_warnings(args.command, warnings.showwarning)
        try:
            return int(args.run(args) or 0)
        except (ConvzooError, ValueError, FileNotFoundError, TypeError) as exc:
            print(f"convzoo {args.command}: error: {exc}", file=sys.stderr)
            return 2


def _unrecognized(command: str, extra: list[str]) -> str:
    """argparse's complaint, plus what a leading '-' on an rf layer (``-3x3``) means."""
    dashed = [a for a in extra if command == "rf" and a[:1] == "-" and a[1:2].isdigit()]
    if dashed:
        return (
            f"rf: {dashed[0]!r} reads as an option because of its leading '-'; layers are "
            f"written without it ({dashed[0][1:]!r}), and sizes cannot be negative"
        )
    return f"unrecognized arguments: {' '.join(extra)}"


def _one_line_warnings(command: str, default: Callable[..., None]) -> Callable[..., None]:
    """Print convzoo's own warnings as ``convzoo VERB: warning: ...``; others as usual."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, ConvzooWarning):
            print(f"convzoo {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show
