"""Xception (Chollet 2016)."""

import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.mobile import DepthwiseSeparableConv
from tests.models.shapes import output_shapes


def test_parameters_match_table3_exactly():
    with torch.device("meta"):
        model = convzoo.create_model("xception")
    n = sum(p.numel() for p in model.parameters())
    assert n == 22_855_952  # == Table 3 == timm legacy_xception
    assert convzoo.model_card("xception").paper_params.agrees(n)


def test_multiply_adds():
    assert summary("xception").total_macs == 8_357_403_496  # not printed in the paper


def test_shapes_match_figure5():
    s = output_shapes("xception")
    assert s["stem.conv1"] == (1, 32, 149, 149)
    assert s["stem.conv2"] == (1, 64, 147, 147)
    assert s["stages.entry_flow.block1"] == (1, 128, 74, 74)
    assert s["stages.entry_flow.block2"] == (1, 256, 37, 37)
    assert s["stages.entry_flow"] == (1, 728, 19, 19)
    assert s["stages.middle_flow"] == (1, 728, 19, 19)
    assert s["stages.exit_flow.block12"] == (1, 1024, 10, 10)
    assert s["stages.exit_flow"] == (1, 2048, 10, 10)


def test_structure():
    with torch.device("meta"):
        model = convzoo.create_model("xception")
    assert len(model.stages.middle_flow) == 8
    separable = [m for m in model.modules() if isinstance(m, DepthwiseSeparableConv)]
    assert len(separable) == 34  # + 2 stem convs = 36 conv layers (section 3)
    block = model.stages.middle_flow[0]
    assert isinstance(block.shortcut, torch.nn.Identity)
    assert isinstance(block.body.act1, torch.nn.ReLU) and not block.body.act1.inplace
    # nothing between depthwise and pointwise (section 4.7)
    assert list(dict(block.body.sepconv1.depthwise.named_children())) == ["conv"]
