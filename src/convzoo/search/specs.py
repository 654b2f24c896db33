"""Searched architectures as typed, JSON-serialisable data that builds a ConvNet.

Three spaces, each a frozen `Spec` (what one sampled network is) plus a `SearchSpace`
(the list of discrete decisions a strategy makes, and how a list of choices becomes a
spec and back):

* **Zoph & Le** (2017, arXiv:1611.01578, Section 3.3): a chain of conv layers; per
  layer the filter height and width in {1, 3, 5, 7}, the number of filters in
  {24, 36, 48, 64}, optionally a stride in {1, 2}, and the set of earlier layers that
  feed it (the anchor points' sigmoids, one yes/no per earlier layer). Inputs of
  different sizes are zero-padded to the largest and concatenated along depth; a layer
  with no input takes the image; every layer nobody consumes feeds the final layer
  (concatenated the same way), which goes to the classifier.
* **NASNet cells** (Zoph et al. 2018, arXiv:1707.07012, Section 3): a normal and a
  reduction cell of B = 5 blocks; each block picks two inputs among the hidden states
  (the two previous cells' outputs and the earlier blocks of this cell), applies one of
  the 13 operations of Section 3 to each and adds the results; the cell concatenates
  the blocks nobody used. Cells stack as N normal cells between reduction cells, and
  the filters double at each reduction (Figure 2).
* **AnyNet** (Radosavovic et al. 2020): the design space of `design_space.py`, sized
  for small images (three stages, shallow and narrow), drawn by `sample_anynet`.

Our choices where the papers leave room: every Zoph layer is conv-BN-ReLU with "same"
padding; NASNet ops are ReLU-conv-BN (separable convs applied twice, Appendix A.4),
inputs to a cell are first projected to the cell's filters by ReLU-1x1 conv-BN, and an
input of twice the resolution is reduced by a factorized (two shifted 1x1 stride-2
paths) reduction. Our stages run as a chain of single tensors, so the first cell of a
stage sees the stage input as both h_{c-2} and h_{c-1}.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from convzoo.models.base import ConvNet
from convzoo.models.regnet import AnyNet, AnyNetConfig, AnyNetStage
from convzoo.search.networks import NASNET_OPS, NasNet, ZophNet

__all__ = [
    "SPEC_TYPES",
    "AnyNetSpec",
    "NasBlock",
    "NasCell",
    "NasNetSpec",
    "Spec",
    "ZophLayer",
    "ZophSpec",
    "load_spec",
    "spec_from_json",
]

ZOPH_KERNELS = (1, 3, 5, 7)
ZOPH_FILTERS = (24, 36, 48, 64)
ZOPH_STRIDES = (1, 2)


def require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- specs ---------------------------------------------------------------------------
class Spec(ABC):
    """One architecture: frozen data, JSON round trip, `build()` into a ConvNet."""

    space: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, **_plain(asdict(self))}  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def from_json(cls, text: str) -> Spec:
        spec = spec_from_json(text)
        if not isinstance(spec, cls):
            raise ValueError(f"expected a {cls.space!r} spec, got space {spec.space!r}")
        return spec

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Spec:
        """The spec from `to_dict()`'s fields (without "space")."""

    @abstractmethod
    def build(self, *, num_classes: int = 10, in_channels: int = 1) -> ConvNet:
        """The network this spec describes."""


def _plain(value: Any) -> Any:
    """Tuples as lists: what JSON holds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class ZophLayer:
    kernel_height: int
    kernel_width: int
    filters: int
    stride: int = 1
    inputs: tuple[int, ...] = ()  # earlier layers (0-based); empty: the image

    def check(self, index: int) -> None:
        where = f"layer {index}"
        require(
            self.kernel_height in ZOPH_KERNELS and self.kernel_width in ZOPH_KERNELS,
            f"{where}: filter height/width must be in {ZOPH_KERNELS}, "
            f"got {self.kernel_height}x{self.kernel_width}",
        )
        require(is_int(self.filters) and self.filters >= 1, f"{where}: filters must be >= 1")
        require(self.stride in ZOPH_STRIDES, f"{where}: stride must be in {ZOPH_STRIDES}")
        require(
            all(is_int(i) and 0 <= i < index for i in self.inputs)
            and len(set(self.inputs)) == len(self.inputs),
            f"{where}: inputs must be distinct earlier layers 0..{index - 1}, "
            f"got {list(self.inputs)}",
        )


@dataclass(frozen=True)
class ZophSpec(Spec):
    """Zoph & Le (2017) macro network: layers in order, each with its skip inputs."""

    space: ClassVar[str] = "zoph"
    layers: tuple[ZophLayer, ...]

    def __post_init__(self) -> None:
        require(len(self.layers) >= 1, "a zoph spec needs at least one layer")
        for i, layer in enumerate(self.layers):
            require(isinstance(layer, ZophLayer), f"layer {i} must be a ZophLayer")
            layer.check(i)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZophSpec:
        layers = tuple(
            ZophLayer(**{**layer, "inputs": tuple(layer.get("inputs", ()))})
            for layer in data["layers"]
        )
        return cls(layers=layers)

    def build(self, *, num_classes: int = 10, in_channels: int = 1) -> ConvNet:
        return ZophNet(self, num_classes=num_classes, in_channels=in_channels)


@dataclass(frozen=True)
class NasBlock:
    inputs: tuple[int, int]  # 0 = h_{c-2}, 1 = h_{c-1}, 2.. = this cell's earlier blocks
    ops: tuple[str, str]


@dataclass(frozen=True)
class NasCell:
    blocks: tuple[NasBlock, ...]

    def check(self, kind: str) -> None:
        require(len(self.blocks) >= 1, f"{kind} cell needs at least one block")
        for b, block in enumerate(self.blocks):
            where = f"{kind} cell, block {b}"
            require(
                len(block.inputs) == 2 and len(block.ops) == 2,
                f"{where}: needs two inputs and two ops, got {block}",
            )
            require(
                all(is_int(i) and 0 <= i < 2 + b for i in block.inputs),
                f"{where}: inputs must be hidden states 0..{b + 1}, got {list(block.inputs)}",
            )
            bad = [op for op in block.ops if op not in NASNET_OPS]
            require(not bad, f"{where}: unknown ops {bad}; choose from {', '.join(NASNET_OPS)}")

    def unused(self) -> list[int]:
        """Block outputs (as hidden-state indices) that no later block consumes."""
        used = {i for block in self.blocks for i in block.inputs}
        return [2 + b for b in range(len(self.blocks)) if 2 + b not in used]


@dataclass(frozen=True)
class NasNetSpec(Spec):
    """A NASNet: stem, then [N normal, reduction] x `num_reductions`, N normal, head."""

    space: ClassVar[str] = "nasnet"
    normal: NasCell
    reduction: NasCell
    cells_per_stage: int = 2  # N
    filters: int = 16  # of the first stage; doubled at each reduction
    num_reductions: int = 2
    stem_filters: int = 32

    def __post_init__(self) -> None:
        self.normal.check("normal")
        self.reduction.check("reduction")
        for name in ("cells_per_stage", "filters", "stem_filters"):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, f"{name} must be an int >= 1, got {value!r}")
        require(
            is_int(self.num_reductions) and self.num_reductions >= 0,
            f"num_reductions must be an int >= 0, got {self.num_reductions!r}",
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NasNetSpec:
        def cell(raw: dict[str, Any]) -> NasCell:
            return NasCell(
                tuple(NasBlock(tuple(b["inputs"]), tuple(b["ops"])) for b in raw["blocks"])
            )

        rest = {k: v for k, v in data.items() if k not in ("normal", "reduction")}
        return cls(normal=cell(data["normal"]), reduction=cell(data["reduction"]), **rest)

    def build(self, *, num_classes: int = 10, in_channels: int = 1) -> ConvNet:
        return NasNet(self, num_classes=num_classes, in_channels=in_channels)


@dataclass(frozen=True)
class AnyNetSpec(Spec):
    """An AnyNet body: per stage (depth, width, bottleneck ratio, group width)."""

    space: ClassVar[str] = "anynet"
    stages: tuple[tuple[int, int, int, int], ...]
    se_ratio: float = 0.0
    stem_width: int = 16

    def __post_init__(self) -> None:
        require(len(self.stages) >= 1, "an anynet spec needs at least one stage")
        for i, stage in enumerate(self.stages):
            require(
                len(stage) == 4 and all(is_int(v) and v >= 1 for v in stage),
                f"stage {i}: needs four ints >= 1 (depth, width, bottleneck_ratio, group_width),"
                f" got {list(stage)}",
            )
            _, w, b, g = stage
            require(
                w % b == 0 and (w // b) % g == 0,
                f"stage {i}: width {w} / bottleneck ratio {b} must split into groups of {g}",
            )
        require(0.0 <= self.se_ratio < 1.0, f"se_ratio must be in [0, 1), got {self.se_ratio}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnyNetSpec:
        rest = {k: v for k, v in data.items() if k != "stages"}
        return cls(stages=tuple(tuple(s) for s in data["stages"]), **rest)

    def config(self) -> AnyNetConfig:
        return AnyNetConfig(
            stages=tuple(AnyNetStage(d, w, b, g) for d, w, b, g in self.stages),
            se_ratio=self.se_ratio,
            stem_width=self.stem_width,
        )

    def build(self, *, num_classes: int = 10, in_channels: int = 1) -> ConvNet:
        return AnyNet(self.config(), num_classes=num_classes, in_channels=in_channels)


SPEC_TYPES: dict[str, type[Spec]] = {t.space: t for t in (ZophSpec, NasNetSpec, AnyNetSpec)}


def spec_from_dict(data: dict[str, Any]) -> Spec:
    """The spec a `to_dict()` produced; a ValueError names what is wrong."""
    if not isinstance(data, dict) or data.get("space") not in SPEC_TYPES:
        got = data.get("space") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"a spec needs 'space' in {sorted(SPEC_TYPES)}, got {got!r}")
    body = {k: v for k, v in data.items() if k != "space"}
    try:
        return SPEC_TYPES[data["space"]].from_dict(body)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed {data['space']!r} spec: {exc}") from exc


def spec_from_json(text: str) -> Spec:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"a spec must be JSON: {exc}") from exc
    return spec_from_dict(data)


def load_spec(path: str | Path) -> Spec:
    """A spec saved with `Spec.save` (what `create_model("nas:PATH.json")` reads)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no architecture spec at {path}")
    return spec_from_json(path.read_text())
