"""Search spaces: an architecture as typed, JSON-serialisable data that builds a ConvNet.

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
import random
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.models.base import ConvNet, FeatureInfo, init_weights_like_torchvision
from convzoo.models.regnet import AnyNet, AnyNetConfig, AnyNetStage
from convzoo.search.design_space import AnyNetSpace, sample_anynet

__all__ = [
    "NASNET_OPS",
    "SPACES",
    "AnyNetSearchSpace",
    "AnyNetSpec",
    "Decision",
    "NasBlock",
    "NasCell",
    "NasNetSearchSpace",
    "NasNetSpec",
    "SearchSpace",
    "Spec",
    "ZophLayer",
    "ZophSearchSpace",
    "ZophSpec",
    "spec_from_json",
]

ZOPH_KERNELS = (1, 3, 5, 7)
ZOPH_FILTERS = (24, 36, 48, 64)
ZOPH_STRIDES = (1, 2)
# Section 3 of Zoph et al. 2018, in the paper's order
NASNET_OPS = (
    "identity",
    "conv_1x3_3x1",
    "conv_1x7_7x1",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _is_int(value: Any) -> bool:
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
        _require(
            self.kernel_height in ZOPH_KERNELS and self.kernel_width in ZOPH_KERNELS,
            f"{where}: filter height/width must be in {ZOPH_KERNELS}, "
            f"got {self.kernel_height}x{self.kernel_width}",
        )
        _require(_is_int(self.filters) and self.filters >= 1, f"{where}: filters must be >= 1")
        _require(self.stride in ZOPH_STRIDES, f"{where}: stride must be in {ZOPH_STRIDES}")
        _require(
            all(_is_int(i) and 0 <= i < index for i in self.inputs)
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
        _require(len(self.layers) >= 1, "a zoph spec needs at least one layer")
        for i, layer in enumerate(self.layers):
            _require(isinstance(layer, ZophLayer), f"layer {i} must be a ZophLayer")
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
        _require(len(self.blocks) >= 1, f"{kind} cell needs at least one block")
        for b, block in enumerate(self.blocks):
            where = f"{kind} cell, block {b}"
            _require(
                len(block.inputs) == 2 and len(block.ops) == 2,
                f"{where}: needs two inputs and two ops, got {block}",
            )
            _require(
                all(_is_int(i) and 0 <= i < 2 + b for i in block.inputs),
                f"{where}: inputs must be hidden states 0..{b + 1}, got {list(block.inputs)}",
            )
            bad = [op for op in block.ops if op not in NASNET_OPS]
            _require(not bad, f"{where}: unknown ops {bad}; choose from {', '.join(NASNET_OPS)}")

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
            _require(_is_int(value) and value >= 1, f"{name} must be an int >= 1, got {value!r}")
        _require(
            _is_int(self.num_reductions) and self.num_reductions >= 0,
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
        _require(len(self.stages) >= 1, "an anynet spec needs at least one stage")
        for i, stage in enumerate(self.stages):
            _require(
                len(stage) == 4 and all(_is_int(v) and v >= 1 for v in stage),
                f"stage {i}: needs four ints >= 1 (depth, width, bottleneck_ratio, group_width),"
                f" got {list(stage)}",
            )
            _, w, b, g = stage
            _require(
                w % b == 0 and (w // b) % g == 0,
                f"stage {i}: width {w} / bottleneck ratio {b} must split into groups of {g}",
            )
        _require(0.0 <= self.se_ratio < 1.0, f"se_ratio must be in [0, 1), got {self.se_ratio}")

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


# -- Zoph & Le network ------------------------------------------------------------------
def _join(maps: Sequence[Tensor]) -> Tensor:
    """Zero-pad every map to the largest height and width, concatenate along depth."""
    if len(maps) == 1:
        return maps[0]
    h = max(m.shape[-2] for m in maps)
    w = max(m.shape[-1] for m in maps)
    padded = [F.pad(m, (0, w - m.shape[-1], 0, h - m.shape[-2])) for m in maps]
    return torch.cat(padded, dim=1)


class ZophBody(nn.Module):
    """The layer graph: each layer conv-BN-ReLU on its joined inputs; the unused are joined."""

    def __init__(self, spec: ZophSpec, in_channels: int) -> None:
        super().__init__()
        self.inputs = [layer.inputs for layer in spec.layers]
        consumed = {i for layer in spec.layers for i in layer.inputs}
        self.outputs = [i for i in range(len(spec.layers)) if i not in consumed]
        self.layers = nn.ModuleList()
        channels: list[int] = []
        self.strides: list[int] = []
        for layer in spec.layers:
            c_in = sum(channels[i] for i in layer.inputs) or in_channels
            # joined maps are padded to the largest, i.e. the one of the smallest stride
            stride_in = min((self.strides[i] for i in layer.inputs), default=1)
            kernel = (layer.kernel_height, layer.kernel_width)
            padding = (layer.kernel_height // 2, layer.kernel_width // 2)
            self.layers.append(
                ConvNormAct(c_in, layer.filters, kernel, stride=layer.stride, padding=padding)
            )
            channels.append(layer.filters)
            self.strides.append(stride_in * layer.stride)
        self.out_channels = sum(channels[i] for i in self.outputs)
        self.stride = min(self.strides[i] for i in self.outputs)

    def forward(self, image: Tensor) -> Tensor:
        maps: list[Tensor] = []
        for layer, inputs in zip(self.layers, self.inputs, strict=True):
            maps.append(layer(_join([maps[i] for i in inputs]) if inputs else image))
        return _join([maps[i] for i in self.outputs])


class ZophNet(ConvNet):
    """Image -> `stages.body` (the searched layers) -> global pool -> `head.fc`."""

    def __init__(self, spec: ZophSpec, *, num_classes: int = 10, in_channels: int = 1) -> None:
        body = ZophBody(spec, in_channels)
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            default_input_size=(28, 28),
            min_input_size=max(body.strides),
        )
        self.spec = spec
        self.stem = nn.Identity()  # the paper's layers read the image directly
        self.stages = nn.Sequential(OrderedDict(body=body))
        self.head = _pool_head(body.out_channels, num_classes)
        self.feature_info = [
            FeatureInfo("image", in_channels, 1),
            FeatureInfo("body", body.out_channels, body.stride),
        ]
        init_weights_like_torchvision(self)


def _pool_head(channels: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(channels, num_classes)
        )
    )


# -- NASNet cells -----------------------------------------------------------------------
class ReluConvBn(nn.Sequential):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int | tuple[int, int],
        stride: int = 1,
        *,
        dilation: int = 1,
        groups: int = 1,
    ) -> None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        padding = (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
        conv = nn.Conv2d(
            c_in, c_out, (kh, kw), stride, padding, dilation=dilation, groups=groups, bias=False
        )
        super().__init__(nn.ReLU(), conv, nn.BatchNorm2d(c_out))


class SeparableConv(nn.Sequential):
    """ReLU, depthwise k x k, pointwise 1x1, BN: twice (the first carries the stride)."""

    def __init__(self, c: int, kernel: int, stride: int) -> None:
        def one(s: int) -> list[nn.Module]:
            return [
                nn.ReLU(),
                nn.Conv2d(c, c, kernel, s, kernel // 2, groups=c, bias=False),
                nn.Conv2d(c, c, 1, bias=False),
                nn.BatchNorm2d(c),
            ]

        super().__init__(*one(stride), *one(1))


class FactorizedReduce(nn.Module):
    """Halve the resolution without dropping pixels: two 1x1 stride-2 paths, one shifted."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.path1 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.path2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.path1(x), self.path2(shifted)], dim=1))


def make_op(name: str, c: int, stride: int) -> nn.Module:
    """One of `NASNET_OPS` on `c` channels (in = out), with `stride` 1 or 2."""
    if name == "identity":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.startswith(("avg_pool", "max_pool")):
        k = int(name[-1])
        if name.startswith("avg"):
            return nn.AvgPool2d(k, stride, k // 2, count_include_pad=False)
        return nn.MaxPool2d(k, stride, k // 2)
    if name.startswith("sep_conv"):
        return SeparableConv(c, int(name[-1]), stride)
    if name == "dil_conv_3x3":
        return ReluConvBn(c, c, 3, stride, dilation=2)
    if name in ("conv_1x3_3x1", "conv_1x7_7x1"):
        k = int(name[5])
        first, second = ReluConvBn(c, c, (1, k), (1, stride)), ReluConvBn(c, c, (k, 1), (stride, 1))
        return nn.Sequential(first, second)
    if name in ("conv_1x1", "conv_3x3"):
        return ReluConvBn(c, c, int(name[-1]), stride)
    raise ValueError(f"unknown op {name!r}; choose from {', '.join(NASNET_OPS)}")


class Cell(nn.Module):
    """A NASNet cell: blocks of (op(input) + op(input)); the unused blocks concatenated."""

    def __init__(
        self, cell: NasCell, c_prev_prev: int, c_prev: int, c: int, *, reduction: bool,
        prev_prev_reduced: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        # h_{c-2} at twice h_{c-1}'s resolution (a reduction came between): reduce it
        self.pre0 = (
            FactorizedReduce(c_prev_prev, c) if prev_prev_reduced else ReluConvBn(c_prev_prev, c, 1)
        )
        self.pre1 = ReluConvBn(c_prev, c, 1)
        self.spec = cell
        self.ops = nn.ModuleList()
        for block in cell.blocks:
            for i, name in zip(block.inputs, block.ops, strict=True):
                # in a reduction cell, ops reading the cell inputs carry the stride
                self.ops.append(make_op(name, c, 2 if reduction and i < 2 else 1))
        self.outputs = cell.unused()
        self.out_channels = c * len(self.outputs)

    def forward(self, h_prev_prev: Tensor, h_prev: Tensor) -> Tensor:
        states = [self.pre0(h_prev_prev), self.pre1(h_prev)]
        for b, block in enumerate(self.spec.blocks):
            left, right = self.ops[2 * b], self.ops[2 * b + 1]
            states.append(left(states[block.inputs[0]]) + right(states[block.inputs[1]]))
        return torch.cat([states[i] for i in self.outputs], dim=1)


class CellStage(nn.Module):
    """Cells in a chain; each reads the two previous outputs (the stage input starts both)."""

    def __init__(self, cells: list[Cell]) -> None:
        super().__init__()
        self.cells = nn.ModuleList(cells)

    def forward(self, x: Tensor) -> Tensor:
        prev_prev, prev = x, x
        for cell in self.cells:
            prev_prev, prev = prev, cell(prev_prev, prev)
        return prev


class NasNet(ConvNet):
    """Stem 3x3 conv-BN, then `stage1` (N normal), `stage2..` (reduction + N normal), head."""

    def __init__(self, spec: NasNetSpec, *, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__(
            in_channels=in_channels,
            num_classes=num_classes,
            default_input_size=(28, 28),
            min_input_size=2**spec.num_reductions,
        )
        self.spec = spec
        self.stem = ConvNormAct(in_channels, spec.stem_filters, 3, act=None)
        self.feature_info = [FeatureInfo("stem", spec.stem_filters, 1)]
        self.stages = nn.Sequential()
        channels, c = spec.stem_filters, spec.filters
        for s in range(spec.num_reductions + 1):
            cells: list[Cell] = []
            prev_prev = prev = channels
            kinds = ([True] if s else []) + [False] * spec.cells_per_stage
            if s:
                c *= 2  # filters double at each reduction
            for k, reduction in enumerate(kinds):
                cell = Cell(
                    spec.reduction if reduction else spec.normal, prev_prev, prev, c,
                    reduction=reduction, prev_prev_reduced=s > 0 and k == 1,
                )  # fmt: skip
                cells.append(cell)
                prev_prev, prev = prev, cell.out_channels
            channels = prev
            self.stages.add_module(f"stage{s + 1}", CellStage(cells))
            self.feature_info.append(FeatureInfo(f"stage{s + 1}", channels, 2**s))
        self.head = _pool_head(channels, num_classes)
        init_weights_like_torchvision(self)


# -- the spaces: decisions <-> specs ---------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One categorical choice of a strategy: a name and its options."""

    name: str
    options: tuple[Any, ...]


class SearchSpace(ABC):
    """What a strategy sees: decisions in order; `decode(choices)` gives the spec."""

    name: ClassVar[str]
    decisions: tuple[Decision, ...]

    @abstractmethod
    def decode(self, choices: Sequence[int]) -> Spec:
        """The spec of one choice index per decision."""

    @abstractmethod
    def encode(self, spec: Spec) -> tuple[int, ...]:
        """The choice indices that decode to `spec`."""

    def check_choices(self, choices: Sequence[int]) -> None:
        _require(
            len(choices) == len(self.decisions),
            f"{self.name} needs {len(self.decisions)} choices, got {len(choices)}",
        )
        for d, c in zip(self.decisions, choices, strict=True):
            _require(
                _is_int(c) and 0 <= c < len(d.options),
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

    def __post_init__(self) -> None:
        _require(self.num_layers >= 1, f"num_layers must be >= 1, got {self.num_layers}")
        out: list[Decision] = []
        for i in range(self.num_layers):
            out += [
                Decision(f"layer{i}.kernel_height", ZOPH_KERNELS),
                Decision(f"layer{i}.kernel_width", ZOPH_KERNELS),
                Decision(f"layer{i}.filters", ZOPH_FILTERS),
            ]
            if self.search_strides:
                out.append(Decision(f"layer{i}.stride", ZOPH_STRIDES))
            out += [Decision(f"layer{i}.input{j}", (False, True)) for j in range(i)]
        self.decisions = tuple(out)

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
        _require(
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
        _require(self.num_blocks >= 1, f"num_blocks must be >= 1, got {self.num_blocks}")
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
        _require(
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
        _require(
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
