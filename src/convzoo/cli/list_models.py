"""convzoo list"""

from __future__ import annotations

import argparse

from rich.table import Table

from convzoo.cli.output import print_json, show_table

NAME = "list"
HELP = "List the registered models, one line each."
EXAMPLE = "convzoo list 'resnet*' --family resnet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="glob over names (default: all)")
    parser.add_argument("--family", help="only this family")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.registry import list_families, list_models, model_card

    if args.family is not None and args.family not in list_families():
        raise ValueError(f"unknown family {args.family!r}; known: {', '.join(list_families())}")
    names = list_models(args.pattern, family=args.family)
    cards = [model_card(n) for n in names]
    if args.json:
        print_json(
            [
                {
                    "name": c.name,
                    "family": c.family,
                    "year": c.year,
                    "title": c.title,
                    "paper_params": str(c.paper_params) if c.paper_params else None,
                }
                for c in cards
            ]
        )
        return 0
    table = Table(title=f"{len(cards)} models")
    table.add_column("name", no_wrap=True, overflow="fold")
    table.add_column("family", no_wrap=True, overflow="fold")
    table.add_column("year")
    # one line per model: a long title is shortened, never wrapped (`info` has it in full)
    table.add_column("paper", no_wrap=True)
    table.add_column("params (paper)", justify="right", no_wrap=True)
    for c in cards:
        table.add_row(c.name, c.family, str(c.year), c.title, str(c.paper_params or "-"))
    show_table(table)
    return 0
