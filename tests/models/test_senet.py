"""Squeeze-and-excitation networks (Hu et al. 2017)."""

import pytest
import torch
from torch import nn

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.attention import SqueezeExcite
from tests.models._counts import meta_params

PARAMS = {
    "se_resnet50": 28_088_024,  # == timm legacy_seresnet50
    "se_resnet101": 49_326_872,  # == timm legacy_seresnet101
    "se_resnet152": 66_821_848,  # == timm legacy_seresnet152
    "se_resnext50_32x4d": 27_559_896,  # == timm legacy_seresnext50_32x4d
    "senet154": 115_088_984,  # == timm legacy_senet154
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


def test_se_resnet50_agrees_with_the_paper():
    card = convzoo.model_card("se_resnet50")
    assert card.paper_params.agrees(PARAMS["se_resnet50"])  # 28.1M
    # "~2.5 million additional parameters" over ResNet-50
    assert PARAMS["se_resnet50"] - meta_params("resnet50") == 2_530_992


@pytest.mark.parametrize(
    "name", ["se_resnet50", "se_resnet101", "se_resnet152", "se_resnext50_32x4d"]
)
def test_macs_within_half_a_percent_of_table_2(name):
    """Table 2 prints 3.87, 7.60, 11.32, 4.25 GFLOPs; we count 3.860, 7.575, 11.289, 4.233
    (convs, fcs and the SE layers; the paper also counts what we leave out, e.g. the scaling)."""
    macs = summary(name).total_macs
    paper = convzoo.model_card(name).paper_macs.value
    assert -0.005 < (macs - paper) / paper < 0


def test_se_sits_on_the_residual_branch_with_ratio_16():
    with torch.device("meta"):
        model = convzoo.create_model("se_resnet50")
    block = model.stages.conv3_x[0]
    assert isinstance(block.se, SqueezeExcite)
    assert block.se.reduce.out_channels == 512 // 16
    assert block.conv1.conv.stride == (2, 2)  # Caffe models stride the first 1x1
    assert model.stem.pool.ceil_mode


def test_senet154_layout():
    with torch.device("meta"):
        model = convzoo.create_model("senet154")
        shapes = [tuple(o.shape[1:]) for o in model.forward_stages(torch.empty(1, 3, 224, 224))]
    assert [len(s) for s in model.stages] == [3, 8, 36, 3]
    assert shapes == [(128, 56, 56), (256, 56, 56), (512, 28, 28), (1024, 14, 14), (2048, 7, 7)]
    first = model.stages.conv3_x[0]
    assert first.conv1.conv.out_channels == 256 and first.conv2.conv.groups == 64
    assert first.shortcut.conv.kernel_size == (3, 3)
    assert isinstance(model.head.dropout, nn.Dropout) and model.head.dropout.p == 0.2
