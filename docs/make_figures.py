"""Regenerate the figures of docs/analysis.md (run from the repository root).

.venv/bin/python docs/make_figures.py      (or, without installing: PYTHONPATH=src ...)

Diagrams are drawn by convzoo's own layout, so no Graphviz is needed.
"""

from __future__ import annotations

from pathlib import Path

from convzoo.analysis.compare import compare, plot_compare
from convzoo.analysis.drawing import render_diagram
from convzoo.registry import list_models

FIGURES = Path(__file__).parent / "figures"

DIAGRAMS = ("resnet50", "googlenet", "unet", "densenet121")


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    for name in DIAGRAMS:
        print("wrote", render_diagram(name, FIGURES / f"{name}.svg"))
    rows = compare(list_models())
    y = "top1" if sum(r.top1 is not None for r in rows) >= 3 else "params"
    print("wrote", plot_compare(rows, FIGURES / "compare.png", y=y))


if __name__ == "__main__":
    main()
