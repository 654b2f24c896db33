"""convzoo info MODEL"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rich.table import Table

from convzoo.cli.formats import to_csv, to_markdown
from convzoo.cli.output import console, print_json, show_table
from convzoo.formatting import human

if TYPE_CHECKING:
    from convzoo.analysis.summary import LayerRow
    from convzoo.cards import ModelCard, Recipe

NAME = "info"
HELP = (
    "Show a model's card and its per-layer table (shapes, params, multiply-adds, "
    "activation memory, receptive field), with totals and training memory."
)
EXAMPLE = "convzoo info resnet50 --depth 3 --markdown   |   convzoo info vgg11 --measure"

COLUMNS = (
    "layer", "type", "output", "params", "mult-adds", "flops", "act bytes",
    "rf", "jump", "start",
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a registered name (see `convzoo list`)")
    parser.add_argument("--input-size", type=int, help="square input side in pixels")
    parser.add_argument("--num-classes", type=int, help="classes of the output layer")
    parser.add_argument("--in-channels", type=int, help="input channels")
    parser.add_argument(
        "--depth",
        type=_depth,
        help="collapse to a nesting level: 1 (stem/stages/head), 2 or 'stages', 3 or 'blocks'",
    )
    parser.add_argument(
        "--no-collapse", action="store_true", help="with --depth: keep repeated blocks apart"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        action="append",
        help="batch size(s) for the training-memory estimate (repeatable; default 1, 32, 256)",
    )
    parser.add_argument(
        "--measure",
        action="store_true",
        help="also run a real CPU training forward and measure the bytes saved for backward",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="per-layer table as CSV")
    fmt.add_argument("--markdown", action="store_true", help="per-layer table as Markdown")


_DEPTH_WORDS = {"stages": 2, "blocks": 3}


def _depth(text: str) -> int:
    if text in _DEPTH_WORDS:
        return _DEPTH_WORDS[text]
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a level (1, 2, 3, ...) or one of {', '.join(_DEPTH_WORDS)}, got {text!r}"
        ) from None


# left out, in this order, when the table would not fit the terminal (80 columns)
DROP_FOR_WIDTH = ("start", "jump", "flops", "act bytes", "type", "rf", "output")
TRAINING_ONLY_MARK = " (train)"
TRAINING_ONLY_NOTE = (
    "(train): an auxiliary classifier, run in training mode only: its parameters are in "
    "the total, its mult-adds are not"
)


def _cells(row: LayerRow) -> list[object]:
    rf = row.rf
    return [
        row.display_name + (TRAINING_ONLY_MARK if row.training_only else ""),
        row.type,
        "x".join(map(str, row.output_shape[1:])) if row.output_shape else None,
        row.params,
        row.macs,
        row.flops,
        row.activation_bytes,
        str(rf) if rf else None,
        "x".join(f"{v:g}" for v in sorted(set(rf.jump))) if rf else None,
        "x".join(f"{v:g}" for v in sorted(set(rf.start))) if rf else None,
    ]


def _recipe_table(title: str, recipe: Recipe) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column("setting", style="dim", no_wrap=True)
    table.add_column("value")
    for setting, value in recipe.rows():
        table.add_row(setting, value)
    return table


def _print_training(card: ModelCard) -> None:
    """The paper's accuracy (with its protocol) and recipe, and the zoo's default if it differs."""
    if card.accuracy is not None:
        console.print(f"Paper accuracy: {card.accuracy}")
    else:
        console.print(f"Paper accuracy: - ({card.accuracy_note or 'not reported'})")
    console.print(_recipe_table("Paper recipe", card.recipe))
    if card.default_recipe is not None:
        console.print(_recipe_table(f"Default recipe: {card.default_reason}", card.default_recipe))


def run(args: argparse.Namespace) -> int:
    from convzoo.analysis.memory import estimate_memory, measure_saved_bytes
    from convzoo.analysis.summary import summary
    from convzoo.registry import model_card

    card = model_card(args.model)
    create = {"num_classes": args.num_classes, "in_channels": args.in_channels}
    result = summary(
        args.model,
        args.input_size,
        depth=args.depth,
        collapse=not args.no_collapse,
        **create,
    )
    memory = estimate_memory(args.model, args.input_size, **create)
    batch_sizes = args.batch_size or [1, 32, 256]
    measured = None
    if args.measure:
        measure_batch = batch_sizes[0] if args.batch_size else 8
        measured = (
            measure_batch,
            measure_saved_bytes(args.model, args.input_size, batch_size=measure_batch, **create),
        )

    if args.csv or args.markdown:
        rows = [_cells(r) for r in result.rows]
        print((to_csv if args.csv else to_markdown)(COLUMNS, rows), end="")
        return 0
    if args.json:
        card_data = card.as_dict()
        mem = memory.as_dict()
        mem["training_bytes"] = {b: memory.training_bytes(b) for b in batch_sizes}
        if measured:
            mem["measured"] = {"batch_size": measured[0], "saved_bytes": measured[1]}
            mem["estimated_at_measured_batch"] = memory.saved_bytes(measured[0])
        print_json({"card": card_data, "summary": result.as_dict(), "memory": mem})
        return 0

    console.print(f"[bold]{card.name}[/bold]  ({card.family})  {card.reference}")
    console.print(f"Encodes: {card.table}")
    for idea in card.key_ideas:
        console.print(f"  • {idea}")
    if card.twins:
        console.print("Twins: " + ", ".join(str(t) for t in card.twins))
    for deviation in card.deviations:
        console.print(f"  [yellow]deviation:[/yellow] {deviation}")
    _print_training(card)

    table = Table(title=f"{card.name} at input {result.input_size}")
    for column in COLUMNS:
        left = column in ("layer", "type")
        # layer names are what one copies (state-dict keys): never cut or folded
        table.add_column(
            column,
            justify="left" if left else "right",
            no_wrap=column == "layer",
            overflow="fold",
        )
    for row in result.rows:
        cells = _cells(row)
        cells[3] = f"{row.params:,}"
        cells[4], cells[5], cells[6] = (
            human(row.macs),
            human(row.flops),
            human(row.activation_bytes, "B"),
        )
        table.add_row(*("-" if c is None else str(c) for c in cells))
    show_table(table, drop=DROP_FOR_WIDTH)
    if any(row.training_only for row in result.rows):
        console.print(f"[dim]{TRAINING_ONLY_NOTE}[/dim]")
    paper_params = f" (paper: {card.paper_params})" if card.paper_params else ""
    # the paper's multiply-adds hold at the paper's input size only
    at_paper_size = tuple(result.input_size) == tuple(card.input_size)
    paper_macs = f" (paper: {card.paper_macs})" if card.paper_macs and at_paper_size else ""
    console.print(
        f"params: {result.total_params:,}{paper_params}  "
        f"(trainable {result.trainable_params:,}, non-trainable {result.non_trainable_params:,})"
    )
    console.print(f"mult-adds: {result.total_macs:,} = {human(result.total_macs)}{paper_macs}")
    console.print(
        f"FLOPs: {human(result.flops)} conv/linear/matmul (2 per mult-add), "
        f"{human(result.flops_all)} with bias/norm/activation/pool/element-wise"
    )
    console.print(
        f"depth: {result.depth} weight layers on the longest path "
        f"({result.weight_layers} conv/linear layers in all)"
    )
    if result.feature_rf is not None:
        console.print(f"receptive field of the last feature map: {result.feature_rf} px")
    console.print(f"activation memory (forward, batch 1): {human(result.activation_bytes, 'B')}")
    mem_table = Table(title="training memory estimate (weights + grads + momentum + saved)")
    for column in ("batch", "saved for backward", "total"):
        mem_table.add_column(column, justify="right")
    for b in batch_sizes:
        mem_table.add_row(
            str(b), human(memory.saved_bytes(b), "B"), human(memory.training_bytes(b), "B")
        )
    show_table(mem_table)
    if measured:
        b, nbytes = measured
        est = memory.saved_bytes(b)
        console.print(
            f"measured (CPU, batch {b}): {human(nbytes, 'B')} saved for backward; "
            f"estimate {human(est, 'B')} ({(est - nbytes) / nbytes:+.1%})"
        )
    if result.uncounted:
        ops = ", ".join(f"{op} x{n}" for op, n in sorted(result.uncounted.items()))
        console.print(f"[yellow]not counted (no rule):[/yellow] {ops}")
    for note in result.notes:
        console.print(f"[dim]{note}[/dim]")
    return 0
