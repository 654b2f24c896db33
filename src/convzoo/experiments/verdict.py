"""Verdict rules: stated before running, judged on mean ± std over seeds.

A rule compares arms on one metric. Two arms differ only when the gap between their
means is larger than BOTH the noise of the means (``Z`` combined standard errors)
and the seed-to-seed spread (the larger of the two standard deviations). A gap
inside the noise is reported as "not shown at this scale", never as confirmed.
Deterministic facts (parameter and multiply-add counts) are judged as they are.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CONFIRMED",
    "CONTRADICTED",
    "NOT_SHOWN",
    "AllOf",
    "Better",
    "FactAtMost",
    "FactGreater",
    "FactNear",
    "NotBetter",
    "Rule",
    "Stat",
    "Verdict",
    "require_learning",
]

CONFIRMED = "confirmed"
NOT_SHOWN = "not shown at this scale"
CONTRADICTED = "contradicted"
Z = 2.0  # standard errors of the difference a gap must exceed


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation and count of one metric over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        values = [float(v) for v in values]
        if not values:
            raise ValueError("a statistic needs at least one value, got none")
        n = len(values)
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(mean, math.sqrt(var), n)

    @property
    def sem(self) -> float:
        return self.std / math.sqrt(self.n)

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g}"


def separation(a: Stat, b: Stat) -> tuple[float, float]:
    """(a.mean - b.mean, the noise threshold the gap must exceed)."""
    noise = max(Z * math.hypot(a.sem, b.sem), a.std, b.std)
    return a.mean - b.mean, noise


@dataclass(frozen=True)
class Verdict:
    status: str  # CONFIRMED | NOT_SHOWN | CONTRADICTED
    reason: str


Table = Mapping[str, Mapping[str, Stat]]  # arm label -> metric -> Stat
Facts = Mapping[str, float]


class Rule(ABC):
    """A claim that can be judged from the per-arm statistics and measured facts."""

    @abstractmethod
    def describe(self) -> str:
        """The rule in one line, printed in the report before any result."""

    @abstractmethod
    def judge(self, table: Table, facts: Facts) -> Verdict:
        """The verdict on these results."""

    def arms(self) -> set[str]:
        """The trained arms the rule compares (none for measured facts)."""
        return {getattr(self, name) for name in ("a", "b") if hasattr(self, "metric")}


def _stat(table: Table, arm: str, metric: str) -> Stat:
    if arm not in table or metric not in table[arm]:
        raise KeyError(f"no {metric!r} for arm {arm!r}; arms: {sorted(table)}")
    return table[arm][metric]


@dataclass(frozen=True)
class Better(Rule):
    """``metric`` of arm ``a`` is better than arm ``b``'s, beyond the noise."""

    metric: str
    a: str
    b: str
    higher_is_better: bool = True

    def describe(self) -> str:
        word = "higher" if self.higher_is_better else "lower"
        return f"{self.metric}: {self.a} {word} than {self.b} beyond the noise"

    def judge(self, table: Table, facts: Facts) -> Verdict:
        sa, sb = _stat(table, self.a, self.metric), _stat(table, self.b, self.metric)
        gap, noise = separation(sa, sb)
        gain = gap if self.higher_is_better else -gap
        text = f"{self.metric}: {self.a} {sa} vs {self.b} {sb} (gap {gap:+.3g}, noise {noise:.2g})"
        if gain > noise:
            return Verdict(CONFIRMED, text)
        if -gain > noise:
            return Verdict(CONTRADICTED, text)
        return Verdict(NOT_SHOWN, text + ": inside the noise")


@dataclass(frozen=True)
class NotBetter(Rule):
    """A null claim: arm ``a`` does not improve ``metric`` over ``b`` by more than ``margin``.

    Confirmed when even the optimistic end of the gap (gap + noise) stays below the
    margin; contradicted when ``a`` is better by more than the margin beyond the noise.
    """

    metric: str
    a: str
    b: str
    margin: float
    higher_is_better: bool = True

    def describe(self) -> str:
        return (
            f"{self.metric}: {self.a} is not better than {self.b} by more than {self.margin:g} "
            "(gap + noise below the margin)"
        )

    def judge(self, table: Table, facts: Facts) -> Verdict:
        sa, sb = _stat(table, self.a, self.metric), _stat(table, self.b, self.metric)
        gap, noise = separation(sa, sb)
        gain = gap if self.higher_is_better else -gap
        text = (
            f"{self.metric}: {self.a} {sa} vs {self.b} {sb} (gain {gain:+.3g}, noise {noise:.2g})"
        )
        if gain + noise < self.margin:
            return Verdict(CONFIRMED, text)
        if gain - noise > self.margin:
            return Verdict(CONTRADICTED, text)
        return Verdict(NOT_SHOWN, text + ": the noise allows a gain above the margin")


@dataclass(frozen=True)
class FactNear(Rule):
    """A measured, deterministic quantity is within ``rel_tol`` of an expected value."""

    fact: str
    expected: float
    rel_tol: float

    def describe(self) -> str:
        return f"{self.fact} within {self.rel_tol:.0%} of {self.expected:.4g}"

    def judge(self, table: Table, facts: Facts) -> Verdict:
        value = facts[self.fact]
        ok = abs(value - self.expected) <= self.rel_tol * abs(self.expected)
        return Verdict(
            CONFIRMED if ok else CONTRADICTED,
            f"{self.fact} = {value:.4g} (expected {self.expected:.4g})",
        )


@dataclass(frozen=True)
class FactAtMost(Rule):
    """A measured, deterministic quantity is at most ``limit``."""

    fact: str
    limit: float

    def describe(self) -> str:
        return f"{self.fact} <= {self.limit:.4g}"

    def judge(self, table: Table, facts: Facts) -> Verdict:
        value = facts[self.fact]
        return Verdict(
            CONFIRMED if value <= self.limit else CONTRADICTED,
            f"{self.fact} = {value:.4g} (limit {self.limit:.4g})",
        )


@dataclass(frozen=True)
class AllOf(Rule):
    """Every part holds: contradicted if any part is, confirmed only if all are."""

    parts: tuple[Rule, ...]

    def describe(self) -> str:
        return "; and ".join(p.describe() for p in self.parts)

    def arms(self) -> set[str]:
        return set().union(*(p.arms() for p in self.parts))

    def judge(self, table: Table, facts: Facts) -> Verdict:
        verdicts = [p.judge(table, facts) for p in self.parts]
        statuses = {v.status for v in verdicts}
        if CONTRADICTED in statuses:
            status = CONTRADICTED
        elif statuses == {CONFIRMED}:
            status = CONFIRMED
        else:
            status = NOT_SHOWN
        return Verdict(status, "; ".join(f"[{v.status}] {v.reason}" for v in verdicts))


@dataclass(frozen=True)
class FactGreater(Rule):
    """One measured quantity is larger than another (e.g. highest stable learning rates)."""

    a: str
    b: str

    def describe(self) -> str:
        return f"{self.a} > {self.b}"

    def judge(self, table: Table, facts: Facts) -> Verdict:
        va, vb = facts[self.a], facts[self.b]
        text = f"{self.a} = {va:.4g} vs {self.b} = {vb:.4g}"
        return Verdict(CONFIRMED if va > vb else NOT_SHOWN if va == vb else CONTRADICTED, text)


def require_learning(verdict: Verdict, rule: Rule, table: Table, chance: float) -> Verdict:
    """No confirmation from arms that did not learn: a comparison of two networks stuck at
    chance (identical, zero-spread accuracies) says nothing about the claim.

    An arm did not learn when its mean best validation accuracy is below 1.5x chance.
    """
    stuck = sorted(
        arm
        for arm in rule.arms()
        if arm in table
        and "best_val_acc" in table[arm]
        and table[arm]["best_val_acc"].mean < 1.5 * chance
    )
    if verdict.status != CONFIRMED or not stuck:
        return verdict
    return Verdict(
        NOT_SHOWN,
        f"{', '.join(stuck)} did not learn (validation accuracy below 1.5x chance, "
        f"{chance:.1f}%); {verdict.reason}",
    )
