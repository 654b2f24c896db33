"""Print the measured vs paper vs twin table of docs/efficient.md.

    .venv/bin/python docs/efficient_table.py

Everything is counted on the meta device (no weights allocated, a few seconds in all).
"""

import torch

import convzoo
from convzoo.analysis.tracing import Tracer


def count_macs(model: torch.nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-adds of any module (e.g. a twin) at one input size, on the meta device."""
    counter = Tracer(track=False)
    with torch.no_grad(), counter:
        model.eval()(torch.empty((1, *input_size), device="meta"))
    return sum(counter.macs.values())


def rows(families=("mobilenet", "efficientnet", "convnext")):
    for family in families:
        for name in convzoo.list_models(family=family):
            card = convzoo.model_card(name)
            ours = convzoo.summary(name)
            twin, twin_params, twin_macs = "-", "-", "-"
            if card.twins:
                with torch.device("meta"):
                    reference = card.twins[0].build()
                twin = str(card.twins[0]) + (
                    f" {card.twins[0].kwargs}" if card.twins[0].kwargs else ""
                )
                twin_params = f"{sum(p.numel() for p in reference.parameters()):,}"
                twin_macs = f"{count_macs(reference, ours.input_size) / 1e6:,.1f}M"
            yield (
                name,
                str(ours.input_size[-1]),
                f"{ours.total_params:,}",
                str(card.paper_params or "-"),
                f"{ours.total_macs / 1e6:,.1f}M",
                str(card.paper_macs or "-"),
                twin,
                twin_params,
                twin_macs,
            )


if __name__ == "__main__":
    header = ("model", "px", "params", "paper", "MACs", "paper", "twin", "params", "MACs")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows():
        print("| " + " | ".join(row) + " |")
