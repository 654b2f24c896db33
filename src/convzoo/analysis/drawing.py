"""Drawing a block graph: SVG written directly, PNG/PDF through matplotlib, or Graphviz.

`render_diagram` is `convzoo diagram`: it traces the model into a block graph
(`convzoo.analysis.diagram`), lays it out (`convzoo.analysis.layout`) and writes
the file the suffix asks for. ``engine="dot"`` uses Graphviz instead (the Python
package ``graphviz`` and the ``dot`` program).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

from torch import nn

from convzoo.analysis.diagram import BlockGraph, Box, block_graph
from convzoo.analysis.layout import (
    CLUSTER_FILL,
    FONT,
    LINE_H,
    PAD_Y,
    STYLE,
    Layout,
    Rect,
    box_lines,
    layout_graph,
)

__all__ = ["FORMATS", "render_diagram", "to_image", "to_svg"]

INSTALL_HINT = (
    "engine 'dot' needs the Graphviz `dot` program: `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`; "
    "the default engine needs nothing: drop --engine dot"
)
ENGINES = ("builtin", "dot")
FORMATS = ("svg", "png", "pdf", "dot", "gv", "json")


def render_diagram(
    model_or_name: nn.Module | str,
    path: str | Path,
    input_size: tuple[int, ...] | int | None = None,
    *,
    depth: int | None = None,
    collapse: bool = True,
    engine: str = "builtin",
    **create_kwargs: Any,
) -> Path:
    """Write the diagram to ``path``; the format follows the suffix.

    .svg, .png and .pdf are drawn by ``engine``: "builtin" (our own layout, SVG
    written directly, PNG/PDF through matplotlib; nothing to install) or "dot"
    (Graphviz). .dot/.gv write the Graphviz source, .json the graph as nodes and edges.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"diagram format must be one of {', '.join('.' + f for f in FORMATS)}, "
            f"got {path.name!r}"
        )
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    graph = block_graph(model_or_name, input_size, depth=depth, collapse=collapse, **create_kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(graph.as_dict(), indent=2) + "\n")
    elif fmt in ("dot", "gv") or engine == "dot":
        _render_dot(graph, path, fmt)
    elif fmt == "svg":
        path.write_text(to_svg(graph))
    else:
        to_image(graph, path)
    return path


def _render_dot(graph: BlockGraph, path: Path, fmt: str) -> None:
    try:
        import graphviz  # noqa: F401
    except ImportError as exc:
        raise FileNotFoundError(
            "engine 'dot' needs the Python package `graphviz`: pip install graphviz "
            "(the default engine needs nothing)"
        ) from exc
    dot = graph.to_dot()
    if fmt in ("dot", "gv"):
        path.write_text(dot.source)
        return
    if shutil.which("dot") is None:
        raise FileNotFoundError(INSTALL_HINT)
    path.write_bytes(dot.pipe(format=fmt))


def _path(points: list[tuple[float, float]]) -> str:
    """Vertical-tangent cubic curves through the points (a smooth, graphviz-like spline)."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        if abs(x1 - x0) < 0.5:
            parts.append(f"L{x1:.1f},{y1:.1f}")
        else:
            dy = (y1 - y0) / 2
            parts.append(f"C{x0:.1f},{y0 + dy:.1f} {x1:.1f},{y1 - dy:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(parts)


def to_svg(graph: BlockGraph, lay: Layout | None = None) -> str:
    lay = lay or layout_graph(graph)
    w, h = lay.width, lay.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="{FONT}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker></defs>',
        f'<rect width="{w:.0f}" height="{h:.0f}" fill="white"/>',
        f'<text x="{w / 2:.1f}" y="20" font-size="17" text-anchor="middle" '
        f'font-weight="bold">{html.escape(graph.model)}</text>',
    ]
    for name, rect in sorted(lay.clusters.items(), key=lambda kv: kv[0].count(".")):
        fill = CLUSTER_FILL[name.count(".") % 3]
        out.append(
            f'<g class="cluster"><rect x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.w:.1f}" '
            f'height="{rect.h:.1f}" rx="6" fill="{fill}" stroke="#999999"/>'
            f'<text x="{rect.x + 7:.1f}" y="{rect.y + 13:.1f}" font-size="11" fill="#444444">'
            f"{html.escape(graph.clusters[name])}</text></g>"
        )
    for _src, dst, points in lay.edges:
        dash = ' stroke-dasharray="4,3"' if graph.boxes[dst].kind == "aux" else ""
        out.append(
            f'<path class="edge" d="{_path(points)}" fill="none" stroke="#555555"'
            f'{dash} marker-end="url(#arrow)"/>'
        )
    lines = box_lines(graph)
    for key, rect in lay.boxes.items():
        out.append(_svg_box(graph.boxes[key], rect, lines[key]))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_box(box: Box, rect: Rect, lines: list[str]) -> str:
    fill, stroke = STYLE.get(box.kind, STYLE["unit"])
    rx = rect.h / 2 if box.kind == "op" else 4
    dash = ' stroke-dasharray="4,3"' if box.kind == "aux" else ""
    parts = [
        f'<g class="node"><rect x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.w:.1f}" '
        f'height="{rect.h:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="{stroke}"{dash}/>'
    ]
    for i, line in enumerate(lines):
        y = rect.y + PAD_Y + (i + 0.78) * LINE_H
        style = _line_style(i, lines, box)
        attrs = ' font-weight="bold"' if style == "bold" else ""
        attrs += ' fill="#666666" font-size="10"' if style == "shape" else ' font-size="11"'
        parts.append(
            f'<text x="{rect.cx:.1f}" y="{y:.1f}" text-anchor="middle"{attrs}>'
            f"{html.escape(line)}</text>"
        )
    return "".join(parts) + "</g>"


def _line_style(i: int, lines: list[str], box: Box) -> str:
    """bold name, plain description, grey output shape."""
    has_shape = len(lines) > len(box.label.split("\n"))
    if has_shape and i == len(lines) - 1:
        return "shape"
    return "bold" if i == 0 and len(box.label.split("\n")) > 1 else "plain"


def to_image(graph: BlockGraph, path: Path, lay: Layout | None = None, dpi: int = 100) -> Path:
    """The same drawing through matplotlib (PNG, PDF: whatever the suffix says)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, PathPatch
    from matplotlib.path import Path as MPath

    lay = lay or layout_graph(graph)
    fig = plt.figure(figsize=(lay.width / dpi, lay.height / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.axis("off")
    pt = 72 / dpi  # pixels -> points
    ax.text(lay.width / 2, 20, graph.model, ha="center", va="baseline", fontsize=17 * pt,
            weight="bold")  # fmt: skip
    for name, rect in sorted(lay.clusters.items(), key=lambda kv: kv[0].count(".")):
        fill = CLUSTER_FILL[name.count(".") % 3]
        ax.add_patch(FancyBboxPatch((rect.x, rect.y), rect.w, rect.h, fc=fill, ec="#999999",
                                    boxstyle="round,pad=0,rounding_size=6", lw=0.8))  # fmt: skip
        ax.text(rect.x + 7, rect.y + 13, graph.clusters[name], fontsize=11 * pt, color="#444444")
    for _src, dst, points in lay.edges:
        verts, codes = _mpl_path(points)
        style = "--" if graph.boxes[dst].kind == "aux" else "-"
        ax.add_patch(PathPatch(MPath(verts, codes), fc="none", ec="#555555", lw=0.9, ls=style))
        (x0, y0), (x1, y1) = points[-1], (points[-1][0], points[-1][1] - 1)
        ax.annotate("", xy=(x0, y0), xytext=(x1, y1),
                    arrowprops={"arrowstyle": "-|>", "color": "#555555", "lw": 0.9})  # fmt: skip
    all_lines = box_lines(graph)
    for key, rect in lay.boxes.items():
        box = graph.boxes[key]
        fill, stroke = STYLE.get(box.kind, STYLE["unit"])
        rounding = rect.h / 2 if box.kind == "op" else 4
        ax.add_patch(FancyBboxPatch((rect.x, rect.y), rect.w, rect.h, fc=fill, ec=stroke,
                                    boxstyle=f"round,pad=0,rounding_size={rounding}", lw=0.9,
                                    ls="--" if box.kind == "aux" else "-"))  # fmt: skip
        lines = all_lines[key]
        for i, line in enumerate(lines):
            y = rect.y + PAD_Y + (i + 0.78) * LINE_H
            style = _line_style(i, lines, box)
            ax.text(rect.cx, y, line, ha="center", va="baseline",
                    fontsize=(10 if style == "shape" else 11) * pt,
                    color="#666666" if style == "shape" else "black",
                    weight="bold" if style == "bold" else "normal")  # fmt: skip
    fig.savefig(path, dpi=dpi, facecolor="white")
    plt.close(fig)
    return path


def _mpl_path(points: list[tuple[float, float]]) -> tuple[list, list]:
    from matplotlib.path import Path as MPath

    (x0, y0), verts, codes = points[0], [points[0]], [MPath.MOVETO]
    for x1, y1 in points[1:]:
        dy = (y1 - y0) / 2
        verts += [(x0, y0 + dy), (x1, y1 - dy), (x1, y1)]
        codes += [MPath.CURVE4] * 3
        x0, y0 = x1, y1
    return verts, codes
