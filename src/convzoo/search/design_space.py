"""The design spaces of Radosavovic et al. (2020), Designing Network Design Spaces,
arXiv:2003.13678, Section 3: random AnyNet configurations under each space's constraints.

AnyNetX_A (Section 3.1): four stages, each with depth d_i <= 16, width w_i <= 1024
(a multiple of 8), bottleneck ratio b_i in {1, 2, 4} and group width g_i in
{1, 2, 4, 8, 16, 32}: (16 * 128 * 3 * 6)^4 ~ 10^18 networks. Each refinement adds a
constraint (Section 3.2): B shares b across stages, C also shares g, D makes widths
increase (w_{i+1} >= w_i), E makes depths increase too (d_{i+1} >= d_i).

RegNet (Section 3.3): six numbers d < 64, w0 < 256, wa < 256, 1.5 <= wm <= 3 and
a shared b and g as in AnyNetX_E; the stages come from the quantized linear rule
(`convzoo.models.regnet.regnet_stages`).

Every quantity is drawn uniformly from its allowed values; a draw that breaks a
constraint (or has an inner width w_i / b_i that is not a multiple of g_i) is
redrawn. Our choices where the paper gives no detail: RegNet draws keep only
those whose rule yields exactly four stages (AnyNet's body), and w0 is drawn as a
multiple of 8 because the rule quantizes widths to multiples of 8.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from convzoo.models.regnet import AnyNetConfig, AnyNetStage, regnet_stages

__all__ = [
    "ANYNETX_A",
    "ANYNETX_B",
    "ANYNETX_C",
    "ANYNETX_D",
    "ANYNETX_E",
    "DESIGN_SPACES",
    "REGNET",
    "AnyNetSpace",
    "RegNetSpace",
    "anynet_macs",
    "sample_anynet",
    "scaled_space",
]

MAX_DRAWS = 100_000  # every space here accepts a draw within about a hundred tries
_T = TypeVar("_T")


@dataclass(frozen=True)
class AnyNetSpace:
    """AnyNetX_A and its refinements: per-stage ranges plus sharing/monotonicity flags."""

    name: str
    num_stages: int = 4
    max_depth: int = 16
    max_width: int = 1024
    width_step: int = 8
    bottleneck_ratios: tuple[int, ...] = (1, 2, 4)
    group_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    shared_bottleneck_ratio: bool = False
    shared_group_width: bool = False
    increasing_widths: bool = False
    increasing_depths: bool = False
    se_ratio: float = 0.0  # 0: X blocks


@dataclass(frozen=True)
class RegNetSpace:
    """RegNet: (d, w0, wa, wm, b, g) with the ranges of Section 3.3."""

    name: str
    num_stages: int = 4
    max_depth: int = 63  # d < 64
    max_w0: int = 248  # w0 < 256, a multiple of 8
    max_wa: float = 256.0  # wa < 256
    wm_range: tuple[float, float] = (1.5, 3.0)
    bottleneck_ratios: tuple[int, ...] = (1, 2, 4)
    group_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    se_ratio: float = 0.0


# Section 3.1-3.3, in the order the paper refines them.
ANYNETX_A = AnyNetSpace(name="AnyNetX_A")
ANYNETX_B = AnyNetSpace(name="AnyNetX_B", shared_bottleneck_ratio=True)
ANYNETX_C = AnyNetSpace(name="AnyNetX_C", shared_bottleneck_ratio=True, shared_group_width=True)
ANYNETX_D = AnyNetSpace(
    name="AnyNetX_D", shared_bottleneck_ratio=True, shared_group_width=True, increasing_widths=True
)
ANYNETX_E = AnyNetSpace(
    name="AnyNetX_E",
    shared_bottleneck_ratio=True,
    shared_group_width=True,
    increasing_widths=True,
    increasing_depths=True,
)
REGNET = RegNetSpace(name="RegNet")
DESIGN_SPACES = {s.name: s for s in (ANYNETX_A, ANYNETX_B, ANYNETX_C, ANYNETX_D, ANYNETX_E, REGNET)}


def _non_decreasing(values: list[int]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


def _redraw_until(draw: Callable[[], _T], accept: Callable[[_T], bool]) -> _T:
    for _ in range(MAX_DRAWS):
        value = draw()
        if accept(value):
            return value
    raise RuntimeError(f"no draw met the design space's constraints in {MAX_DRAWS} tries")


def _draw_anynet(rng: random.Random, space: AnyNetSpace) -> AnyNetConfig:
    n = space.num_stages

    def draw_depths() -> list[int]:
        return [rng.randint(1, space.max_depth) for _ in range(n)]

    def draw_shapes() -> list[tuple[int, int, int]]:  # (w_i, b_i, g_i) per stage
        b_shared, g_shared = rng.choice(space.bottleneck_ratios), rng.choice(space.group_widths)
        return [
            (
                space.width_step * rng.randint(1, space.max_width // space.width_step),
                b_shared if space.shared_bottleneck_ratio else rng.choice(space.bottleneck_ratios),
                g_shared if space.shared_group_width else rng.choice(space.group_widths),
            )
            for _ in range(n)
        ]

    def shapes_ok(shapes: list[tuple[int, int, int]]) -> bool:
        if space.increasing_widths and not _non_decreasing([w for w, _, _ in shapes]):
            return False
        return not any(w % (b * g) for w, b, g in shapes)  # w / b splits into groups of g

    # Depths are independent of the rest, so redrawing them separately keeps every
    # network of the space equally likely.
    depths = _redraw_until(draw_depths, lambda d: not space.increasing_depths or _non_decreasing(d))
    shapes = _redraw_until(draw_shapes, shapes_ok)
    stages = tuple(
        AnyNetStage(depth=d, width=w, bottleneck_ratio=b, group_width=g)
        for d, (w, b, g) in zip(depths, shapes, strict=True)
    )
    return AnyNetConfig(stages=stages, se_ratio=space.se_ratio)


def _draw_regnet(rng: random.Random, space: RegNetSpace) -> AnyNetConfig | None:
    stages = regnet_stages(
        depth=rng.randint(1, space.max_depth),
        w0=8 * rng.randint(1, space.max_w0 // 8),
        wa=rng.uniform(0.0, space.max_wa),
        wm=rng.uniform(*space.wm_range),
        group_width=rng.choice(space.group_widths),
        bottleneck_ratio=rng.choice(space.bottleneck_ratios),
    )
    if len(stages) != space.num_stages:
        return None
    return AnyNetConfig(stages=stages, se_ratio=space.se_ratio)


def sample_anynet(rng: random.Random, constraints: AnyNetSpace | RegNetSpace) -> AnyNetConfig:
    """One random network of the design space `constraints` (e.g. ``ANYNETX_C``, ``REGNET``).

    The result builds a model directly: ``AnyNet(sample_anynet(random.Random(0), ANYNETX_E))``.
    """
    if not isinstance(constraints, AnyNetSpace | RegNetSpace):
        raise TypeError(
            f"constraints must be an AnyNetSpace or RegNetSpace "
            f"({', '.join(DESIGN_SPACES)}), got {type(constraints).__name__}"
        )
    if isinstance(constraints, AnyNetSpace):
        return _draw_anynet(rng, constraints)
    return _redraw_until(lambda: _draw_regnet(rng, constraints), lambda c: c is not None)


def scaled_space(
    space: AnyNetSpace | RegNetSpace, max_depth: int, max_width: int
) -> AnyNetSpace | RegNetSpace:
    """The space with stages of at most `max_depth` blocks and `max_width` channels.

    AnyNet spaces take both limits as they are (the paper's: 16 and 1024). RegNet's
    ranges keep the paper's proportions to them: d < 4 x 16, w0 < 1024 / 4 (a multiple
    of 8), wa < 1024 / 4; ``scaled_space(REGNET, 16, 1024)`` is ``REGNET``.
    """
    if max_depth < 1 or max_width < 4 * 16:
        raise ValueError(f"need max_depth >= 1 and max_width >= 64, got {max_depth}, {max_width}")
    if isinstance(space, AnyNetSpace):
        return dataclasses.replace(space, max_depth=max_depth, max_width=max_width)
    if max_depth < 2:  # d < 4 x 1 cannot fill four stages
        raise ValueError(f"RegNet needs max_depth >= 2 to fill its stages, got {max_depth}")
    return dataclasses.replace(
        space,
        max_depth=space.num_stages * max_depth - 1,
        max_w0=max_width // 4 - 8,
        max_wa=max_width / 4,
    )


def anynet_macs(config: AnyNetConfig, image: tuple[int, int, int], num_classes: int) -> int:
    """Multiply-adds of ``AnyNet(config)`` with X blocks on one (C, H, W) image: convs and fc.

    Each 3x3 (padding 1) of stride s maps H to ceil(H / s); a block whose shape changes
    adds its 1x1 projection. Equal to `convzoo.analysis.summary`'s count (tested), and
    fast enough to redraw thousands of networks into a MAC range.
    """
    if config.se_ratio:
        raise ValueError("anynet_macs counts X blocks only (se_ratio 0)")
    channels, height, width = image
    height, width = math.ceil(height / 2), math.ceil(width / 2)  # the 3x3/2 stem
    macs = height * width * 9 * channels * config.stem_width
    channels = config.stem_width
    for stage in config.stages:
        for block in range(stage.depth):
            pixels_in = height * width
            if block == 0:  # the stage's first 3x3 halves H and W
                height, width = math.ceil(height / 2), math.ceil(width / 2)
            inner, out = stage.inner_width, stage.width
            macs += pixels_in * channels * inner  # 1x1 reduce
            macs += height * width * 9 * inner * stage.group_width  # 3x3 in groups of g
            macs += height * width * inner * out  # 1x1 expand
            if block == 0 or channels != out:
                macs += height * width * channels * out  # projection shortcut
            channels = out
    return macs + channels * num_classes
