"""Search spaces: the discrete decisions a strategy makes, and how they become a spec.

Each `SearchSpace` lists its decisions (`Decision`: a name and its number of
choices), turns a list of choices into a `Spec` (`convzoo.search.specs`) and back,
and samples valid specs. `nas_entry` makes a saved spec a model name
(``create_model("nas:PATH.json")``). The published NASNet-A, whose
stages hand on both previous cells, is registered from `convzoo.models.nasnet`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from convzoo.models.base import ConvNet
from convzoo.search.design_space import AnyNetSpace, sample_anynet
from convzoo.search.networks import NASNET_OPS
from convzoo.search.specs import (
    ZOPH_FILTERS,
    ZOPH_KERNELS,
    ZOPH_STRIDES,
    AnyNetSpec,
    NasBlock,
    NasCell,
    NasNetSpec,
    Spec,
    ZophLayer,
    ZophSpec,
    is_int,
    load_spec,
    require,
)

__all__ = ["SPACES", "NasNetSearchSpace", "SearchSpace", "ZophSearchSpace", "nas_entry"]


# -- the spaces: decisions <-> specs ---------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One categorical choice of a strategy: a name and its options."""

    name: str
    options: tuple[Any, ...]


class SearchSpace(ABC):
    """What a strategy sees: decisions in order; `decode(choices)` gives the spec.

    `anchor_points` (Zoph & Le 2017, Section 3.3), one per layer of a space with skip
    connections: layer i's anchor point sits before decision ``anchor_points[i]``, and
    the i decisions from there say whether layers 0..i-1 are inputs of layer i.
    """

    name: ClassVar[str]
    decisions: tuple[Decision, ...]
    anchor_points: tuple[int, ...] = ()

    @abstractmethod
    def decode(self, choices: Sequence[int]) -> Spec:
        """The spec of one choice index per decision."""

    @abstractmethod
    def encode(self, spec: Spec) -> tuple[int, ...]:
        """The choice indices that decode to `spec`."""

    def check_choices(self, choices: Sequence[int]) -> None:
        require(
            len(choices) == len(self.decisions),
            f"{self.name} needs {len(self.decisions)} choices, got {len(choices)}",
        )
        for d, c in zip(self.decisions, choices, strict=True):
            require(
                is_int(c) and 0 <= c < len(d.options),
                f"choice for {d.name} must be in 0..{len(d.options) - 1}, got {c!r}",
            )

    def sample(self, rng: random.Random) -> Spec:
        return self.decode([rng.randrange(len(d.options)) for d in self.decisions])


@dataclass
class ZophSearchSpace(SearchSpace):
    """`num_layers` layers; strides searched when `search_strides` (the paper's option)."""

    name: ClassVar[str] = "zoph"
    num_layers: int = 6
    search_strides: bool = True
    decisions: tuple[Decision, ...] = field(init=False)
    anchor_points: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        require(self.num_layers >= 1, f"num_layers must be >= 1, got {self.num_layers}")
        out: list[Decision] = []
        anchors: list[int] = []
        for i in range(self.num_layers):
            out += [
                Decision(f"layer{i}.kernel_height", ZOPH_KERNELS),
                Decision(f"layer{i}.kernel_width", ZOPH_KERNELS),
                Decision(f"layer{i}.filters", ZOPH_FILTERS),
            ]
            if self.search_strides:
                out.append(Decision(f"layer{i}.stride", ZOPH_STRIDES))
            anchors.append(len(out))  # after the layer's own shape: its inputs come next
            out += [Decision(f"layer{i}.input{j}", (False, True)) for j in range(i)]
        self.decisions = tuple(out)
        self.anchor_points = tuple(anchors)

    def decode(self, choices: Sequence[int]) -> ZophSpec:
        self.check_choices(choices)
        values = iter(d.options[c] for d, c in zip(self.decisions, choices, strict=True))
        layers = []
        for i in range(self.num_layers):
            kh, kw, filters = next(values), next(values), next(values)
            stride = next(values) if self.search_strides else 1
            inputs = tuple(j for j in range(i) if next(values))
            layers.append(ZophLayer(kh, kw, filters, stride, inputs))
        return ZophSpec(tuple(layers))

    def encode(self, spec: Spec) -> tuple[int, ...]:
        require(
            isinstance(spec, ZophSpec) and len(spec.layers) == self.num_layers,
            f"expected a zoph spec of {self.num_layers} layers, got {spec}",
        )
        out: list[int] = []
        for i, layer in enumerate(spec.layers):  # type: ignore[union-attr]
            out += [ZOPH_KERNELS.index(layer.kernel_height), ZOPH_KERNELS.index(layer.kernel_width)]
            out.append(ZOPH_FILTERS.index(layer.filters))
            if self.search_strides:
                out.append(ZOPH_STRIDES.index(layer.stride))
            out += [int(j in layer.inputs) for j in range(i)]
        return tuple(out)


@dataclass
class NasNetSearchSpace(SearchSpace):
    """Both cells' blocks (input, input, op, op each); N, filters and depth held fixed."""

    name: ClassVar[str] = "nasnet"
    num_blocks: int = 5
    cells_per_stage: int = 2
    filters: int = 16
    num_reductions: int = 2
    stem_filters: int = 32
    decisions: tuple[Decision, ...] = field(init=False)

    def __post_init__(self) -> None:
        require(self.num_blocks >= 1, f"num_blocks must be >= 1, got {self.num_blocks}")
        out: list[Decision] = []
        for kind in ("normal", "reduction"):
            for b in range(self.num_blocks):
                states = tuple(range(2 + b))
                out += [
                    Decision(f"{kind}.block{b}.input0", states),
                    Decision(f"{kind}.block{b}.input1", states),
                    Decision(f"{kind}.block{b}.op0", NASNET_OPS),
                    Decision(f"{kind}.block{b}.op1", NASNET_OPS),
                ]
        self.decisions = tuple(out)

    def decode(self, choices: Sequence[int]) -> NasNetSpec:
        self.check_choices(choices)
        values = [d.options[c] for d, c in zip(self.decisions, choices, strict=True)]
        cells = []
        for k in range(2):
            chunk = values[4 * self.num_blocks * k : 4 * self.num_blocks * (k + 1)]
            blocks = tuple(
                NasBlock((chunk[4 * b], chunk[4 * b + 1]), (chunk[4 * b + 2], chunk[4 * b + 3]))
                for b in range(self.num_blocks)
            )
            cells.append(NasCell(blocks))
        return NasNetSpec(
            normal=cells[0], reduction=cells[1], cells_per_stage=self.cells_per_stage,
            filters=self.filters, num_reductions=self.num_reductions,
            stem_filters=self.stem_filters,
        )  # fmt: skip

    def encode(self, spec: Spec) -> tuple[int, ...]:
        require(
            isinstance(spec, NasNetSpec) and len(spec.normal.blocks) == self.num_blocks,
            f"expected a nasnet spec with {self.num_blocks}-block cells, got {spec}",
        )
        out: list[int] = []
        for cell in (spec.normal, spec.reduction):  # type: ignore[union-attr]
            for block in cell.blocks:
                out += [*block.inputs, *(NASNET_OPS.index(op) for op in block.ops)]
        return tuple(out)


@dataclass
class AnyNetSearchSpace(SearchSpace):
    """AnyNetX_A sized for small images: three stages, depth <= 3, width <= 64."""

    name: ClassVar[str] = "anynet"
    constraints: AnyNetSpace = field(
        default_factory=lambda: AnyNetSpace(
            name="AnyNetX_A-small", num_stages=3, max_depth=3, max_width=64,
            group_widths=(1, 2, 4, 8, 16),
        )
    )  # fmt: skip
    stem_width: int = 16
    decisions: tuple[Decision, ...] = field(init=False)

    def __post_init__(self) -> None:
        s = self.constraints
        widths = tuple(range(s.width_step, s.max_width + 1, s.width_step))
        out: list[Decision] = []
        for i in range(s.num_stages):
            out += [
                Decision(f"stage{i + 1}.depth", tuple(range(1, s.max_depth + 1))),
                Decision(f"stage{i + 1}.width", widths),
                Decision(f"stage{i + 1}.bottleneck_ratio", s.bottleneck_ratios),
                Decision(f"stage{i + 1}.group_width", s.group_widths),
            ]
        self.decisions = tuple(out)

    def sample(self, rng: random.Random) -> AnyNetSpec:
        """`sample_anynet`'s draw (uniform over the valid networks of the space)."""
        config = sample_anynet(rng, self.constraints)
        stages = tuple((s.depth, s.width, s.bottleneck_ratio, s.group_width) for s in config.stages)
        return AnyNetSpec(stages, config.se_ratio, self.stem_width)

    def decode(self, choices: Sequence[int]) -> AnyNetSpec:
        """Group widths that do not divide the inner width fall to the largest that does."""
        self.check_choices(choices)
        values = [d.options[c] for d, c in zip(self.decisions, choices, strict=True)]
        stages = []
        for i in range(self.constraints.num_stages):
            d, w, b, g = values[4 * i : 4 * i + 4]
            b = max(r for r in self.constraints.bottleneck_ratios if r <= b and w % r == 0)
            inner = w // b
            g = max(v for v in self.constraints.group_widths if v <= g and inner % v == 0)
            stages.append((d, w, b, g))
        return AnyNetSpec(tuple(stages), self.constraints.se_ratio, self.stem_width)

    def encode(self, spec: Spec) -> tuple[int, ...]:
        require(
            isinstance(spec, AnyNetSpec) and len(spec.stages) == self.constraints.num_stages,
            f"expected an anynet spec of {self.constraints.num_stages} stages, got {spec}",
        )
        values = [v for stage in spec.stages for v in stage]  # type: ignore[union-attr]
        return tuple(d.options.index(v) for d, v in zip(self.decisions, values, strict=True))


SPACES: dict[str, type[SearchSpace]] = {
    "zoph": ZophSearchSpace,
    "nasnet": NasNetSearchSpace,
    "anynet": AnyNetSearchSpace,
}


# -- `nas:PATH.json` as a model name --------------------------------------------------
NAS_PREFIX = "nas:"

_PAPERS = {
    "zoph": ("Neural Architecture Search with Reinforcement Learning", "Zoph, Le", 2017,
             "1611.01578", "Section 3.3"),
    "nasnet": ("Learning Transferable Architectures for Scalable Image Recognition",
               "Zoph, Vasudevan, Shlens, Le", 2018, "1707.07012", "Section 3, Figure 2"),
    "anynet": ("Designing Network Design Spaces", "Radosavovic, Kosaraju, Girshick, He, Dollar",
               2020, "2003.13678", "Section 3.1"),
}  # fmt: skip


def spec_card(spec: Spec, path: str | Path) -> Any:
    """A model card for a saved spec: its space's paper, our default small-image recipe."""
    import re

    from convzoo.cards import ModelCard, Paper, Recipe

    title, authors, year, arxiv, where = _PAPERS[spec.space]
    stem = re.sub(r"[^a-z0-9_]", "_", Path(path).stem.lower())
    return ModelCard(
        name=f"nas_{stem}",
        family=f"nas-{spec.space}",
        paper=Paper(title, authors, year, arxiv),
        table=f"{where}: a network of the search space, saved at {path}",
        key_ideas=(
            f"found by architecture search in the {spec.space} space",
            "the spec (JSON) is the whole architecture: `create_model('nas:PATH.json')`",
        ),
        input_size=(1, 28, 28),
        recipe=Recipe(
            source="the search's child recipe (convzoo search); the paper's depends on the task",
            not_stated=("optimizer", "lr", "batch_size", "schedule", "epochs"),
        ),
        dataset="Fashion-MNIST",
        num_classes=10,
        accuracy_note="a searched network: its accuracy is the search's result, not a paper's",
    )


def nas_entry(name: str) -> tuple[Any, Any]:
    """(card, builder) for ``nas:PATH.json``; the builder takes num_classes, in_channels."""
    path = name.removeprefix(NAS_PREFIX)
    spec = load_spec(path)

    def build(*, num_classes: int = 10, in_channels: int = 1) -> ConvNet:
        return spec.build(num_classes=num_classes, in_channels=in_channels)

    return spec_card(spec, path), build
