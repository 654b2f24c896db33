"""Inception-v4, Inception-ResNet-v1 and Inception-ResNet-v2.

Szegedy, Ioffe, Vanhoucke, Alemi (2016). Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning. arXiv:1602.07261. Figures 3-9
(Inception-v4), 7 and 10-15 (Inception-ResNet-v1), 16-18 (Inception-ResNet-v2),
Table 1 (the k, l, m, n widths of Reduction-A) and section 3.3 (residuals
scaled by 0.1-0.3 before the addition). Table 2 gives the single-crop errors.

The modules are built by the machinery of `convzoo.models.inception` (typed
branch chains, one `InceptionModule` per module). ``inception_resnet_v2`` is the
released network (TF-slim, timm's twin), whose stem, widths and block counts
differ from Figure 15; its card lists how.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convzoo.models.base import register_variant
from convzoo.models.inception import (
    SPLIT_SUFFIX,
    V3_STEM,
    Branches,
    Conv,
    InceptionNet,
    InceptionNetConfig,
    LayerSpec,
    Pool,
    Residual,
    Split,
    StageSpec,
    grid17,
    grid35,
    reduction_a,
    reduction_b,
)
from convzoo.registry import Accuracy, ModelCard, Paper, Recipe, Schedule, Twin

__all__ = ["INCEPTION_RESNET_V1", "INCEPTION_RESNET_V2", "INCEPTION_V4"]


def resnet_reduction_b(*, outs: tuple[int, int, int, int]) -> Branches:
    """Inception-ResNet Figures 12 / 18: three 1x1 (256) reduced branches and a max-pool."""
    a, b, c, d = outs
    return {
        "branch3x3a": (Conv(256), Conv(a, 3, stride=2)),
        "branch3x3b": (Conv(256), Conv(b, 3, stride=2)),
        "branch3x3dbl": (Conv(256), Conv(c, 3), Conv(d, 3, stride=2)),
        "branch_pool": (Pool("max"),),
    }


def _numbered(spec: LayerSpec, count: int) -> dict[str, LayerSpec]:
    return {str(i): spec for i in range(1, count + 1)}


def figure9(
    stem: Mapping[str, LayerSpec],
    prefix: str,
    *,
    a: tuple[LayerSpec, int],
    reduction_a: LayerSpec,
    b: tuple[LayerSpec, int],
    reduction_b: LayerSpec,
    c: tuple[LayerSpec, int],
    c_tail: Mapping[str, LayerSpec] | None = None,
) -> InceptionNetConfig:
    """Figures 9 and 15: `stem`, then (module, count) of Inception-A, Reduction-A, B,
    Reduction-B, C.

    Each reduction opens the stage of the grid it produces; `c_tail` follows the last C.
    All three networks average-pool without counting the padding (as their TF twins), keep
    0.8 of the features before the classifier and map inputs from 75x75 on.
    """
    stages = (
        StageSpec(f"{prefix}_a", _numbered(*a)),
        StageSpec(f"{prefix}_b", {"reduction_a": reduction_a, **_numbered(*b)}),
        StageSpec(f"{prefix}_c", {"reduction_b": reduction_b, **_numbered(*c), **(c_tail or {})}),
    )
    return InceptionNetConfig(
        stem=stem, stages=stages, avg_pool_count_pad=False, dropout=0.2, min_input_size=75
    )


# -- Inception-v4: Figures 3-9 of arXiv:1602.07261 ---------------------------
V4_STEM = {  # Figure 3
    "conv1a": Conv(32, 3, stride=2),  # 149x149x32
    "conv2a": Conv(32, 3, valid=True),  # 147x147x32
    "conv2b": Conv(64, 3),  # 147x147x64
    "mixed_3a": {"branch_pool": (Pool(),), "branch3x3": (Conv(96, 3, stride=2),)},  # 73x73x160
    "mixed_4a": {  # 71x71x192
        "branch3x3": (Conv(64), Conv(96, 3, valid=True)),
        "branch7x7": (Conv(64), Conv(64, (1, 7)), Conv(64, (7, 1)), Conv(96, 3, valid=True)),
    },
    "mixed_5a": {"branch3x3": (Conv(192, 3, stride=2),), "branch_pool": (Pool(),)},  # 35x35x384
}
V4_A = grid35(conv1x1=96, middle=(64, 96), middle_kernel=3, conv3x3dbl=(64, 96, 96), pool_proj=96)
V4_B = grid17(
    conv1x1=384, conv7x7=(192, 224, 256), conv7x7dbl=(192, 192, 224, 224, 256), pool_proj=128
)
V4_C = {  # Figure 6
    "branch1x1": (Conv(256),),
    "branch3x3": (Conv(384), Split(256)),
    "branch3x3dbl": (Conv(384), Conv(448, (3, 1)), Conv(512, (1, 3)), Split(256)),
    "branch_pool": (Pool("avg", stride=1), Conv(256)),
}
INCEPTION_V4 = figure9(  # 35x35x384, 17x17x1024, 8x8x1536
    V4_STEM,
    "inception",
    a=(V4_A, 4),
    reduction_a=reduction_a(k=192, l=224, m=256, n=384),
    b=(V4_B, 7),
    reduction_b=reduction_b(conv3x3=(192, 192), conv7x7x3=(256, 256, 320, 320)),
    c=(V4_C, 3),
)

# -- Inception-ResNet-v1: Figures 10-15 of arXiv:1602.07261 ------------------
# Figure 14: v3's stem up to conv4a, then a 3x3/2 conv to 35x35x256
IR_V1_STEM = {name: spec for name, spec in V3_STEM.items() if name != "pool5a"}
IR_V1_STEM["conv4b"] = Conv(256, 3, stride=2)
IR_V1_A = Residual(  # Figure 10
    {
        "branch1x1": (Conv(32),),
        "branch3x3": (Conv(32), Conv(32, 3)),
        "branch3x3dbl": (Conv(32), Conv(32, 3), Conv(32, 3)),
    },
    scale=0.17,
)
IR_V1_B = Residual(  # Figure 11
    {"branch1x1": (Conv(128),), "branch7x7": (Conv(128), Conv(128, (1, 7)), Conv(128, (7, 1)))},
    scale=0.10,
)
IR_V1_C = Residual(  # Figure 13
    {"branch1x1": (Conv(192),), "branch3x3": (Conv(192), Conv(192, (1, 3)), Conv(192, (3, 1)))},
    scale=0.20,
)
INCEPTION_RESNET_V1 = figure9(  # 35x35x256, 17x17x896, 8x8x1792
    IR_V1_STEM,
    "inception_resnet",
    a=(IR_V1_A, 5),
    reduction_a=reduction_a(k=192, l=192, m=256, n=384),
    b=(IR_V1_B, 10),
    reduction_b=resnet_reduction_b(outs=(384, 256, 256, 256)),
    c=(IR_V1_C, 5),
)

# -- Inception-ResNet-v2 as released (TF-slim, timm) -------------------------
IR_V2_A = Residual(
    {
        "branch1x1": (Conv(32),),
        "branch3x3": (Conv(32), Conv(32, 3)),
        "branch3x3dbl": (Conv(32), Conv(48, 3), Conv(64, 3)),
    },
    scale=0.17,
)
IR_V2_B = Residual(
    {"branch1x1": (Conv(192),), "branch7x7": (Conv(128), Conv(160, (1, 7)), Conv(192, (7, 1)))},
    scale=0.10,
)
IR_V2_C_BRANCHES = {
    "branch1x1": (Conv(192),),
    "branch3x3": (Conv(192), Conv(224, (1, 3)), Conv(256, (3, 1))),
}
INCEPTION_RESNET_V2 = figure9(  # 35x35x320, 17x17x1088, 8x8x1536
    {
        **V3_STEM,
        "mixed_5b": grid35(  # 35x35x320
            conv1x1=96, middle=(48, 64), middle_kernel=5, conv3x3dbl=(64, 96, 96), pool_proj=64
        ),
    },
    "inception_resnet",
    a=(IR_V2_A, 10),
    reduction_a=reduction_a(k=256, l=256, m=384, n=384),
    b=(IR_V2_B, 20),
    reduction_b=resnet_reduction_b(outs=(384, 288, 288, 320)),
    c=(Residual(IR_V2_C_BRANCHES, scale=0.20), 9),
    c_tail={"10": Residual(IR_V2_C_BRANCHES, scale=1.0, act=False), "conv7b": Conv(1536)},
)


# -- twins' state-dict keys -> ours ------------------------------------------
def _timm_branch_rule(paths: dict[str, str], branches: dict[str, tuple[str, ...]]) -> tuple:
    """``<timm module>.branchN`` -> ``<our module>.<Nth branch name>``; timm's ``branchN_Mx``
    (Inception-C) are step M of branch N, ``x`` in a/b the split halves."""

    def rename(m) -> str:
        module, branch, step, half = m[1], int(m[2]), m[3], m[4]
        path = paths[module]
        name = branches[path][branch]
        suffix = f".{step}{SPLIT_SUFFIX.get(half, '')}" if step else ""
        return f"{path}.{name}{suffix}."

    return ((r"^([a-z0-9_]+(?:\.\d+)?)\.branch(\d)(?:_(\d)([ab]?))?\.", rename),)


def _timm_v4_rules() -> tuple:
    paths = {
        "features.0": "stem.conv1a",
        "features.1": "stem.conv2a",
        "features.2": "stem.conv2b",
        "features.3": "stem.mixed_3a",
        "features.4": "stem.mixed_4a",
        "features.5": "stem.mixed_5a",
        "features.10": "stages.inception_b.reduction_a",
        "features.18": "stages.inception_c.reduction_b",
    }
    paths |= {f"features.{i}": f"stages.inception_a.{i - 5}" for i in range(6, 10)}
    paths |= {f"features.{i}": f"stages.inception_b.{i - 10}" for i in range(11, 18)}
    paths |= {f"features.{i}": f"stages.inception_c.{i - 18}" for i in range(19, 22)}
    branches = {path: _branch_names(INCEPTION_V4, path) for path in paths.values()}
    return (
        *_timm_branch_rule(paths, branches),
        (r"^features\.(3|5)\.conv\.", lambda m: f"{paths[f'features.{m[1]}']}.branch3x3."),
        (r"^(features\.\d+)\.", lambda m: f"{paths[m[1]]}."),
        (r"^last_linear\.", "head.fc."),
        (r"\.bn\.", ".norm."),
    )


def _timm_ir_v2_rules() -> tuple:
    paths = {
        "mixed_5b": "stem.mixed_5b",
        "mixed_6a": "stages.inception_resnet_b.reduction_a",
        "mixed_7a": "stages.inception_resnet_c.reduction_b",
        "block8": "stages.inception_resnet_c.10",
    }
    paths |= {f"repeat.{i}": f"stages.inception_resnet_a.{i + 1}.branches" for i in range(10)}
    paths |= {f"repeat_1.{i}": f"stages.inception_resnet_b.{i + 1}.branches" for i in range(20)}
    paths |= {f"repeat_2.{i}": f"stages.inception_resnet_c.{i + 1}.branches" for i in range(9)}
    paths["block8"] = "stages.inception_resnet_c.10.branches"
    branches = {path: _branch_names(INCEPTION_RESNET_V2, path) for path in paths.values()}
    return (
        *_timm_branch_rule(paths, branches),
        (r"^conv2d_7b\.", "stages.inception_resnet_c.conv7b."),
        (r"^conv2d_(\d[ab])\.", r"stem.conv\1."),
        (
            r"^(repeat(?:_\d)?\.\d+|block8)\.conv2d\.",
            lambda m: paths[m[1]].removesuffix(".branches") + ".project.",
        ),
        (r"^classif\.", "head.fc."),
        (r"\.bn\.", ".norm."),
    )


def _branch_names(config: InceptionNetConfig, path: str) -> tuple[str, ...]:
    """Our branch names, in order, of the module at `path` (stem/stages, optional .branches)."""
    parts = path.removesuffix(".branches").split(".")
    if parts[0] == "stem":
        layers = dict(config.stem)
    else:
        layers = dict(next(s for s in config.stages if s.name == parts[1]).layers)
    spec = layers[parts[-1]]
    spec = spec.branches if isinstance(spec, Residual) else spec
    return tuple(spec) if isinstance(spec, Mapping) else ()


# -- cards and builders ------------------------------------------------------
PAPER = Paper(
    title="Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
    authors="Szegedy, Ioffe, Vanhoucke, Alemi",
    year=2016,
    arxiv="1602.07261",
)
# Section 4 (training methodology); the dropout is Figure 9's "keep 0.8".
RECIPE = Recipe(
    source="Section 4, Figure 9",
    optimizer="rmsprop",
    lr=0.045,
    rmsprop_decay=0.9,
    eps=1.0,
    schedule=Schedule("exponential", factor=0.94, every=2),
    dropout=0.2,
    notes=(
        "20 replicas with TensorFlow's distributed system; gradient clipping",
        "evaluation with a running average of the parameters",
    ),
    not_stated=("batch_size", "epochs", "weight_decay", "init"),
)
_PROTOCOL = "single 299x299 crop, non-blacklisted subset of ILSVRC 2012 val"
_TIMM_NOTE = "twin equivalence holds in eval mode; timm has no dropout before the classifier"


def _card(name: str, table: str, key_ideas: tuple[str, ...], **fields: Any) -> ModelCard:
    return ModelCard(
        name=name,
        family="inception",
        paper=PAPER,
        recipe=RECIPE,
        table=table,
        key_ideas=key_ideas,
        input_size=(3, 299, 299),
        **fields,
    )


_V4_IDEAS = (
    "A uniform design: one module type per grid size (35, 17, 8), repeated 4, 7, 3 "
    "times, with dedicated reduction modules between grids.",
    "The stem itself uses parallel conv/pool branches to shrink 299x299 to 35x35.",
    "Without residual connections it matches Inception-ResNet-v2's accuracy, but "
    "trains more slowly.",
)
_V4_CARD = _card(
    "inception_v4",
    "Figures 3-9 (stem, Inception-A/B/C, Reduction-A/B) and Table 1 (k=192, l=224, m=256, n=384)",
    _V4_IDEAS,
    accuracy=Accuracy.from_error(20.0, 5.0, source="Table 2", protocol=_PROTOCOL),
    twins=(Twin("timm", "inception_v4", _timm_v4_rules()),),
    deviations=(_TIMM_NOTE,),
)
register_variant(_V4_CARD, InceptionNet, INCEPTION_V4)  # 42.68M params, 12.25G MACs

_IR_IDEAS = (
    "Residual Inception blocks: the branches' concatenation goes through a linear 1x1 "
    "conv back to the input width and is added to the input.",
    "Scale the residuals by 0.1-0.3 before adding: without it, very wide residual "
    "networks 'died' early in training.",
    "Residual connections speed up training markedly; the final accuracy depends more "
    "on model size (v1 ~ Inception-v3, v2 ~ Inception-v4).",
)
_IR_V1_CARD = _card(
    "inception_resnet_v1",
    "Figures 7, 10-15 and Table 1 (k=192, l=192, m=256, n=384)",
    _IR_IDEAS,
    accuracy_note="Table 2's Inception-ResNet-v1 errors were not verified against the paper "
    "text here",
    deviations=(
        "residual scales 0.17, 0.10, 0.20 (A, B, C) as in the released v2; the paper only "
        "says 0.1 to 0.3",
    ),
)
register_variant(_IR_V1_CARD, InceptionNet, INCEPTION_RESNET_V1)  # 22.76M params, 6.21G MACs

_IR_V2_CARD = _card(
    "inception_resnet_v2",
    "Figures 16-18 and Table 1 (k=256, l=256, m=384, n=384), as released",
    _IR_IDEAS,
    accuracy=Accuracy.from_error(19.9, 4.9, source="Table 2", protocol=_PROTOCOL),
    twins=(Twin("timm", "inception_resnet_v2", _timm_ir_v2_rules()),),
    deviations=(
        "the released network (TF-slim, timm), not Figure 15 literally: Inception-v3's "
        "stem plus a 35x35 Inception module (320 channels) instead of Figure 3's stem",
        "widths 320 / 1088 / 2080 at 35 / 17 / 8 and a final 1x1 conv to 1536; the "
        "figures' 384 / 1154 / 2048 disagree with what the reductions output (1152, 2146)",
        "10, 20, 10 blocks instead of Figure 15's 5, 10, 5; the last block has no ReLU "
        "and scale 1.0",
        _TIMM_NOTE,
    ),
)
register_variant(_IR_V2_CARD, InceptionNet, INCEPTION_RESNET_V2)  # 55.84M params, 13.16G MACs
