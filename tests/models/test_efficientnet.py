"""EfficientNet (arXiv:1905.11946): Table 1 baseline, compound scaling, Table 2 counts."""

import math

import pytest
import torch
from torch import nn

import convzoo
from convzoo.blocks.mobile import InvertedResidual
from convzoo.models.efficientnet import (
    ALPHA,
    BETA,
    GAMMA,
    PUBLISHED,
    EfficientNet,
    compound_coefficients,
    efficientnet,
    implied_phi,
    round_filters,
    round_repeats,
)

# name, params (== torchvision), mult-adds at the model's own resolution (meta-device count)
TABLE_2 = [
    ("efficientnet_b0", 5_288_548, 385_814_752),  # == torchvision efficientnet_b0
    ("efficientnet_b1", 7_794_184, 686_802_832),  # == torchvision efficientnet_b1
    ("efficientnet_b2", 9_109_994, 993_561_872),  # == torchvision efficientnet_b2
    ("efficientnet_b3", 12_233_232, 1_827_141_392),  # == torchvision efficientnet_b3
    ("efficientnet_b4", 19_341_616, 4_393_771_024),  # == torchvision efficientnet_b4
    ("efficientnet_b5", 30_389_784, 10_266_384_752),  # == torchvision efficientnet_b5
    ("efficientnet_b6", 43_040_704, 19_067_593_536),  # == torchvision efficientnet_b6
    ("efficientnet_b7", 66_347_960, 37_745_884_192),  # == torchvision efficientnet_b7
]
# where the measured numbers fall outside Table 2's printed precision (each card says so)
PARAMS_DISAGREE = {"efficientnet_b2"}  # 9.11M vs "9.2M"
MACS_DISAGREE = {"efficientnet_b1", "efficientnet_b4", "efficientnet_b5", "efficientnet_b7"}


@pytest.mark.parametrize(("name", "params", "macs"), TABLE_2)
def test_params_and_macs_table_2(name, params, macs):
    result = convzoo.summary(name)  # meta device: no weights allocated
    card = convzoo.model_card(name)
    assert (result.total_params, result.total_macs) == (params, macs)
    assert result.input_size == (3, *[PUBLISHED[name[-2:]].resolution] * 2)
    assert card.paper_params.agrees(params) == (name not in PARAMS_DISAGREE)
    assert card.paper_macs.agrees(macs) == (name not in MACS_DISAGREE)
    # even where they disagree, the paper's numbers are within 5%
    assert abs(params - card.paper_params.value) / card.paper_params.value < 0.02
    assert abs(macs - card.paper_macs.value) / card.paper_macs.value < 0.05
    if name in PARAMS_DISAGREE | MACS_DISAGREE:
        assert any("measured" in d for d in card.deviations)


def test_b0_flops_in_the_paper_are_multiply_adds():
    macs = 385_814_752
    assert convzoo.model_card("efficientnet_b0").paper_macs.agrees(macs)  # 0.39B
    assert abs(2 * macs - 0.39e9) > 0.3e9  # counting multiplies and adds apart would be 0.77B


def test_compound_coefficients():
    assert compound_coefficients(0) == compound_coefficients(0.0)
    b0 = compound_coefficients(0)
    assert (b0.width_mult, b0.depth_mult, b0.resolution) == (1.0, 1.0, 224)
    one = compound_coefficients(1)
    assert (one.width_mult, one.depth_mult, one.resolution) == (BETA, ALPHA, 258)
    # the constraint alpha * beta^2 * gamma^2 ~ 2: FLOPs about double per step of phi
    assert pytest.approx(2, abs=0.1) == ALPHA * BETA**2 * GAMMA**2
    assert compound_coefficients(3).depth_mult == pytest.approx(1.2**3)
    with pytest.raises(ValueError, match="phi must be >= 0, got -1"):
        compound_coefficients(-1)


def test_implied_phi_of_the_published_models():
    assert implied_phi(PUBLISHED["b0"]) == (0.0, 0.0, 0.0)
    depth, width, resolution = implied_phi(PUBLISHED["b7"])
    assert width == pytest.approx(math.log(2.0) / math.log(1.1))  # 7.27
    assert (round(depth, 2), round(resolution, 2)) == (6.21, 7.05)
    assert "phi = 6.21 (depth), 7.27 (width), 7.05 (resolution)" in " ".join(
        convzoo.model_card("efficientnet_b7").deviations
    )


def test_rounding_rules():
    assert round_filters(32, 1.1) == 32  # 35.2 -> 32 (within 10%)
    assert round_filters(40, 1.4) == 56
    assert round_filters(1280, 2.0) == 2560
    assert round_filters(16, 0.5) == 8
    assert [round_repeats(n, 3.1) for n in (1, 2, 3, 4)] == [4, 7, 10, 13]
    assert round_repeats(1, 1.1) == 2  # any growth adds a whole layer


def test_efficientnet_phi_builds_scaled_b0():
    with torch.device("meta"):
        base, scaled = efficientnet(phi=0), efficientnet(phi=1)
    assert isinstance(base, EfficientNet)
    assert sum(p.numel() for p in base.parameters()) == 5_288_548  # phi = 0 is B0
    assert scaled.default_input_size == (258, 258)
    ratio = convzoo.summary(scaled).total_macs / convzoo.summary(base).total_macs
    # ~1.92x by the formula; rounding repeats up (1 -> 2 layers) makes it 2.57x
    assert ratio == pytest.approx(2.57, abs=0.01)


def test_b0_stages_follow_table_1():
    with torch.device("meta"):
        model = convzoo.create_model("efficientnet_b0")
        maps = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert [s for s, _ in model.stages.named_children()] == [f"stage{i}" for i in range(2, 9)]
    assert [len(s) for s in model.stages] == [1, 2, 2, 3, 3, 4, 1]
    assert [m.shape[1] for m in maps] == [32, 16, 24, 40, 80, 112, 192, 320]
    assert [m.shape[-1] for m in maps] == [112, 112, 56, 28, 14, 14, 7, 7]  # Table 1 resolutions
    assert model.head.conv.out_channels == 1280
    block = model.stages.stage4[0]
    assert block.depthwise.conv.kernel_size == (5, 5)
    assert block.se.reduce.out_channels == 6  # a quarter of the block's 24 input channels


def test_stochastic_depth_rises_linearly():
    with torch.device("meta"):
        model = convzoo.create_model("efficientnet_b0")
    blocks = [b for stage in model.stages for b in stage]
    rates = [b.drop_path.p if b.drop_path is not None else None for b in blocks]
    assert rates[0] is None  # no shortcut, so nothing to drop
    assert rates[-2] == pytest.approx(0.2 * 14 / 16)
    assert all(r is None for b, r in zip(blocks, rates, strict=True) if not b.use_residual)
    block = InvertedResidual(16, 16, se_channels=4, act=nn.SiLU, drop_path=0.5).train()
    x = torch.randn(16, 16, 5, 5)
    dropped = (block(x) - x).flatten(1).abs().sum(1) == 0
    assert dropped.any() and not dropped.all()  # whole samples skip the branch in training
    block.eval()
    assert not ((block(x) - x).flatten(1).abs().sum(1) == 0).any()
