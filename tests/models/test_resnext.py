"""ResNeXt (Xie et al. 2016)."""

import pytest
import torch
import torch.nn.functional as F

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.residual import Bottleneck, bottleneck_width
from tests.models._counts import meta_params

PARAMS = {
    "resnext50_32x4d": 25_028_904,  # == torchvision resnext50_32x4d
    "resnext101_32x4d": 44_177_704,  # == timm resnext101_32x4d
    "resnext101_32x8d": 88_791_336,  # == torchvision resnext101_32x8d
    "resnext101_64x4d": 83_455_272,  # == torchvision resnext101_64x4d
    "resnext29_8x64d": 34_426_698,  # measured here; Table 7: 34.4M
    "resnext29_16x64d": 68_155_210,  # measured here; Table 7: 68.1M (see below)
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


@pytest.mark.parametrize("name", ["resnext50_32x4d", "resnext29_8x64d"])
def test_counts_agree_with_the_paper(name):
    assert convzoo.model_card(name).paper_params.agrees(PARAMS[name])


def test_resnext29_16x64d_is_within_a_tenth_of_a_million():
    """68,155,210 rounds to 68.2M where Table 7 prints 68.1M (truncation, presumably)."""
    paper = convzoo.model_card("resnext29_16x64d").paper_params.value
    assert 0 < PARAMS["resnext29_16x64d"] - paper < 0.1e6


def test_resnext50_macs_agree_with_table_1():
    macs = summary("resnext50_32x4d").total_macs
    assert macs == pytest.approx(4.230e9, rel=1e-3)
    assert convzoo.model_card("resnext50_32x4d").paper_macs.agrees(macs)  # 4.2G


def test_bottleneck_width_rule():
    assert bottleneck_width(256) == 64  # ResNet
    assert bottleneck_width(256, cardinality=32, base_width=4) == 128  # 32x4d
    assert bottleneck_width(2048, cardinality=64, base_width=4) == 2048  # 64x4d, conv5
    assert bottleneck_width(256, base_width=128) == 128  # wide_resnet50_2


def test_stage_shapes_and_groups():
    with torch.device("meta"):
        model = convzoo.create_model("resnext29_8x64d")
        outputs = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (64, 32, 32),
        (256, 32, 32),
        (512, 16, 16),
        (1024, 8, 8),
    ]
    convs = [model.stages[i][0].conv2.conv for i in range(3)]
    assert [(c.out_channels, c.groups) for c in convs] == [(512, 8), (1024, 8), (2048, 8)]


@torch.no_grad()
def test_grouped_convolution_equals_split_transform_merge():
    """Fig. 3: one bottleneck with a C-group 3x3 == the sum of C separate paths."""
    cardinality, d = 4, 2
    block = Bottleneck(16, 16, width=cardinality * d, groups=cardinality).eval()
    for bn in (block.conv1.norm, block.conv2.norm, block.conv3.norm):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 16, 6, 6)

    def bn(layer, y, rows):
        return F.batch_norm(
            y,
            layer.running_mean[rows],
            layer.running_var[rows],
            layer.weight[rows],
            layer.bias[rows],
            eps=layer.eps,
        )

    merged = 0
    for path in range(cardinality):
        rows = slice(path * d, (path + 1) * d)
        y = F.relu(bn(block.conv1.norm, F.conv2d(x, block.conv1.conv.weight[rows]), rows))
        y = F.relu(
            bn(block.conv2.norm, F.conv2d(y, block.conv2.conv.weight[rows], padding=1), rows)
        )
        merged = merged + F.conv2d(y, block.conv3.conv.weight[:, rows])  # 1x1 over this path
    merged = block.conv3.norm(merged)
    assert torch.allclose(block.residual(x), merged, atol=1e-5)
