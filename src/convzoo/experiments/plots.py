"""Figures an experiment adds beyond the standard curves and bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from convzoo.experiments.verdict import Stat

__all__ = ["plot_lines", "plot_xy"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_xy(
    points: Mapping[str, tuple[float, Stat]],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool = False,
) -> None:
    """One labelled point per arm at (x, mean y) with a ± std error bar."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, (x, stat) in points.items():
        ax.errorbar([x], [stat.mean], yerr=[stat.std], fmt="o", capsize=4)
        ax.annotate(label, (x, stat.mean), textcoords="offset points", xytext=(5, 5), fontsize=8)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_lines(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logy: bool = False,
    xticks: Sequence[str] | None = None,
) -> None:
    """Named (x, y) series as lines with markers (e.g. cost curves)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, "o-", ms=4, label=name)
    if xticks is not None:
        ax.set_xticks(range(len(xticks)), xticks, rotation=45, ha="right", fontsize=7)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
