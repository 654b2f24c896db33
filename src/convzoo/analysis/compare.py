"""Side-by-side numbers for several registered models, and the classic charts.

Every figure comes from `summary` on the meta device at the model's own input
size, so comparing the whole registry takes seconds and allocates nothing:
year, params, multiply-adds, depth (weight layers on the longest path, the
way papers count: VGG-16 = 16, ResNet-50 = 50), forward activation memory at
batch 1, the receptive field of the last feature map, and the top-1 accuracy
the paper reports (``paper_top1`` on the card, None when it prints none).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from convzoo.analysis.summary import summary
from convzoo.registry import list_models, model_card

__all__ = [
    "CompareRow",
    "compare",
    "default_cache_dir",
    "family_colours",
    "family_order",
    "plot_compare",
    "select_models",
    "sort_rows",
]


@dataclass(frozen=True)
class CompareRow:
    name: str
    family: str
    year: int
    input_size: tuple[int, ...]
    params: int
    macs: int
    depth: int
    activation_bytes: int
    rf: float | None  # receptive field of the last feature map (first axis), pixels
    top1: float | None  # as reported by the paper
    dataset: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SORT_KEYS = ("name", "family", "year", "params", "macs", "depth", "activation_bytes", "top1")


def select_models(
    names: Sequence[str] = (), *, family: str | None = None, all_models: bool = False
) -> list[str]:
    """Names given, or every model of ``family``, or the whole registry."""
    if all_models:
        return list_models()
    selected = list(names)
    if family is not None:
        found = list_models(family=family)
        if not found:
            raise ValueError(f"no registered models in family {family!r}")
        selected += [n for n in found if n not in selected]
    if not selected:
        raise ValueError("name some models, or use --family F or --all")
    for name in selected:
        model_card(name)  # unknown names raise with "did you mean"
    return selected


def default_cache_dir() -> Path:
    """``$CONVZOO_CACHE``, else ``$XDG_CACHE_HOME/convzoo``, else ``~/.cache/convzoo``."""
    if os.environ.get("CONVZOO_CACHE"):
        return Path(os.environ["CONVZOO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convzoo"


def _source_fingerprint() -> str:
    """Changes whenever any convzoo source file or the torch version changes."""
    digest = hashlib.sha256(torch.__version__.encode())
    root = Path(__file__).parent.parent  # the convzoo package
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compare(names: Sequence[str], *, cache_dir: str | Path | None = None) -> list[CompareRow]:
    """One row per model. With ``cache_dir``, rows are kept in a JSON file keyed by a
    fingerprint of the convzoo sources, so repeated comparisons only read it."""
    cache_file = None
    cached: dict[str, dict[str, Any]] = {}
    if cache_dir is not None:
        cache_file = Path(cache_dir) / f"compare-{_source_fingerprint()}.json"
        if cache_file.exists():
            try:
                cached = json.loads(cache_file.read_text())
            except (OSError, ValueError):
                cached = {}
    rows = []
    fresh = 0
    for name in names:
        if name in cached:
            data = dict(cached[name])
            data["input_size"] = tuple(data["input_size"])
            rows.append(CompareRow(**data))
            continue
        fresh += 1
        rows.append(_row(name))
    if cache_file is not None and fresh:
        cached.update({r.name: r.as_dict() for r in rows})
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cached))
        os.replace(tmp, cache_file)  # atomic: a reader never sees half a file
    return rows


def _row(name: str) -> CompareRow:
    card = model_card(name)
    result = summary(name, rows=False)
    return CompareRow(
        name=name,
        family=card.family,
        year=card.year,
        input_size=result.input_size,
        params=result.total_params,
        macs=result.total_macs,
        depth=result.depth,
        activation_bytes=result.activation_bytes,
        rf=result.feature_rf.size[0] if result.feature_rf else None,
        top1=card.paper_top1,
        dataset=card.dataset,
    )


def sort_rows(
    rows: Sequence[CompareRow], key: str, *, descending: bool = False
) -> list[CompareRow]:
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r}; choose one of {', '.join(SORT_KEYS)}")
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]  # always last
    return sorted(present, key=lambda r: getattr(r, key), reverse=descending) + missing


# labelled on the chart (every point is in the legend by family): one or two per family
LANDMARKS = (
    "lenet5", "alexnet", "zfnet", "nin", "nin_cifar", "vgg16", "googlenet", "inception_v3",
    "inception_v4", "allcnn_c", "resnet50", "resnet152", "resnet110", "densenet121",
    "densenet_bc190", "resnext50_32x4d", "resnext29_16x64d", "wide_resnet50_2", "wrn28_10",
    "xception", "mobilenet_v1", "mobilenet_v2", "se_resnet50", "senet154", "efficientnet_b0",
    "efficientnet_b7", "regnety_1_6gf", "convnext_tiny", "convnext_base", "unet",
)  # fmt: skip


def family_order(rows: Sequence[CompareRow]) -> list[str]:
    """Families by the year of their first model (then by name): the order of both panels
    and of the legend."""
    first = {}
    for r in rows:
        first[r.family] = min(first.get(r.family, r.year), r.year)
    return sorted(first, key=lambda f: (first[f], f))


# Kelly's colours of maximum contrast (without white and black): 20 that tell apart
KELLY = (
    "#F3C300", "#875692", "#F38400", "#A1CAF1", "#BE0032", "#C2B280", "#848482", "#008856",
    "#E68FAC", "#0067A5", "#F99379", "#604E97", "#F6A600", "#B3446C", "#DCD300", "#882D17",
    "#8DB600", "#654522", "#E25822", "#2B3D26",
)  # fmt: skip


def family_colours(families: Sequence[str]) -> dict[str, str]:
    """One distinct colour per family, in the given order (the same in every panel)."""
    return {f: KELLY[i % len(KELLY)] for i, f in enumerate(families)}


def si_formatter(unit: str = "") -> Any:
    """Tick labels like 300M, 1G, 20K (log axes of counts)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: int) -> str:
        for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
            if abs(value) >= scale:
                return f"{value / scale:g}{suffix}{unit}"
        return f"{value:g}{unit}"

    return FuncFormatter(fmt)


def _label_points(ax: Any, points: list[tuple[float, float, str]]) -> None:
    """Put each label next to its point where it overlaps no label placed before it
    (8 candidate spots around the point, nearest first); a label with no free spot is left out."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken: list[Any] = []
    offsets = ((6, 4), (6, -11), (-6, 4), (-6, -11), (0, 10), (0, -17), (12, -3), (-12, -3))
    for x, y, text in points:
        for dx, dy in offsets:
            label = ax.annotate(
                text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8,
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#555555"},
            )  # fmt: skip
            box = label.get_window_extent(renderer).expanded(1.05, 1.15)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                break
            label.remove()


def plot_compare(rows: Sequence[CompareRow], path: str | Path, *, y: str = "top1") -> Path:
    """Multiply-adds (log x) vs accuracy (or params): one colour per family, a legend by
    family, labels for the landmark models that fit without overlapping; next to it the
    parameter range of every family in the same order and colours. Log axes are labelled
    in K/M/G. Written as PNG/SVG/PDF by suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if y not in ("top1", "params"):
        raise ValueError(f"y must be 'top1' or 'params', got {y!r}")
    if not rows:
        raise ValueError("nothing to plot")
    path = Path(path)
    points = [r for r in rows if r.macs > 0 and (y == "params" or r.top1 is not None)]
    if y == "top1" and not points:  # no card reports accuracy: fall back to params
        y, points = "params", [r for r in rows if r.macs > 0]
    dataset_note, on = "", ""
    datasets = sorted({r.dataset for r in points})
    if y == "top1" and len(datasets) > 1:  # accuracies on different datasets don't compare
        keep = "ImageNet" if "ImageNet" in datasets else datasets[0]
        points = [r for r in points if r.dataset == keep]
        dataset_note, on = f" ({keep})", f" {keep}"
    order = family_order(rows)
    colours = family_colours(order)
    fig, (ax, bars) = plt.subplots(
        1, 2, figsize=(16, 8), gridspec_kw={"width_ratios": [3, 2]}, layout="constrained"
    )

    def value(r: CompareRow) -> float:
        return r.top1 if y == "top1" else float(r.params)

    biggest = max(r.params for r in rows) or 1
    for family in [f for f in order if any(r.family == f for r in points)]:
        mine = [r for r in points if r.family == family]
        ax.scatter(
            [r.macs for r in mine], [value(r) for r in mine],
            s=[25 + 700 * (r.params / biggest) ** 0.5 for r in mine] if y == "top1" else 40,
            color=colours[family], alpha=0.75, edgecolors="black", linewidths=0.5,
            label=family,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(si_formatter())
    if y == "params":
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(si_formatter())
    ax.margins(0.08)
    ax.set_xlabel("multiply-adds per image (log scale)")
    ax.set_ylabel(
        "top-1 accuracy (%), as the paper reports" if y == "top1" else "parameters (log scale)"
    )
    skipped = len(rows) - len(points)
    title = "accuracy vs cost" if y == "top1" else "size vs cost"
    bubble = ": bubble area ~ parameters" if y == "top1" else ""
    ax.set_title(
        f"{title}{dataset_note}{bubble}"
        + (
            f"  [{skipped} models without a reported{on} top-1 not shown]"
            if skipped and y == "top1"
            else ""
        )
    )
    ax.grid(True, which="major", alpha=0.3)
    legend = ax.legend(fontsize=8, loc="best", title="family", title_fontsize=8)
    for handle in legend.legend_handles:
        handle.set_sizes([30])
    names = {r.name for r in points}
    wanted = [n for n in LANDMARKS if n in names]
    for family in order:  # a family none of whose landmarks is shown gets one label anyway
        mine = [r for r in points if r.family == family]
        if mine and not any(r.name in wanted for r in mine):
            wanted.append(max(mine, key=lambda r: r.params).name)
    by_name = {r.name: r for r in points}
    _label_points(ax, [(by_name[n].macs, value(by_name[n]), n) for n in wanted])

    for i, family in enumerate(order):
        sizes = [r.params for r in rows if r.family == family]
        low, high = min(sizes), max(sizes)
        bars.barh(
            i, high - low if high > low else low * 0.04, left=low, color=colours[family], alpha=0.5
        )
        bars.scatter(
            sizes, [i] * len(sizes), color=colours[family], edgecolors="black", zorder=3, s=18
        )
    bars.set_yticks(range(len(order)), order)
    bars.invert_yaxis()
    bars.set_xscale("log")
    every = [r.params for r in rows if r.params > 0]
    bars.set_xlim(min(every) / 2, max(every) * 2)
    bars.xaxis.set_major_formatter(si_formatter())
    bars.set_xlabel("parameters (log scale)")
    bars.set_title("parameters per family (oldest family on top)")
    bars.grid(True, axis="x", which="major", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
