"""An experiment's outputs: results.json, curves with seed bands, error-bar charts, report.md."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from convzoo.experiments.core import Analysis, Context
from convzoo.experiments.verdict import Stat, Verdict
from convzoo.speed import cpu_model

__all__ = ["plot_curves", "write_outputs"]

CURVES = (("train_err", "training error (%)"), ("val_err", "validation error (%)"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _curve(records: list[dict[str, Any]], key: str) -> list[float]:
    source = "train_acc" if key == "train_err" else "val_acc"
    return [100 - r[source] for r in records if source in r]


def plot_curves(ctx: Context, path: Path) -> None:
    """Training and validation error against epoch: seed mean, band of ± one std."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(CURVES), figsize=(11, 4))
    for ax, (key, label) in zip(axes, CURVES, strict=True):
        for arm in ctx.arms:
            curves = [_curve(r.records, key) for r in ctx.runs if r.arm == arm.label]
            length = min((len(c) for c in curves), default=0)
            if not length:
                continue
            epochs = list(range(1, length + 1))
            stats = [Stat.of([c[i] for c in curves]) for i in range(length)]
            mean = [s.mean for s in stats]
            (line,) = ax.plot(epochs, mean, "o-", ms=3, label=arm.label)
            ax.fill_between(
                epochs,
                [s.mean - s.std for s in stats],
                [s.mean + s.std for s in stats],
                color=line.get_color(),
                alpha=0.2,
            )
        ax.set(xlabel="epoch", ylabel=label, title=f"{label}, mean ± std over seeds")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{ctx.experiment.title} ({ctx.budget.dataset})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_bars(ctx: Context, metrics: Sequence[str], path: Path) -> None:
    """One panel per metric: a bar per arm at its mean, error bar ± one std."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 4), squeeze=False)
    labels = [a.label for a in ctx.arms if a.label in ctx.stats]
    for ax, metric in zip(axes[0], metrics, strict=True):
        stats = [ctx.stats[a].get(metric) for a in labels]
        means = [s.mean if s else 0.0 for s in stats]
        stds = [s.std if s else 0.0 for s in stats]
        ax.bar(range(len(labels)), means, yerr=stds, capsize=4, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set(title=f"{metric} (mean ± std, {ctx.budget.seeds.__len__()} seeds)")
        finite = [m for m, s in zip(means, stds, strict=True) if m or s]
        if finite and metric.endswith("acc"):  # accuracies: zoom on the range that differs
            low = min(m - s for m, s in zip(means, stds, strict=True))
            ax.set_ylim(max(0.0, low - 2), min(100.0, max(means) + max(stds) + 2))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(value: Any) -> str:
    if isinstance(value, Stat):
        return _fmt_stat(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _fmt_stat(s: Stat) -> str:
    if s.std == 0 and float(s.mean).is_integer():  # counts: params, MACs
        return f"{int(s.mean):,}"
    if abs(s.mean) >= 1e5:
        return f"{s.mean:,.0f}" if s.std == 0 else f"{s.mean:,.0f} ± {s.std:,.0f}"
    return f"{s.mean:.2f} ± {s.std:.2f}"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _results_table(ctx: Context) -> str:
    exp = ctx.experiment
    shown = list(dict.fromkeys([*exp.headline, *(m.name for m in exp.metrics), "final_train_err",
                                "params", "macs", "img_per_s"]))  # fmt: skip
    rows = []
    for arm in ctx.arms:
        stats = ctx.stats.get(arm.label, {})
        diverged = stats.get("diverged")
        rows.append(
            [f"`{arm.label}`"]
            + [stats.get(m, "-") for m in shown]
            + [f"{round(diverged.mean * diverged.n)}/{diverged.n}" if diverged else "-"]
        )
    return markdown_table(["arm", *shown, "diverged"], rows)


def write_outputs(
    ctx: Context,
    per_seed: dict[str, list[dict[str, float]]],
    analysis: Analysis | None,
    verdict: Verdict,
    *,
    quick: bool,
    command: str,
) -> dict[str, Any]:
    exp, out = ctx.experiment, ctx.out
    figures: list[tuple[str, str]] = []
    if exp.trains and ctx.runs:
        plot_curves(ctx, out / "curves.png")
        plot_bars(ctx, exp.headline, out / "bars.png")
        figures += [
            ("curves.png", "training and validation error per epoch (mean, band ± std over seeds)"),
            ("bars.png", "headline metrics per arm (mean, error bar ± std over seeds)"),
        ]
    if analysis:
        figures += analysis.figures
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = {
        "experiment": exp.name,
        "title": exp.title,
        "claim": exp.claim,
        "source": exp.source,
        "protocol": exp.protocol,
        "budget": "quick" if quick else "full",
        "budget_detail": ctx.budget.describe(),
        "input_size": ctx.input_size,
        "input_sizes": ctx.input_sizes,
        "rule": ctx.rule.describe(),
        "arms": [
            {
                "label": a.label,
                "model": a.model,
                "model_kwargs": dict(a.model_kwargs),
                "train": dict(a.train),
                "per_seed": per_seed.get(a.label, []),
            }
            for a in ctx.arms
        ],
        "stats": {
            arm: {m: {"mean": s.mean, "std": s.std, "n": s.n} for m, s in stats.items()}
            for arm, stats in ctx.stats.items()
        },
        "facts": analysis.facts if analysis else {},
        "verdict": {"status": verdict.status, "reason": verdict.reason},
        "command": command,
        "cpu": cpu_model(),
        "date": when,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=_json) + "\n")
    (out / "report.md").write_text(_report(ctx, analysis, verdict, figures, command, when))
    return results


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _report(
    ctx: Context,
    analysis: Analysis | None,
    verdict: Verdict,
    figures: list[tuple[str, str]],
    command: str,
    when: str,
) -> str:
    exp = ctx.experiment
    parts = [
        f"# {exp.title}\n",
        f"**Claim.** {exp.claim}\n",
        f"**Source.** {exp.source}\n",
        f"**Verdict: {verdict.status}.** {verdict.reason}\n",
        "## Protocol\n",
        exp.protocol + "\n",
        f"- Budget: {ctx.budget.describe()}; {_images_at(ctx)}.",
        "- Model selection on the validation split (best epoch); the test split is "
        "evaluated once, with the selected weights.",
        f"- Verdict rule (fixed before running): {ctx.rule.describe()}. Two means differ "
        "only when their gap exceeds both 2 combined standard errors and the larger "
        "seed standard deviation; otherwise the claim is *not shown at this scale*.\n",
        "| arm | model and settings |",
        "|---|---|",
        *[f"| `{a.label}` | {a.describe()} |" for a in ctx.arms],
        "",
    ]
    if exp.trains and ctx.runs:
        parts += ["## Results (mean ± std over seeds)\n", _results_table(ctx)]
        described = [m for m in exp.metrics if m.description]
        if described:
            parts += [f"- `{m.name}`: {m.description}" for m in described] + [""]
    if analysis:
        for title, columns, rows in analysis.tables:
            parts += [f"## {title}\n", markdown_table(columns, rows)]
        parts += [f"- {note}" for note in analysis.notes] + ([""] if analysis.notes else [])
    for name, caption in figures:
        parts += [f"![{caption}]({name})\n", f"*{caption}*\n"]
    parts += [
        "## Reproduce\n",
        f"```\n{command}\n```\n",
        f"Measured {when} on {cpu_model()} (2 cores shared with other work; times are "
        "indicative only).\n",
    ]
    return "\n".join(parts)


def _images_at(ctx: Context) -> str:
    """The image side of the runs: one for all, or each arm's where they differ."""
    sides = set(ctx.input_sizes.values()) or {ctx.input_size}
    if len(sides) == 1:
        side = sides.pop()
        return f"images at {side}x{side}"
    each = ", ".join(f"{label} {side}" for label, side in ctx.input_sizes.items())
    return f"images at each arm's own side, {min(sides)}-{max(sides)} px ({each})"
