"""Search strategies over a `SearchSpace`'s decisions, behind one interface.

``ask() -> spec`` proposes an architecture; ``tell(spec, reward)`` reports how it did.
`tell` accepts any spec of the space (not only the last one asked), so a resumed search
or several workers can replay every finished trial into a fresh strategy.

* `Reinforce`: Zoph & Le (2017, arXiv:1611.01578, Sections 3.1-3.3). A two-layer LSTM
  (`convzoo.search.controller`) emits the decisions one after another (each choice's
  embedding is the next input); skip connections are chosen at each layer's anchor
  point by the content-based sigmoid sigmoid(v^T tanh(W_prev h_j + W_curr h_i)) over
  the earlier anchors' hidden states. REINFORCE with an exponential-moving-average
  baseline of past rewards, an entropy bonus, and one Adam step per batch of children
  (the paper: lr 0.0006, 35 hidden units).
* `RandomSearch`: the space's own sampler (for AnyNet, `sample_anynet`).
* `Evolution`: regularized evolution (Real et al. 2019, arXiv:1802.01548, Algorithm 1):
  a population of the last P trials; a child mutates the best of S drawn at random;
  the oldest member dies.
* `TPE`: Optuna's `TPESampler` over the same categorical decisions.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

import torch

from convzoo.search.controller import Controller, one_thread
from convzoo.search.spaces import SearchSpace
from convzoo.search.specs import Spec

__all__ = [
    "STRATEGIES",
    "TPE",
    "Evolution",
    "RandomSearch",
    "Reinforce",
    "Strategy",
    "make_strategy",
    "mnas_reward",
]


def mnas_reward(accuracy: float, macs: float, target_macs: float, w: float = -0.07) -> float:
    """MnasNet's soft-constrained reward ACC x (MACs / target)^w (Tan et al. 2019, Eq. 2)."""
    if target_macs <= 0 or macs <= 0:
        raise ValueError(f"MACs and the target must be > 0, got {macs} and {target_macs}")
    return accuracy * (macs / target_macs) ** w


class Strategy(ABC):
    """ask() -> spec, tell(spec, reward); `state_dict` checkpoints what it has learned."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)
        self.told = 0

    @abstractmethod
    def ask(self) -> Spec:
        """The next architecture to try."""

    def tell(self, spec: Spec, reward: float) -> None:
        self.told += 1
        self._learn(self.space.encode(spec), float(reward))

    @abstractmethod
    def _learn(self, choices: tuple[int, ...], reward: float) -> None:
        """What the strategy does with a result."""

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rng": self.rng.getstate(), "told": self.told}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed = state["seed"]
        self.rng.setstate(_as_tuple(state["rng"]))
        self.told = state["told"]


def _as_tuple(value: Any) -> Any:
    """random.Random's state, restored from lists (what a round trip may turn tuples into)."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


class RandomSearch(Strategy):
    def ask(self) -> Spec:
        return self.space.sample(self.rng)

    def _learn(self, choices: tuple[int, ...], reward: float) -> None:
        """Random search learns nothing: every draw is independent of the results."""


class Evolution(Strategy):
    """Regularized evolution: tournament of `sample_size` from the last `population` trials."""

    def __init__(
        self, space: SearchSpace, seed: int = 0, *, population: int = 20, sample_size: int = 5
    ) -> None:
        super().__init__(space, seed)
        if not 2 <= sample_size <= population:
            raise ValueError(
                f"need 2 <= sample_size <= population, got {sample_size} and {population}"
            )
        self.population_size, self.sample_size = population, sample_size
        self.population: deque[tuple[tuple[int, ...], float]] = deque()

    def ask(self) -> Spec:
        if len(self.population) < self.population_size:  # the random initial population
            return self.space.sample(self.rng)
        contenders = self.rng.sample(list(self.population), self.sample_size)
        parent = max(contenders, key=lambda member: member[1])[0]
        return self.space.decode(self.mutate(parent))

    def mutate(self, choices: tuple[int, ...]) -> list[int]:
        """One decision moved to a different option (an op, an input or a size)."""
        child = list(choices)
        mutable = [i for i, d in enumerate(self.space.decisions) if len(d.options) > 1]
        i = self.rng.choice(mutable)
        others = [c for c in range(len(self.space.decisions[i].options)) if c != child[i]]
        child[i] = self.rng.choice(others)
        return child

    def _learn(self, choices: tuple[int, ...], reward: float) -> None:
        self.population.append((choices, reward))
        if len(self.population) > self.population_size:
            self.population.popleft()  # the oldest dies, however good it was

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "population": list(self.population)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.population = deque((tuple(c), r) for c, r in state["population"])


class TPE(Strategy):
    """Optuna's Tree-structured Parzen Estimator over the decisions (one categorical each)."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        super().__init__(space, seed)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.distributions = {
            d.name: optuna.distributions.CategoricalDistribution(list(range(len(d.options))))
            for d in space.decisions
        }
        self.study = optuna.create_study(direction="maximize")

    def ask(self) -> Spec:
        # a sampler seeded by (seed, trials told): the next draw depends only on the history,
        # so a strategy rebuilt from `state_dict` (or a replay) proposes the same spec
        self.study.sampler = self._optuna.samplers.TPESampler(seed=self.seed * 100_003 + self.told)
        trial = self.study.ask(self.distributions)
        choices = [trial.params[d.name] for d in self.space.decisions]
        # the result comes back through tell() as a completed trial; this one is only a draw
        self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        return self.space.decode(choices)

    def _learn(self, choices: tuple[int, ...], reward: float) -> None:
        params = {d.name: c for d, c in zip(self.space.decisions, choices, strict=True)}
        self.study.add_trial(
            self._optuna.trial.create_trial(
                params=params, distributions=self.distributions, value=reward
            )
        )

    def state_dict(self) -> dict[str, Any]:
        done = self._optuna.trial.TrialState.COMPLETE
        history = [
            ([t.params[d.name] for d in self.space.decisions], t.value)
            for t in self.study.get_trials(states=(done,))
        ]
        return {**super().state_dict(), "history": history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for choices, reward in state["history"]:
            self._learn(tuple(choices), reward)


class Reinforce(Strategy):
    """Zoph & Le's controller, trained with REINFORCE (see the module docstring)."""

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        *,
        batch_size: int = 4,
        lr: float = 6e-4,
        baseline_decay: float = 0.9,
        entropy_weight: float = 1e-3,
        hidden: int = 35,
    ) -> None:
        super().__init__(space, seed)
        if batch_size < 1 or not 0 <= baseline_decay < 1:
            raise ValueError(
                f"need batch_size >= 1 and 0 <= baseline_decay < 1, "
                f"got {batch_size} and {baseline_decay}"
            )
        with torch.random.fork_rng():  # initial weights follow the search seed, not global state
            torch.manual_seed(seed)
            self.controller = Controller(space, hidden)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.batch_size, self.decay, self.entropy_weight = (
            batch_size,
            baseline_decay,
            entropy_weight,
        )
        self.baseline: float | None = None
        self.pending: list[tuple[list[int], float]] = []  # (choices, advantage) of this batch

    def ask(self) -> Spec:
        with torch.no_grad(), one_thread():
            rollout = self.controller.run(generator=self.generator)
        return self.space.decode(rollout.choices)

    def _learn(self, choices: tuple[int, ...], reward: float) -> None:
        if self.baseline is None:
            self.baseline = reward
        self.pending.append((list(choices), reward - self.baseline))
        self.baseline = self.decay * self.baseline + (1 - self.decay) * reward
        if len(self.pending) >= self.batch_size:
            self.step()

    def step(self) -> None:
        """One gradient step on the batch of children told since the last one."""
        with one_thread():
            losses = []
            for choices, advantage in self.pending:
                rollout = self.controller.run(choices)
                losses.append(-advantage * rollout.log_p - self.entropy_weight * rollout.entropy)
            self.optimizer.zero_grad()
            torch.stack(losses).mean().backward()
            self.optimizer.step()
        self.pending = []

    def probabilities(self) -> list[list[float]]:
        """Each decision's option probabilities along the controller's most likely sequence
        (a skip connection's are [no, yes])."""
        with torch.no_grad(), one_thread():
            return self.controller.run(greedy=True).probs

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "controller": self.controller.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "pending": self.pending,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline, self.pending = state["baseline"], list(state["pending"])
        self.generator.set_state(state["generator"])


STRATEGIES: dict[str, type[Strategy]] = {
    "reinforce": Reinforce,
    "random": RandomSearch,
    "evolution": Evolution,
    "tpe": TPE,
}


def make_strategy(name: str, space: SearchSpace, seed: int = 0, **options: Any) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    return STRATEGIES[name](space, seed, **options)
