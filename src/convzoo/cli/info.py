"""convzoo info MODEL"""

from __future__ import annotations

import argparse
from dataclasses import asdict

from rich.table import Table

from convzoo.analysis.summary import summary
from convzoo.cli.output import console, human, print_json
from convzoo.registry import model_card

NAME = "info"
HELP = "Show a model's card and its per-layer table (shapes, params, multiply-adds)."
EXAMPLE = "convzoo info vgg16 --input-size 224"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a registered name (see `convzoo list`)")
    parser.add_argument("--input-size", type=int, help="square input side in pixels")
    parser.add_argument("--num-classes", type=int, help="classes of the output layer")
    parser.add_argument("--in-channels", type=int, help="input channels")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    card = model_card(args.model)
    result = summary(
        args.model,
        args.input_size,
        num_classes=args.num_classes,
        in_channels=args.in_channels,
    )
    if args.json:
        card_data = asdict(card)
        card_data["twins"] = [str(t) for t in card.twins]
        print_json({"card": card_data, "summary": result.as_dict()})
        return 0

    console.print(f"[bold]{card.name}[/bold]  ({card.family})  {card.reference}")
    console.print(f"Encodes: {card.table}")
    for idea in card.key_ideas:
        console.print(f"  • {idea}")
    if card.twins:
        console.print("Twins: " + ", ".join(str(t) for t in card.twins))
    for deviation in card.deviations:
        console.print(f"  [yellow]deviation:[/yellow] {deviation}")

    table = Table(title=f"{card.name} at input {result.input_size}")
    for column, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output", "right"),
        ("params", "right"),
        ("mult-adds", "right"),
    ):
        table.add_column(column, justify=justify)
    for row in result.rows:
        shape = "x".join(map(str, row.output_shape[1:])) if row.output_shape else "-"
        table.add_row(row.name, row.type, shape, f"{row.params:,}", human(row.macs))
    console.print(table)
    paper_params = f" (paper: {card.paper_params})" if card.paper_params else ""
    paper_macs = f" (paper: {card.paper_macs})" if card.paper_macs else ""
    console.print(f"params: {result.total_params:,}{paper_params}")
    console.print(f"mult-adds: {result.total_macs:,} = {human(result.total_macs)}{paper_macs}")
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")
    return 0
