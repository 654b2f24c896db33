"""What an experiment is: a claim, its source, a protocol, and a verdict rule.

Adding an experiment is one `register_experiment(Experiment(...))` call in a
module imported by `convzoo.experiments`: the arms (trained configurations), the
two budgets (``quick`` for CI and docs, ``full`` for the claim) and the rule. An
optional ``analyze`` function adds measured facts, tables and figures (cost
ratios, per-layer counts) computed with the analysis tools.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convzoo.errors import did_you_mean
from convzoo.experiments.verdict import Rule, Stat

__all__ = [
    "QUICK",
    "Analysis",
    "Arm",
    "Budget",
    "Context",
    "Experiment",
    "Metric",
    "RunData",
    "epochs_to_train_error",
    "get_experiment",
    "list_experiments",
    "register_experiment",
    "steps_to_val_acc",
]


@dataclass(frozen=True)
class Arm:
    """One trained configuration: a registered model, its keywords, its own settings."""

    label: str
    model: str
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields for this arm

    def __post_init__(self) -> None:
        if not self.label or "/" in self.label or " " in self.label:
            raise ValueError(
                f"an arm label is one word usable as a folder name, got {self.label!r}"
            )

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in {**self.model_kwargs, **self.train}.items()]
        return self.model + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class Budget:
    """Data and training length shared by every arm; seeds give the spread."""

    dataset: str
    epochs: int
    seeds: tuple[int, ...] = (0, 1, 2)
    train_images: int | None = None  # a fixed subset of the training split (None: all)
    test_images: int | None = None  # a fixed subset of the test split (None: all)
    val_fraction: float = 0.1
    settings: Mapping[str, Any] = field(default_factory=dict)  # other TrainConfig fields

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")

    def describe(self) -> str:
        images = f", {self.train_images} training images" if self.train_images else ""
        images += f", {self.test_images} test images" if self.test_images else ""
        extra = "".join(f", {k}={v}" for k, v in self.settings.items())
        return (
            f"{self.dataset}, {self.epochs} epochs{images}, seeds {list(self.seeds)}, "
            f"validation {self.val_fraction:.0%} of the training split{extra}"
        )


# CI and docs: the bundled digits (8x8, ~1,150 training images), ~100 steps per training
QUICK = Budget("digits", epochs=3, settings={"batch_size": 32})


@dataclass
class RunData:
    """One finished (or diverged) training: its curves and its summary."""

    arm: str
    seed: int
    records: list[dict[str, Any]]  # metrics.jsonl
    summary: dict[str, Any] | None  # summary.json (None when the run diverged)
    steps_per_epoch: int
    diverged: str | None = None  # the error message of a run whose loss became NaN/inf
    num_classes: int = 10


@dataclass(frozen=True)
class Metric:
    """A number computed from one run (NaN when the run does not define it)."""

    name: str
    fn: Callable[[RunData], float]
    higher_is_better: bool = True
    description: str = ""


def steps_to_val_acc(target: float, budget_steps_if_never: bool = True) -> Metric:
    """Optimizer steps until validation accuracy first reaches `target` %.

    A finished run that never reaches it counts as one epoch past its budget, so a
    slower arm is not dropped from the mean; the report says so. A run that diverged
    before reaching it has no count (its few epochs are no budget).
    """

    def fn(run: RunData) -> float:
        for r in run.records:
            if r.get("val_acc", -1) >= target:
                return r["epoch"] * run.steps_per_epoch
        if run.diverged is not None or not budget_steps_if_never:
            return math.nan
        return (len(run.records) + 1) * run.steps_per_epoch

    return Metric(
        f"steps_to_val{target:g}",
        fn,
        higher_is_better=False,
        description=(
            f"steps until validation accuracy >= {target:g}% (budget + 1 epoch if never; "
            "- if the run diverged first)"
        ),
    )


def epochs_to_train_error(target: float) -> Metric:
    """Epochs until the (running) training error first drops to `target` % or below."""

    def fn(run: RunData) -> float:
        for r in run.records:
            if 100 - r["train_acc"] <= target:
                return float(r["epoch"])
        return math.nan if run.diverged is not None else float(len(run.records) + 1)

    return Metric(
        f"epochs_to_train_err{target:g}",
        fn,
        higher_is_better=False,
        description=f"epochs until training error <= {target:g}% (budget + 1 if never)",
    )


@dataclass
class Context:
    """What `analyze` sees: the budget, the arms, every run and the per-arm statistics."""

    experiment: Experiment
    budget: Budget
    arms: tuple[Arm, ...]
    runs: list[RunData]
    stats: dict[str, dict[str, Stat]]
    out: Path
    input_size: int  # side of the images the runs train on (the first arm's)
    quick: bool = False
    input_sizes: dict[str, int] = field(default_factory=dict)  # per arm, where they differ

    @property
    def rule(self) -> Rule:
        return self.experiment.rule_for(self.quick)


@dataclass
class Analysis:
    """Measured facts (for the rule), extra tables and figures for the report."""

    facts: dict[str, float] = field(default_factory=dict)
    tables: list[tuple[str, Sequence[str], list[Sequence[Any]]]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Experiment:
    """A claim from a paper, the protocol that tests it and the rule that judges it."""

    name: str
    title: str
    claim: str  # one sentence
    source: str  # paper and figure/table
    protocol: str  # what varies, what is held fixed, why
    arms: tuple[Arm, ...]
    rule: Rule
    full: Budget
    quick: Budget = QUICK  # every claim also runs in CI on the bundled digits
    headline: tuple[str, ...] = ("test_acc",)  # metrics of the bar chart and the summary
    metrics: tuple[Metric, ...] = ()  # beyond the standard ones
    quick_arms: tuple[Arm, ...] | None = None  # smaller stand-ins when the full arms are slow
    quick_rule: Rule | None = None  # the rule over the quick arms, when they differ
    analyze: Callable[[Context], Analysis] | None = None
    trains: bool = True  # False: the claim is judged from measured facts alone

    def __post_init__(self) -> None:
        labels = [a.label for a in self.arms]
        if len(set(labels)) != len(labels):
            raise ValueError(f"experiment {self.name!r} repeats an arm label: {labels}")
        if not self.arms and self.trains:
            raise ValueError(f"experiment {self.name!r} trains nothing; set trains=False")

    def budget(self, quick: bool) -> Budget:
        return self.quick if quick else self.full

    def rule_for(self, quick: bool) -> Rule:
        return self.quick_rule if quick and self.quick_rule is not None else self.rule

    def arms_for(self, quick: bool) -> tuple[Arm, ...]:
        return self.quick_arms if quick and self.quick_arms is not None else self.arms

    def trainings(self, quick: bool) -> int:
        return len(self.arms_for(quick)) * len(self.budget(quick).seeds) if self.trains else 0


_EXPERIMENTS: dict[str, Experiment] = {}

# the order of `--list` and `reproduce all`; experiments not named here follow, as registered
PRIORITY = (
    "degradation", "batchnorm", "separable", "compound_scaling", "stacked_3x3",
    "bottleneck_1x1", "gap_head", "relu_tanh", "dropout", "lrn", "aux_classifiers", "se",
    "resnext_cardinality", "densenet", "alpha_rho", "convnext_steps", "lineage",
)  # fmt: skip


def register_experiment(experiment: Experiment) -> Experiment:
    if experiment.name in _EXPERIMENTS:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    _EXPERIMENTS[experiment.name] = experiment
    return experiment


def _ensure_imported() -> None:
    import convzoo.experiments  # noqa: F401  (registers every experiment)


def get_experiment(name: str) -> Experiment:
    _ensure_imported()
    if name not in _EXPERIMENTS:
        hint = did_you_mean(name, _EXPERIMENTS, cutoff=0.5)
        raise ValueError(
            f"unknown experiment {name!r}{hint} (`convzoo reproduce --list` shows all "
            f"{len(_EXPERIMENTS)})"
        )
    return _EXPERIMENTS[name]


def list_experiments() -> list[Experiment]:
    """Every registered experiment, in priority order."""
    _ensure_imported()
    rank = {name: i for i, name in enumerate(PRIORITY)}
    names = sorted(_EXPERIMENTS, key=lambda n: rank.get(n, len(PRIORITY)))  # stable sort
    return [_EXPERIMENTS[n] for n in names]
