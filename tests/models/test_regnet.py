"""RegNet / AnyNet (Radosavovic et al. 2020): the width rule, the presets, the design spaces."""

import random

import pytest
import torch

import convzoo
from convzoo.blocks.conv import make_divisible
from convzoo.interop import map_state_dict
from convzoo.models.regnet import (
    REGNETX_400MF,
    REGNETY_800MF,
    TORCHVISION_RULES,
    AnyNet,
    AnyNetConfig,
    AnyNetStage,
    quantize,
    regnet_stages,
)
from convzoo.registry import Twin
from convzoo.search.design_space import (
    ANYNETX_A,
    ANYNETX_B,
    ANYNETX_C,
    ANYNETX_D,
    ANYNETX_E,
    DESIGN_SPACES,
    REGNET,
    sample_anynet,
)

# name: exact parameter count (== timm twin), per-stage depths and widths (appendix)
PRESETS = {
    "regnetx_200mf": (2_684_792, (1, 1, 4, 7), (24, 56, 152, 368)),  # == timm regnetx_002
    "regnetx_400mf": (5_157_512, (1, 2, 7, 12), (32, 64, 160, 384)),  # == timm regnetx_004
    "regnetx_800mf": (7_259_656, (1, 3, 7, 5), (64, 128, 288, 672)),  # == timm regnetx_008
    "regnetx_1_6gf": (9_190_136, (2, 4, 10, 2), (72, 168, 408, 912)),  # == timm regnetx_016
    "regnety_200mf": (3_162_996, (1, 1, 4, 7), (24, 56, 152, 368)),  # == timm regnety_002
    "regnety_400mf": (4_344_144, (1, 3, 6, 6), (48, 104, 208, 440)),  # == timm regnety_004
    "regnety_800mf": (6_263_168, (1, 3, 8, 2), (64, 128, 320, 768)),  # == timm regnety_008
    "regnety_1_6gf": (11_202_430, (2, 6, 17, 2), (48, 120, 336, 888)),  # == timm regnety_016
}


@pytest.mark.parametrize("name", PRESETS)
def test_presets_params_macs_and_stages(name):
    params, depths, widths = PRESETS[name]
    s = convzoo.summary(name)
    card = convzoo.model_card(name)
    assert s.total_params == params
    assert card.paper_params.agrees(s.total_params), (card.paper_params, s.total_params)
    assert card.paper_macs.agrees(s.total_macs), (card.paper_macs, s.total_macs)
    with torch.device("meta"):
        model = convzoo.create_model(name)
    assert tuple(len(stage) for stage in model.stages) == depths
    assert [(i.channels, i.stride) for i in model.feature_info] == [
        (32, 2),
        *zip(widths, (4, 8, 16, 32), strict=True),
    ]
    shapes = [
        tuple(f.shape) for f in model.forward_stages(torch.empty(1, 3, 224, 224, device="meta"))
    ]
    assert shapes[-1] == (1, widths[-1], 7, 7)


def test_width_rule_reproduces_the_appendix_rows():
    # RegNetX-200MF: d=13, w0=24, wa=36.44, wm=2.49, g=8
    stages = regnet_stages(depth=13, w0=24, wa=36.44, wm=2.49, group_width=8)
    assert [(s.depth, s.width, s.group_width) for s in stages] == [
        (1, 24, 8), (1, 56, 8), (4, 152, 8), (7, 368, 8)
    ]  # fmt: skip
    # the group width is capped at the stage's width (w0=8 with g=16)
    assert regnet_stages(depth=2, w0=8, wa=8, wm=2, group_width=16)[0].group_width == 8
    # wa = 0: one width, one stage
    assert regnet_stages(depth=5, w0=64, wa=0, wm=2, group_width=8) == (
        AnyNetStage(depth=5, width=64, group_width=8),
    )


def test_half_way_widths_round_to_even_in_the_paper_and_up_in_torchvision():
    assert quantize(392, 16) == 384 and make_divisible(392, 16) == 400
    assert [s.width for s in REGNETX_400MF.config("torchvision").stages] == [32, 64, 160, 400]
    assert [s.width for s in REGNETY_800MF.config("torchvision").stages] == [64, 144, 320, 784]


@pytest.mark.parametrize(
    ("name", "twin_name", "params"),
    [
        ("regnetx_400mf", "regnet_x_400mf", 5_495_976),  # == torchvision regnet_x_400mf
        ("regnety_800mf", "regnet_y_800mf", 6_432_512),  # == torchvision regnet_y_800mf
    ],
)
def test_torchvision_rounding_matches_torchvision(name, twin_name, params):
    twin = Twin("torchvision", twin_name, TORCHVISION_RULES)
    reference = twin.build().eval()
    model = convzoo.create_model(name, rounding="torchvision").eval()
    assert sum(p.numel() for p in model.parameters()) == params
    model.load_state_dict(map_state_dict(reference.state_dict(), twin), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)


def test_y_block_squeeze_excite_is_a_quarter_of_the_block_input():
    with torch.device("meta"):
        model = convzoo.create_model("regnety_400mf")
    block = model.stages.stage2.block1  # input 48 channels, output 104
    assert block.se.reduce.in_channels == 104 and block.se.reduce.out_channels == 12
    assert model.stages.stage2.block2.se.reduce.out_channels == 26


def test_invalid_configs_raise():
    with pytest.raises(ValueError, match="not a multiple of group_width 16"):
        AnyNetStage(depth=1, width=24, group_width=16)
    with pytest.raises(ValueError, match="w0 a positive multiple of 8"):
        regnet_stages(depth=4, w0=20, wa=10, wm=2, group_width=8)
    with pytest.raises(ValueError, match="rounding must be"):
        regnet_stages(depth=4, w0=24, wa=10, wm=2, group_width=8, rounding="nearest")
    with pytest.raises(ValueError, match="rounding applies to RegNet parameters"):
        AnyNet(AnyNetConfig(stages=(AnyNetStage(depth=1, width=8),)), rounding="torchvision")


def _flags(config):
    stages = config.stages
    depths = [s.depth for s in stages]
    widths = [s.width for s in stages]
    return {
        "shared_b": len({s.bottleneck_ratio for s in stages}) == 1,
        # RegNet caps g at a narrow stage's inner width (g = min(g, w / b))
        "shared_g": len({s.group_width for s in stages if s.group_width != s.inner_width}) <= 1,
        "widths_up": widths == sorted(widths),
        "depths_up": depths == sorted(depths),
    }


@pytest.mark.parametrize("space", list(DESIGN_SPACES.values()), ids=list(DESIGN_SPACES))
def test_design_space_constraints_hold_over_many_draws(space):
    rng = random.Random(0)
    configs = [sample_anynet(rng, space) for _ in range(300)]
    flags = [_flags(c) for c in configs]
    for config in configs:
        assert len(config.stages) == 4
        for s in config.stages:  # AnyNetStage validated w / b divisible by g when built
            assert s.bottleneck_ratio in space.bottleneck_ratios
            assert s.group_width <= 32
        if space is not REGNET:
            assert all(1 <= s.depth <= 16 and s.width <= 1024 and s.width % 8 == 0
                       for s in config.stages)  # fmt: skip
            assert all(s.group_width in space.group_widths for s in config.stages)
        else:
            assert sum(s.depth for s in config.stages) < 64
    expected = {
        "shared_b": space.shared_bottleneck_ratio if space is not REGNET else True,
        "shared_g": space.shared_group_width if space is not REGNET else True,
        "widths_up": space.increasing_widths if space is not REGNET else True,
        "depths_up": space.increasing_depths if space is not REGNET else None,
    }
    for key, required in expected.items():
        observed = [f[key] for f in flags]
        if required:
            assert all(observed), f"{space.name}: {key} violated"
        elif required is False:  # unconstrained: the space really contains violations
            assert not all(observed), f"{space.name}: {key} never varies"
    assert len({c for c in configs}) > 250  # draws are diverse


def test_refinements_are_nested():
    assert ANYNETX_B.shared_bottleneck_ratio and not ANYNETX_A.shared_bottleneck_ratio
    assert ANYNETX_C.shared_group_width and not ANYNETX_B.shared_group_width
    assert ANYNETX_D.increasing_widths and not ANYNETX_C.increasing_widths
    assert ANYNETX_E.increasing_depths and not ANYNETX_D.increasing_depths


@pytest.mark.parametrize("space", list(DESIGN_SPACES.values()), ids=list(DESIGN_SPACES))
def test_sampled_configs_build_valid_models(space):
    rng = random.Random(1)
    configs = [sample_anynet(rng, space) for _ in range(3)]
    for config in configs:  # every layer fits (meta device: shapes only, no storage)
        with torch.device("meta"):
            AnyNet(config, num_classes=10)
    model = AnyNet(configs[0], num_classes=10).eval()  # a real forward on CPU (meta is slower)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    small = AnyNet(
        AnyNetConfig(stages=tuple(AnyNetStage(depth=1, width=16, group_width=8) for _ in range(4)))
    )
    small(torch.randn(2, 3, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in small.parameters())


def test_sampling_is_reproducible_and_checks_its_argument():
    assert sample_anynet(random.Random(3), REGNET) == sample_anynet(random.Random(3), REGNET)
    with pytest.raises(TypeError, match="AnyNetSpace or RegNetSpace"):
        sample_anynet(random.Random(0), "AnyNetX_A")
