"""The REINFORCE controller of Zoph & Le (2017, arXiv:1611.01578), Sections 3.1-3.3.

A two-layer LSTM emits the space's decisions one per step; each choice's embedding is
the next step's input. In a space with skip connections (`SearchSpace.anchor_points`)
every layer i also has an anchor point: one LSTM step whose hidden state h_i decides,
for each earlier layer j, whether j is an input of i with the content-based sigmoid of
Section 3.3,

    P(layer j is an input to layer i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i)),

h_j being the hidden state at layer j's anchor point (kept for the rest of the sequence)
and W_prev, W_curr, v trained with the rest of the controller. Each yes/no is a
Bernoulli decision whose log-probability and entropy join those of the softmax
decisions in REINFORCE.

Where the paper is silent we follow the macro controller of Pham et al.'s ENAS code
(arXiv:1802.03268): the step after layer i's anchor point reads the chosen layers'
anchor states summed and divided by 1 + their number (zeros when none is chosen), and
the step after layer 0's anchor reads the start input again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli, Categorical, Distribution

from convzoo.search.spaces import SearchSpace

__all__ = ["Controller", "Rollout", "one_thread"]


@contextmanager
def one_thread() -> Iterator[None]:
    """The controller's ops are tiny: on a busy machine, more threads only add waiting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class Rollout:
    """One pass of the controller: the choices, their log-probabilities and entropies,
    and each decision's option probabilities (a link's are [no, yes])."""

    choices: list[int] = field(default_factory=list)
    log_probs: list[Tensor] = field(default_factory=list)
    entropies: list[Tensor] = field(default_factory=list)
    probs: list[list[float]] = field(default_factory=list)

    def add(self, dist: Distribution, choice: int) -> int:
        link = isinstance(dist, Bernoulli)
        self.log_probs.append(dist.log_prob(torch.tensor(float(choice) if link else choice)))
        self.entropies.append(dist.entropy())
        p = dist.probs.detach()
        self.probs.append([1.0 - float(p), float(p)] if link else p.tolist())
        self.choices.append(choice)
        return choice

    @property
    def log_p(self) -> Tensor:
        return torch.stack(self.log_probs).sum()

    @property
    def entropy(self) -> Tensor:
        return torch.stack(self.entropies).sum()


def _draw(dist: Distribution, generator: torch.Generator | None, greedy: bool) -> int:
    """A sample of `dist`, or its most likely value."""
    if isinstance(dist, Bernoulli):
        if greedy:
            return int(dist.probs > 0.5)
        return int(torch.bernoulli(dist.probs, generator=generator))
    if greedy:
        return int(dist.probs.argmax())
    return int(torch.multinomial(dist.probs, 1, generator=generator))


class Controller(nn.Module):
    """The LSTM controller; with anchor points, the attention that picks skip connections."""

    def __init__(self, space: SearchSpace, hidden: int = 35, layers: int = 2) -> None:
        super().__init__()
        self.size = len(space.decisions)
        # anchor point k -> its layer i; the i decisions from k are that layer's inputs
        self.anchor_layer = {k: i for i, k in enumerate(space.anchor_points)}
        self.links = {k + j for k, i in self.anchor_layer.items() for j in range(i)}
        sizes = {
            str(k): len(d.options) for k, d in enumerate(space.decisions) if k not in self.links
        }
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers)
        self.heads = nn.ModuleDict({k: nn.Linear(hidden, n) for k, n in sizes.items()})
        self.embeddings = nn.ModuleDict({k: nn.Embedding(n, hidden) for k, n in sizes.items()})
        if self.anchor_layer:
            self.w_prev = nn.Linear(hidden, hidden, bias=False)
            self.w_curr = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        for p in self.parameters():  # the paper: uniform in [-0.08, 0.08]
            nn.init.uniform_(p, -0.08, 0.08)

    def link_logit(self, h_j: Tensor, h_i: Tensor) -> Tensor:
        """v^T tanh(W_prev h_j + W_curr h_i): the logit of "layer j feeds layer i"."""
        return self.v(torch.tanh(self.w_prev(h_j) + self.w_curr(h_i))).squeeze(-1)

    def run(
        self,
        choices: list[int] | None = None,
        generator: torch.Generator | None = None,
        *,
        greedy: bool = False,
    ) -> Rollout:
        """Sample a decision sequence, take the most likely (`greedy`), or score `choices`."""
        out = Rollout()

        def choose(dist: Distribution, k: int) -> int:
            return out.add(dist, _draw(dist, generator, greedy) if choices is None else choices[k])

        x, state, anchors = self.start, None, []
        for k in range(self.size + 1):
            if k in self.anchor_layer:  # layer i's anchor point: one step scores all its inputs
                i = self.anchor_layer[k]
                h, state = self.lstm(x, state)
                anchors.append(h[-1])
                chosen = [
                    anchors[j]
                    for j in range(i)
                    if choose(Bernoulli(logits=self.link_logit(anchors[j], anchors[i])), k + j)
                ]
                mean = torch.stack([torch.zeros_like(h[-1]), *chosen]).mean(0, keepdim=True)
                x = self.start if i == 0 else mean
            if k == self.size or k in self.links:
                continue
            h, state = self.lstm(x, state)
            c = choose(Categorical(logits=self.heads[str(k)](h[-1])), k)
            x = self.embeddings[str(k)](torch.tensor([c]))
        return out
