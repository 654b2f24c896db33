"""MobileNet v1 (Tables 1, 6, 7 of arXiv:1704.04861) and v2 (Tables 2, 4 of arXiv:1801.04381)."""

import pytest
import torch
from torch import nn

import convzoo
from convzoo.blocks.mobile import InvertedResidual
from convzoo.models.mobilenet import MobileNetV1, MobileNetV2, input_resolution, thin_channels
from convzoo.registry import Reported

# name, params, mult-adds at 224 px (all measured on meta; the paper's counts include the FC)
V1_GRID = [
    ("mobilenet_v1", 4_231_976, 568_740_352),  # == timm mobilenetv1_100; Table 6: 4.2M, 569M
    ("mobilenet_v1_075", 2_585_560, 325_400_448),  # Table 6: 2.6M, 325M
    ("mobilenet_v1_050", 1_331_592, 149_497_088),  # Table 6: 1.3M, 149M
    ("mobilenet_v1_025", 470_072, 41_030_272),  # Table 6: 0.5M, 41M
]


@pytest.mark.parametrize(("name", "params", "macs"), V1_GRID)
def test_v1_width_multiplier_grid_table_6(name, params, macs):
    result = convzoo.summary(name)
    card = convzoo.model_card(name)
    assert (result.total_params, result.total_macs) == (params, macs)
    assert card.paper_params.agrees(params)
    assert card.paper_macs.agrees(macs)


@pytest.mark.parametrize(
    ("side", "macs", "paper"),
    [(192, 418_121_728, "418M"), (160, 290_675_200, "290M"), (128, 186_400_768, "186M")],
)
def test_v1_resolution_multiplier_table_7(side, macs, paper):
    model = convzoo.summary("mobilenet_v1", resolution_mult=side / 224)
    assert model.input_size == (3, side, side)
    assert model.total_macs == macs
    assert model.total_params == 4_231_976  # resolution does not change the weights
    if side == 160:
        # 290.68M rounds to 291M: Table 7 truncates this one (0.23% off)
        assert not Reported(paper).agrees(macs)
        assert abs(macs - Reported(paper).value) < 1e6
    else:
        assert Reported(paper).agrees(macs)


def test_v1_cost_scales_with_alpha_squared_and_rho_squared():
    base = convzoo.summary("mobilenet_v1").total_macs
    half = convzoo.summary("mobilenet_v1", width_mult=0.5).total_macs
    assert 0.25 < half / base < 0.3  # the depthwise part only shrinks linearly
    rho = 128 / 224  # the map sides stay whole numbers (4 at the end)
    small = convzoo.summary("mobilenet_v1", resolution_mult=rho).total_macs
    assert small / base == pytest.approx(rho**2, rel=0.01)  # only the FC does not shrink


def test_v1_multiplier_rules_and_errors():
    assert [thin_channels(c, 0.25) for c in (32, 64, 1024)] == [8, 16, 256]
    assert thin_channels(16, 0.25) == 8  # never below 8 channels
    assert input_resolution(160 / 224) == 160
    with pytest.raises(ValueError, match="width_mult must be > 0, got 0"):
        convzoo.create_model("mobilenet_v1", width_mult=0)
    with pytest.raises(ValueError, match="resolution_mult must be > 0, got -1"):
        convzoo.create_model("mobilenet_v1", resolution_mult=-1)


def test_v1_stages_follow_table_1():
    with torch.device("meta"):
        model = convzoo.create_model("mobilenet_v1")
        maps = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert isinstance(model, MobileNetV1)
    assert [len(stage) for stage in model.stages] == [1, 2, 2, 6, 2]  # 13 separable layers
    assert [tuple(m.shape[1:]) for m in maps] == [
        (32, 112, 112),
        (64, 112, 112),
        (128, 56, 56),
        (256, 28, 28),
        (512, 14, 14),
        (1024, 7, 7),
    ]
    assert [(f.channels, f.stride) for f in model.feature_info] == [
        (32, 2),
        (64, 2),
        (128, 4),
        (256, 8),
        (512, 16),
        (1024, 32),
    ]
    # the last depthwise layer keeps 7x7 (Table 1 prints s2)
    assert model.stages.stage5[1].depthwise.conv.stride == (1, 1)
    assert isinstance(model.stem.act, nn.ReLU)


def test_v2_params_and_macs_table_4():
    result = convzoo.summary("mobilenet_v2")
    card = convzoo.model_card("mobilenet_v2")
    assert result.total_params == 3_504_872  # == torchvision mobilenet_v2
    assert result.total_macs == 300_774_272
    # Table 4 prints 3.4M: the weights without batch norm are 3,470,760 (3.47M, truncated)
    with torch.device("meta"):
        model = convzoo.create_model("mobilenet_v2")
    norms = sum(
        p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()
    )
    assert result.total_params - norms == 3_470_760
    assert not card.paper_params.agrees(result.total_params)
    assert int((result.total_params - norms) / 1e5) / 10 == card.paper_params.value / 1e6
    # Table 4 prints 300M; measured 300.8M (299.5M without the classifier): 0.26% apart
    assert abs(result.total_macs - card.paper_macs.value) / card.paper_macs.value < 0.003


@pytest.mark.parametrize(
    ("name", "params", "macs"),
    [
        ("mobilenet_v2_140", 6_108_776, 582_195_824),  # == torchvision width_mult=1.4
        ("mobilenet_v2_075", 2_636_424, 209_069_792),  # == torchvision width_mult=0.75
        ("mobilenet_v2_050", 1_968_680, 97_131_840),  # == torchvision width_mult=0.5
        ("mobilenet_v2_035", 1_677_128, 59_285_808),  # == torchvision width_mult=0.35
    ],
)
def test_v2_width_presets(name, params, macs):
    result = convzoo.summary(name)
    assert (result.total_params, result.total_macs) == (params, macs)


def test_v2_width_140_differs_from_table_4_as_the_card_says():
    card = convzoo.model_card("mobilenet_v2_140")
    assert card.paper_params == Reported("6.9M") and card.paper_macs == Reported("585M")
    assert not card.paper_params.agrees(6_108_776)
    assert any("6,108,776" in d for d in card.deviations)


def test_v2_stages_follow_table_2():
    with torch.device("meta"):
        model = convzoo.create_model("mobilenet_v2")
        maps = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert isinstance(model, MobileNetV2)
    assert [len(s) for s in model.stages] == [1, 2, 3, 4, 3, 3, 1]
    assert [m.shape[1] for m in maps] == [32, 16, 24, 32, 64, 96, 160, 320]
    assert [m.shape[-1] for m in maps] == [112, 112, 56, 28, 14, 14, 7, 7]
    assert model.head.conv.out_channels == 1280
    # below width 1 the last conv keeps 1280 channels (section 6.1)
    with torch.device("meta"):
        thin = convzoo.create_model("mobilenet_v2_035")
    assert thin.head.conv.out_channels == 1280
    assert thin.feature_info[-1].channels == 112  # 320 * 0.35 rounded to a multiple of 8


def test_inverted_residual_block():
    block = InvertedResidual(24, 24, expand_ratio=6)
    assert block.use_residual and block.hidden_channels == 144
    assert not hasattr(block.project, "act")  # linear bottleneck
    assert isinstance(block.expand.act, nn.ReLU6)
    no_expand = InvertedResidual(32, 16, expand_ratio=1)
    assert no_expand.expand is None and not no_expand.use_residual
    strided = InvertedResidual(24, 24, stride=2)
    assert not strided.use_residual
    x = torch.randn(2, 24, 8, 8)
    assert strided(x).shape == (2, 24, 4, 4)
    block.eval()
    with torch.no_grad():
        torch.testing.assert_close(block(x), x + block.project(block.depthwise(block.expand(x))))
    with pytest.raises(ValueError, match="stride must be 1 or 2, got 3"):
        InvertedResidual(8, 8, stride=3)
    with pytest.raises(ValueError, match=r"expand_ratio must be >= 1, got 0\.5"):
        InvertedResidual(8, 8, expand_ratio=0.5)


def test_v1_pointwise_share_table_2():
    result = convzoo.summary("mobilenet_v1")
    pointwise = sum(r.macs for r in result.rows if r.name.endswith("pointwise.conv"))
    assert round(100 * pointwise / result.total_macs, 2) == 94.86  # Table 2: Conv 1x1, 94.86%
