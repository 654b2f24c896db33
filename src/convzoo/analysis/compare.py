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
    "SORT_KEYS",
    "CompareRow",
    "compare",
    "default_cache_dir",
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
    import convzoo

    digest = hashlib.sha256(torch.__version__.encode())
    root = Path(convzoo.__file__).parent
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


def _family_colours(families: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    return {f: cmap(i % 20) for i, f in enumerate(sorted(set(families)))}


def plot_compare(rows: Sequence[CompareRow], path: str | Path, *, y: str = "top1") -> Path:
    """Multiply-adds (log x) vs accuracy (or params), bubble area ~ params, one colour per
    family; next to it the parameter range of every family. Written as PNG/SVG/PDF by suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if y not in ("top1", "params"):
        raise ValueError(f"y must be 'top1' or 'params', got {y!r}")
    if not rows:
        raise ValueError("nothing to plot")
    path = Path(path)
    colours = _family_colours([r.family for r in rows])
    points = [r for r in rows if r.macs > 0 and (y == "params" or r.top1 is not None)]
    if y == "top1" and not points:  # no card reports accuracy: fall back to params
        y, points = "params", [r for r in rows if r.macs > 0]
    dataset_note = ""
    datasets = sorted({r.dataset for r in points})
    if y == "top1" and len(datasets) > 1:  # accuracies on different datasets don't compare
        keep = "ImageNet" if "ImageNet" in datasets else datasets[0]
        points = [r for r in points if r.dataset == keep]
        dataset_note = f" [{keep} only]"
    fig, (ax, bars) = plt.subplots(
        1, 2, figsize=(15, 7), gridspec_kw={"width_ratios": [3, 2]}, layout="constrained"
    )
    biggest = max(r.params for r in rows) or 1
    for family in sorted({r.family for r in points}):
        mine = [r for r in points if r.family == family]
        ax.scatter(
            [r.macs for r in mine],
            [r.top1 if y == "top1" else r.params / 1e6 for r in mine],
            s=[20 + 900 * r.params / biggest for r in mine],
            color=colours[family],
            alpha=0.6,
            edgecolors="black",
            linewidths=0.5,
            label=family,
        )
    labels: dict[tuple[float, float], list[str]] = {}
    for r in points:  # models at the same spot (e.g. with and without BN) share a label
        value = r.top1 if y == "top1" else r.params / 1e6
        labels.setdefault((r.macs, round(value, 3)), []).append(r.name)
    for (x, value), names in labels.items():
        ax.annotate(
            ", ".join(names), (x, value), fontsize=7, xytext=(4, 3), textcoords="offset points"
        )
    ax.set_xscale("log")
    ax.margins(0.12)
    if y == "params":
        ax.set_yscale("log")
    ax.set_xlabel("multiply-adds per image (log scale)")
    ax.set_ylabel("top-1 accuracy (%), as reported" if y == "top1" else "parameters (millions)")
    skipped = len(rows) - len(points)
    title = "accuracy vs cost" if y == "top1" else "size vs cost"
    ax.set_title(
        f"{title}{dataset_note}: bubble area ~ parameters"
        + (f" ({skipped} models not shown)" if skipped else "")
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, markerscale=0.4, loc="best")

    families = sorted(
        {r.family for r in rows}, key=lambda f: min(r.year for r in rows if r.family == f)
    )
    for i, family in enumerate(families):
        sizes = [r.params / 1e6 for r in rows if r.family == family]
        low, high = min(sizes), max(sizes)
        bars.barh(
            i, high - low if high > low else low * 0.04, left=low, color=colours[family], alpha=0.5
        )
        bars.scatter(
            sizes, [i] * len(sizes), color=colours[family], edgecolors="black", zorder=3, s=18
        )
    bars.set_yticks(range(len(families)), families)
    bars.invert_yaxis()
    bars.set_xscale("log")
    bars.set_xlabel("parameters (millions, log scale)")
    bars.set_title("parameters per family (oldest family on top)")
    bars.grid(True, axis="x", which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
