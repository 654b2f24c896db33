"""Wide ResNet (Zagoruyko & Komodakis 2016)."""

import pytest
import torch
from torch import nn

import convzoo
from convzoo.models.wide_resnet import wrn_blocks
from tests.models._counts import meta_params

PARAMS = {
    "wrn28_10": 36_479_194,  # measured here; Table 4: 36.5M
    "wrn40_4": 8_949_210,  # measured here; Table 4: 8.9M
    "wide_resnet50_2": 68_883_240,  # == torchvision wide_resnet50_2
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


@pytest.mark.parametrize("name", ["wrn28_10", "wrn40_4"])
def test_counts_agree_with_table_4(name):
    assert convzoo.model_card(name).paper_params.agrees(PARAMS[name])


def test_depth_rule():
    assert wrn_blocks(28) == 4 and wrn_blocks(40) == 6 and wrn_blocks(16) == 2
    with pytest.raises(ValueError, match="depth 6N \\+ 4"):
        wrn_blocks(30)


def test_stage_shapes_named_after_table_1():
    with torch.device("meta"):
        model = convzoo.create_model("wrn28_10")
        outputs = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [i.name for i in model.feature_info] == ["stem", "conv2", "conv3", "conv4"]
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (16, 32, 32),
        (160, 32, 32),
        (320, 16, 16),
        (640, 8, 8),
    ]


def test_block_dropout_sits_between_the_convs():
    with torch.device("meta"):
        model = convzoo.create_model("wrn40_4", block_dropout=0.3)
    block = model.stages.conv3[1]
    assert isinstance(block.dropout, nn.Dropout) and block.dropout.p == 0.3
    assert meta_params("wrn40_4", block_dropout=0.3) == PARAMS["wrn40_4"]
