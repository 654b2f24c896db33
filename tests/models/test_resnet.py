"""ResNet (He et al. 2015): ImageNet v1 / v1.5, CIFAR option A/B, plain twins."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.residual import PadShortcut
from convzoo.models.resnet import cifar_blocks
from tests.models._counts import meta_params

# Exact counts. ImageNet: == torchvision resnetN (v1 and v1.5 have the same weights).
IMAGENET_PARAMS = {
    "resnet18": 11_689_512,  # == torchvision resnet18
    "resnet34": 21_797_672,  # == torchvision resnet34
    "resnet50": 25_557_032,  # == torchvision resnet50
    "resnet101": 44_549_160,  # == torchvision resnet101
    "resnet152": 60_192_808,  # == torchvision resnet152
    "resnet50_v1_5": 25_557_032,  # == torchvision resnet50
    "resnet101_v1_5": 44_549_160,  # == torchvision resnet101
    "resnet152_v1_5": 60_192_808,  # == torchvision resnet152
}
# CIFAR, option A: measured here (no twin); Table 6 prints 0.27M ... 19.4M.
CIFAR_PARAMS = {
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
}


@pytest.mark.parametrize(("name", "params"), [*IMAGENET_PARAMS.items(), *CIFAR_PARAMS.items()])
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


@pytest.mark.parametrize("name", list(CIFAR_PARAMS))
def test_cifar_counts_agree_with_table_6(name):
    card = convzoo.model_card(name)
    assert card.paper_params.agrees(CIFAR_PARAMS[name]), (card.paper_params, CIFAR_PARAMS[name])


@pytest.mark.parametrize(
    ("name", "measured_gmacs"),
    [
        ("resnet18", 1.814),
        ("resnet34", 3.664),
        ("resnet50", 3.858),
        ("resnet101", 7.570),
        ("resnet152", 11.282),
    ],
)
def test_macs_match_table_1(name, measured_gmacs):
    """Table 1 'FLOPs' are multiply-adds printed to 2 digits; 34/50 land 1.5% above the
    printed value (3.66 vs 3.6, 3.86 vs 3.8), so the check is 2% relative."""
    macs = summary(name).total_macs
    assert macs / 1e9 == pytest.approx(measured_gmacs, abs=5e-4)
    paper = convzoo.model_card(name).paper_macs.value
    assert abs(macs - paper) / paper < 0.02


def test_v1_5_moves_the_stride_not_the_weights():
    v1, v15 = summary("resnet50"), summary("resnet50_v1_5")
    assert v1.total_params == v15.total_params
    assert 3.8e9 < v1.total_macs < 3.9e9  # the paper's ~3.8 GFLOPs
    assert v15.total_macs - v1.total_macs == pytest.approx(0.23e9, rel=0.05)
    with torch.device("meta"):
        first = convzoo.create_model("resnet50").stages.conv3_x[0]
        first_v15 = convzoo.create_model("resnet50_v1_5").stages.conv3_x[0]
    assert first.conv1.conv.stride == (2, 2) and first.conv2.conv.stride == (1, 1)
    assert first_v15.conv1.conv.stride == (1, 1) and first_v15.conv2.conv.stride == (2, 2)


def test_imagenet_stage_shapes():
    with torch.device("meta"):
        model = convzoo.create_model("resnet50")
        outputs = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (64, 56, 56),
        (256, 56, 56),
        (512, 28, 28),
        (1024, 14, 14),
        (2048, 7, 7),
    ]
    assert [i.name for i in model.feature_info] == [
        "stem",
        "conv2_x",
        "conv3_x",
        "conv4_x",
        "conv5_x",
    ]


def test_cifar_stage_shapes():
    with torch.device("meta"):
        model = convzoo.create_model("resnet20")
        outputs = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (16, 32, 32),
        (16, 32, 32),
        (32, 16, 16),
        (64, 8, 8),
    ]
    assert [len(stage) for stage in model.stages] == [3, 3, 3]


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_plain_differs_from_resnet_only_by_shortcuts(depth):
    with torch.device("meta"):
        plain = convzoo.create_model(f"plain{depth}")
        res = convzoo.create_model(f"resnet{depth}")
    assert sum(p.numel() for p in plain.parameters()) == CIFAR_PARAMS[f"resnet{depth}"]
    assert plain.state_dict().keys() == res.state_dict().keys()
    plain_blocks = [b for stage in plain.stages for b in stage]
    res_blocks = [b for stage in res.stages for b in stage]
    assert all(b.shortcut is None for b in plain_blocks)
    assert all(b.shortcut is not None for b in res_blocks)
    assert sum(isinstance(b.shortcut, PadShortcut) for b in res_blocks) == 2  # 16->32, 32->64


def test_same_weights_plain_and_residual_outputs_differ():
    plain, res = convzoo.create_model("plain20").eval(), convzoo.create_model("resnet20").eval()
    res.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(plain(x), res(x))


def test_option_b_adds_two_projections():
    counts = meta_params("resnet20", shortcut="B")
    # 1x1 projections 16->32 and 32->64 with their BN: 512 + 64 + 2048 + 128
    assert counts == 269_722 + 512 + 64 + 2048 + 128 == 272_474
    assert meta_params("resnet20", shortcut="C") > counts


def test_option_a_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 8, 8)
    y = PadShortcut(16, 32, stride=2)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert not y[:, 16:].any()


def test_cifar_depth_rule():
    assert cifar_blocks(1202, layers_per_block=2) == 200
    with pytest.raises(ValueError, match="depth 3\\*2\\*n \\+ 2"):
        cifar_blocks(21, layers_per_block=2)


def test_unknown_shortcut_option_is_rejected():
    with pytest.raises(ValueError, match="shortcut option must be one of"):
        convzoo.create_model("resnet20", shortcut="D")


def test_se_can_be_added_to_any_resnet():
    base, se = meta_params("resnet20"), meta_params("resnet20", se_reduction=4)
    # one SE per block: 9 blocks of 16/32/64 channels, reduce + expand with biases
    per_width = {c: 2 * c * (c // 4) + c // 4 + c for c in (16, 32, 64)}
    assert se == base + 3 * sum(per_width.values())
