"""Weight sharing across children (ENAS: Pham, Guan, Zoph, Le, Dean 2018, arXiv:1802.03268).

Training every child from scratch is what makes the original search expensive. ENAS
instead keeps one over-parameterised network, the *shared weights*: at every position a
NASNet cell can fill it holds every operation, and a child is a path through it. Here
each trial trains the shared weights along the child the strategy proposed for
`shared_steps` minibatches (SGD, momentum 0.9, lr 0.05, weight decay 1e-4; the ENAS
settings, without its cosine schedule since the number of trials is open), then
scores the child with the shared weights on a fixed part of the seeded validation split
(its first `VAL_IMAGES` images; ENAS uses one validation minibatch): that accuracy is
the reward. Children are therefore cheap (a few minibatches instead of epochs) and
later children start from what earlier ones learned.

Where a child's cell concatenates only its unused blocks, the shared cell returns all
of its blocks with the used ones set to zero, so the next cell's 1x1 projections keep
one weight per block (the ENAS trick of selecting the rows of the used nodes).
Batch norm uses the statistics of the batch, in training and in scoring: running
averages would mix the statistics of different children.

The known bias: a child's accuracy under shared weights ranks architectures only
loosely like their accuracy when each is trained alone, and shared training can hold
back the best candidates (Yu, Sciuto, Jaggi, Musat, Salzmann, "Evaluating the Search
Phase of Neural Architecture Search", arXiv:1902.08142). It favours operations that
learn quickly from few updates and those that earlier children trained most, so the
leaderboard of a shared-weights search is a proposal: the best spec is retrained from
scratch, and only that run is tested. Random search with shared weights is a strong
baseline (Li & Talwalkar 2019, arXiv:1902.07638): `--strategy random` runs it.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.search.networks import NASNET_OPS, cell_input_projections, make_op
from convzoo.search.specs import NasCell, NasNetSpec

__all__ = ["SharedNasNet", "SharedWeights"]

SHARED_SGD = {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "nesterov": True}
VAL_IMAGES = 512  # the reward's images: the same for every child, so rewards compare


class SharedCell(nn.Module):
    """Every op for every (block, input) of a cell; `forward` follows one `NasCell`."""

    def __init__(
        self, num_blocks: int, c_prev_prev: int, c_prev: int, c: int, *, reduction: bool,
        prev_prev_reduced: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        self.pre0, self.pre1 = cell_input_projections(c_prev_prev, c_prev, c, prev_prev_reduced)
        # ops[block][input][op]: in a reduction cell ops reading the cell inputs carry the stride
        self.ops = nn.ModuleList(
            nn.ModuleList(
                nn.ModuleDict(
                    {op: make_op(op, c, 2 if reduction and i < 2 else 1) for op in NASNET_OPS}
                )
                for i in range(2 + b)
            )
            for b in range(num_blocks)
        )
        self.num_blocks = num_blocks
        self.out_channels = c * num_blocks

    def forward(self, h_prev_prev: Tensor, h_prev: Tensor, cell: NasCell) -> Tensor:
        states = [self.pre0(h_prev_prev), self.pre1(h_prev)]
        for b, block in enumerate(cell.blocks):
            (i, j), (op_i, op_j) = block.inputs, block.ops
            states.append(self.ops[b][i][op_i](states[i]) + self.ops[b][j][op_j](states[j]))
        unused = set(cell.unused())
        blocks = states[2:]
        return torch.cat(
            [s if 2 + b in unused else torch.zeros_like(s) for b, s in enumerate(blocks)], dim=1
        )


class SharedNasNet(nn.Module):
    """The shared weights of every network the NASNet space (with these sizes) holds.

    Same layout as `convzoo.search.networks.NasNet`: stem, ``num_reductions + 1`` stages
    of ``cells_per_stage`` normal cells (each stage after the first opens with a
    reduction cell, and doubles the filters), global pooling and a linear classifier.
    """

    def __init__(
        self, *, num_blocks: int, cells_per_stage: int, filters: int, num_reductions: int,
        stem_filters: int, num_classes: int, in_channels: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.sizes = {"cells_per_stage": cells_per_stage, "filters": filters,
                      "num_reductions": num_reductions, "stem_filters": stem_filters}  # fmt: skip
        self.num_blocks = num_blocks
        self.stem = ConvNormAct(in_channels, stem_filters, 3, act=None)
        self.cells = nn.ModuleList()
        self.reductions: list[bool] = []
        self.stage_starts: list[bool] = []  # a stage's first cell reads its input twice
        channels, c = stem_filters, filters
        for s in range(num_reductions + 1):
            prev_prev = prev = channels
            kinds = ([True] if s else []) + [False] * cells_per_stage
            c = c * 2 if s else c
            for k, reduction in enumerate(kinds):
                cell = SharedCell(num_blocks, prev_prev, prev, c, reduction=reduction,
                                  prev_prev_reduced=s > 0 and k == 1)  # fmt: skip
                self.cells.append(cell)
                self.reductions.append(reduction)
                self.stage_starts.append(k == 0)
                prev_prev, prev = prev, cell.out_channels
            channels = prev
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)
        )
        for m in self.modules():  # batch statistics only: see the module docstring
            if isinstance(m, nn.BatchNorm2d):
                m.track_running_stats = False
                m.running_mean = m.running_var = m.num_batches_tracked = None

    def check(self, spec: NasNetSpec) -> None:
        sizes = {k: getattr(spec, k) for k in self.sizes}
        blocks = {len(spec.normal.blocks), len(spec.reduction.blocks)}
        if sizes != self.sizes or blocks != {self.num_blocks}:
            raise ValueError(
                f"the shared weights hold {self.num_blocks}-block cells with {self.sizes}; "
                f"the spec has {sorted(blocks)}-block cells with {sizes}"
            )

    def forward(self, x: Tensor, spec: NasNetSpec) -> Tensor:
        self.check(spec)
        prev_prev = prev = self.stem(x)
        for cell, reduction, starts in zip(
            self.cells, self.reductions, self.stage_starts, strict=True
        ):
            if starts:
                prev_prev = prev
            prev_prev, prev = (
                prev,
                cell(prev_prev, prev, spec.reduction if reduction else spec.normal),
            )
        return self.head(prev)


class SharedWeights:
    """The shared network, its optimizer and a position in the training data.

    `reward(spec)` trains the shared weights along `spec` for `steps` minibatches and
    returns the spec's validation top-1 (0..1) with them. `save`/`load` keep all of it
    (atomically), so a resumed search continues from the same weights and data position.
    """

    def __init__(
        self, model: SharedNasNet, train_batches, val_batches, *, steps: int, path: Path
    ) -> None:
        self.model, self.train_batches, self.val_batches = model, train_batches, val_batches
        self.steps, self.path = steps, path
        self.optimizer = torch.optim.SGD(model.parameters(), **SHARED_SGD)
        self.position = 0  # minibatches trained so far

    @classmethod
    def for_search(cls, cfg: Any, data: Any, path: Path) -> SharedWeights:
        """The shared weights of a search (`SearchConfig`) on `data`, resumed from `path`."""
        from convzoo.data import Batches
        from convzoo.data.splits import split_validation

        if cfg.space != "nasnet":
            raise ValueError(f"weight sharing is built for the nasnet space, not {cfg.space!r}")
        space = cfg.make_space()
        train_split, val_split = split_validation(data.train, cfg.val_fraction, 0)
        if val_split is None:
            raise ValueError(
                "weight sharing scores children on a validation split: needs val_fraction > 0"
            )
        common = {"mean": data.mean, "std": data.std}
        batch = cfg.batch_size or 64
        torch.manual_seed(cfg.seed)
        sizes = ("num_blocks", "cells_per_stage", "filters", "num_reductions", "stem_filters")
        model = SharedNasNet(
            **{k: getattr(space, k) for k in sizes},
            num_classes=data.num_classes,
            in_channels=data.in_channels,
        )
        reward_images = val_split.subset(torch.arange(min(len(val_split), VAL_IMAGES)))
        shared = cls(
            model,
            Batches(train_split, batch_size=batch, shuffle=True, seed=cfg.seed, **common),
            Batches(reward_images, batch_size=256, shuffle=False, **common),
            steps=cfg.shared_steps,
            path=path,
        )
        if path.is_file():
            shared.load()
        return shared

    def _minibatches(self) -> Any:
        per_epoch = len(self.train_batches)
        epoch, start = divmod(self.position, per_epoch)
        for e in itertools.count(epoch):
            yield from self.train_batches.epoch(e, start)
            start = 0

    def train(self, spec: NasNetSpec) -> float:
        """`steps` SGD steps of the shared weights along `spec`; the mean training loss."""
        self.model.train()
        total = 0.0
        for images, labels in itertools.islice(self._minibatches(), self.steps):
            self.optimizer.zero_grad(set_to_none=True)  # ops off the path get no update
            loss = nn.functional.cross_entropy(self.model(images, spec), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)  # as ENAS
            self.optimizer.step()
            self.position += 1
            total += loss.item()
        return total / self.steps

    @torch.no_grad()
    def accuracy(self, spec: NasNetSpec) -> float:
        self.model.eval()
        hits = seen = 0
        for images, labels in self.val_batches.epoch():
            hits += (self.model(images, spec).argmax(1) == labels).sum().item()
            seen += len(labels)
        return hits / seen

    def reward(self, spec: NasNetSpec) -> float:
        self.train(spec)
        return self.accuracy(spec)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "position": self.position}  # fmt: skip

    def save(self) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(self.path)  # a kill while writing leaves the previous state whole

    def load(self) -> None:
        state = torch.load(self.path, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.position = state["position"]
