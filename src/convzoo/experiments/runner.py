"""Run an experiment: every arm x seed through the training engine, then judge and report.

Layout of an experiment's directory::

    <out>/<name>/runs/<arm>/seed<k>/   one engine run each (config, metrics, summary)
    <out>/<name>/results.json          per-seed metrics, mean ± std, facts, verdict
    <out>/<name>/report.md             claim, protocol, tables, verdict, plots, command
    <out>/<name>/*.png                 curves with seed bands, bars with error bars

Resume: a run with a summary.json (or a diverged.json) is finished and skipped; a run
with a last.pt continues from it; anything else starts. A run directory made with other
settings is refused instead of silently reused.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from convzoo.experiments.core import Arm, Budget, Context, Experiment, Metric, RunData
from convzoo.experiments.verdict import Stat, Verdict, require_learning

__all__ = ["ExperimentInterrupted", "Outcome", "last_verdict", "run_experiment"]


class ExperimentInterrupted(RuntimeError):
    """A training was interrupted (Ctrl-C); the experiment resumes where it stopped."""


def _last(run: RunData, key: str) -> float:
    return float(run.records[-1][key]) if run.records and key in run.records[-1] else math.nan


def _summary(key: str):
    """A summary.json entry; NaN when the run diverged or its task has no such score."""
    return lambda run: float(run.summary.get(key, math.nan)) if run.summary else math.nan


STANDARD_METRICS: tuple[Metric, ...] = (
    Metric("test_acc", _summary("test_top1"), description="test top-1 (%) of the best-val epoch"),
    Metric("test_err", lambda r: 100 - _summary("test_top1")(r), higher_is_better=False,
           description="test top-1 error (%)"),
    Metric("best_val_acc", _summary("best_val_acc"), description="best validation top-1 (%)"),
    Metric("test_miou", _summary("test_miou"), description="segmentation: test mean IoU (%)"),
    Metric("test_boundary_iou", _summary("test_boundary_iou"),
           description="segmentation: test Boundary IoU (%), the outlines alone"),
    Metric("final_train_err", lambda r: 100 - _last(r, "train_acc"), higher_is_better=False,
           description="training error (%) of the last epoch (running, with augmentation)"),
    Metric("final_val_err", lambda r: 100 - _last(r, "val_acc"), higher_is_better=False,
           description="validation error (%) after the last epoch"),
    Metric("train_val_gap", lambda r: _last(r, "train_acc") - _last(r, "val_acc"),
           higher_is_better=False, description="train minus validation accuracy, last epoch"),
    Metric("params", _summary("params"), higher_is_better=False, description="parameters"),
    Metric("macs", _summary("macs"), higher_is_better=False,
           description="multiply-adds per image at the trained input size"),
    Metric("img_per_s", _summary("train_img_per_s"), description="training images per second"),
    Metric("wall_time_s", _summary("wall_time_s"), higher_is_better=False,
           description="training + test wall time (s)"),
    Metric("diverged", lambda r: float(r.diverged is not None), higher_is_better=False,
           description="1 when the loss became NaN/inf"),
)  # fmt: skip


@dataclass
class Outcome:
    experiment: str
    out: Path
    verdict: Verdict
    results: dict[str, Any]


def train_config(
    budget: Budget,
    arm: Arm,
    seed: int,
    run_dir: Path,
    *,
    progress: bool,
    threads: int | None = None,
):
    """The TrainConfig of one arm x seed (budget settings, then the arm's own)."""
    from convzoo.train.config import TrainConfig

    settings: dict[str, Any] = {
        "dataset": budget.dataset,
        "epochs": budget.epochs,
        "train_images": budget.train_images,
        "test_images": budget.test_images,
        "val_fraction": budget.val_fraction,
        "tensorboard": False,
        **budget.settings,
        **arm.train,
    }
    return TrainConfig(
        model=arm.model,
        model_kwargs=dict(arm.model_kwargs),
        seed=seed,
        out=str(run_dir),
        progress=progress,
        threads=threads,
        **settings,
    )


# settings that decide what a run means: a directory made with others is not reused
_MEANING = ("model", "model_kwargs", "dataset", "epochs", "seed", "train_images", "test_images",
            "val_fraction", "lr", "optimizer", "batch_size", "input_size", "augment",
            "weight_decay", "momentum", "schedule", "warmup_epochs", "init",
            "label_smoothing")  # fmt: skip


def _check_same_settings(run_dir: Path, cfg) -> None:
    stored = json.loads((run_dir / "config.json").read_text())["train"]
    wanted = asdict(cfg)
    differ = [k for k in _MEANING if wanted[k] is not None and stored.get(k) != wanted[k]]
    if differ:
        pairs = ", ".join(f"{k}: {stored.get(k)!r} there, {wanted[k]!r} now" for k in differ)
        raise ValueError(
            f"{run_dir} was trained with other settings ({pairs}); pass another --out "
            "or delete that directory"
        )


def run_training(
    budget: Budget, arm: Arm, seed: int, run_dir: Path, *, progress: bool, threads: int | None
) -> str:
    """Train (or resume, or skip) one arm x seed; returns "skipped", "trained" or "diverged"."""
    from convzoo.train.engine import resume, train
    from convzoo.train.guard import DivergenceError, NonFiniteLossError

    cfg = train_config(budget, arm, seed, run_dir, progress=progress, threads=threads)
    if (run_dir / "diverged.json").is_file():
        return "skipped"
    if (run_dir / "config.json").is_file():
        _check_same_settings(run_dir, cfg)
    if (run_dir / "summary.json").is_file():
        return "skipped"
    try:
        if (run_dir / "last.pt").is_file():
            result = resume(run_dir, progress=progress, threads=threads)
        else:
            result = train(cfg)
    except (NonFiniteLossError, DivergenceError) as exc:  # NaN/inf, or exploded while finite
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "diverged.json").write_text(json.dumps({"error": str(exc)}) + "\n")
        return "diverged"
    if result.status != "finished":
        raise ExperimentInterrupted(f"interrupted in {run_dir}")
    return "trained"


def load_run(run_dir: Path, arm: str, seed: int) -> RunData:
    config = json.loads((run_dir / "config.json").read_text())
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    batch = config["train"]["batch_size"]
    steps = math.ceil(config["splits"]["train"] / batch)
    diverged = None
    summary = None
    if (run_dir / "diverged.json").is_file():
        diverged = json.loads((run_dir / "diverged.json").read_text())["error"]
    else:
        summary = json.loads((run_dir / "summary.json").read_text())
    return RunData(arm, seed, records, summary, steps, diverged, len(config["classes"]))


def metric_values(exp: Experiment, run: RunData) -> dict[str, float]:
    return {m.name: m.fn(run) for m in (*STANDARD_METRICS, *exp.metrics)}


def collect(per_seed: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Stat]]:
    """Per arm and metric, mean ± std over the seeds that define it (NaN left out)."""
    stats: dict[str, dict[str, Stat]] = {}
    for arm, rows in per_seed.items():
        stats[arm] = {}
        for name in rows[0]:
            values = [row[name] for row in rows if not math.isnan(row[name])]
            if values:
                stats[arm][name] = Stat.of(values)
    return stats


def run_dir_of(out: Path, arm: Arm, seed: int) -> Path:
    return out / "runs" / arm.label / f"seed{seed}"


def run_experiment(
    exp: Experiment,
    *,
    quick: bool,
    root: Path,
    progress: bool = False,
    threads: int | None = None,
    echo=print,
    command: str = "",
    train_only: bool = False,
) -> Outcome | None:
    """Train what is missing, then write results.json, the plots and report.md.

    Seeds are the outer loop: an interrupted experiment has every arm at its first
    seeds, so a report with fewer seeds (``--seeds 0,1``) can be written from them.
    """
    from convzoo.experiments.report import write_outputs

    budget, arms = exp.budget(quick), exp.arms_for(quick)
    if len(budget.seeds) < 2 and not train_only:
        raise ValueError(
            f"a verdict needs a spread: at least 2 seeds, got {list(budget.seeds)} "
            "(--train-only trains single seeds, e.g. in parallel processes)"
        )
    out = root / exp.name
    out.mkdir(parents=True, exist_ok=True)
    runs: list[RunData] = []
    total, done = exp.trainings(quick), 0
    for seed in budget.seeds if exp.trains else ():
        for arm in arms:
            done += 1
            run_dir = run_dir_of(out, arm, seed)
            echo(f"[{exp.name} {done}/{total}] {arm.label} seed {seed}: {arm.describe()}")
            status = run_training(budget, arm, seed, run_dir, progress=progress, threads=threads)
            if status != "trained":
                echo(f"  {status} ({run_dir})")
            runs.append(load_run(run_dir, arm.label, seed))
    if train_only:
        return None
    runs.sort(key=lambda r: ([a.label for a in arms].index(r.arm), r.seed))
    per_seed: dict[str, list[dict[str, float]]] = {}
    for run in runs:
        per_seed.setdefault(run.arm, []).append(metric_values(exp, run))
    stats = collect(per_seed)
    sides = _input_sizes(out, arms, budget)
    input_size = next(iter(sides.values()), None) or _dataset_side(budget)
    ctx = Context(exp, budget, arms, runs, stats, out, input_size, quick, sides)
    analysis = exp.analyze(ctx) if exp.analyze else None
    facts = analysis.facts if analysis else {}
    rule = exp.rule_for(quick)
    verdict = require_learning(rule.judge(stats, facts), rule, stats, _chance(runs))
    results = write_outputs(ctx, per_seed, analysis, verdict, quick=quick, command=command)
    echo(f"[{exp.name}] {verdict.status}: {verdict.reason}")
    return Outcome(exp.name, out, verdict, results)


def _chance(runs: list[RunData]) -> float:
    """Top-1 accuracy (%) of guessing: 100 / number of classes (10 when nothing trained)."""
    return 100 / runs[0].num_classes if runs else 10.0


def _input_sizes(out: Path, arms: tuple[Arm, ...], budget: Budget) -> dict[str, int]:
    """Each trained arm's image side, from its first seed's config."""
    sides = {}
    for arm in arms:
        config = run_dir_of(out, arm, budget.seeds[0]) / "config.json"
        if config.is_file():
            sides[arm.label] = int(json.loads(config.read_text())["preprocess"]["input_size"][0])
    return sides


def _dataset_side(budget: Budget) -> int:
    from convzoo.data import load_dataset

    size = load_dataset(budget.dataset).image_size
    return int(size[0]) if size else 224


def last_verdict(root: Path, name: str) -> str | None:
    """The verdict stored by the last run of `name` under `root`, if any."""
    path = root / name / "results.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text())["verdict"]["status"]
