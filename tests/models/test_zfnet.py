"""ZFNet (Zeiler & Fergus 2013): the map sizes of Fig. 3."""

import torch
from torch import nn

import convzoo
from convzoo.analysis.summary import summary


def output_sides(name: str, module_type: type[nn.Module]) -> list[int]:
    return [r.output_shape[-1] for r in summary(name).rows if r.type == module_type.__name__]


def test_fig3_map_sizes():
    # Fig. 3: 224 -> 110 (conv1) -> 55 (pool) -> 26 (conv2) -> 13 (pool) ... -> 6 (pool5)
    assert output_sides("zfnet", nn.Conv2d) == [110, 26, 13, 13, 13]
    assert output_sides("zfnet", nn.MaxPool2d) == [55, 13, 6]
    with torch.device("meta"):
        model = convzoo.create_model("zfnet")
        stages = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert [tuple(x.shape[1:]) for x in stages[1:]] == [
        (96, 55, 55),
        (256, 13, 13),
        (384, 13, 13),
        (384, 13, 13),
        (256, 6, 6),
    ]


def test_layers_and_order():
    with torch.device("meta"):
        model = convzoo.create_model("zfnet")
    conv1, conv2 = model.stages.conv1.conv, model.stages.conv2.conv
    assert (conv1.kernel_size, conv1.stride, conv1.out_channels) == ((7, 7), (2, 2), 96)
    assert (conv2.kernel_size, conv2.stride, conv2.out_channels) == ((5, 5), (2, 2), 256)
    assert all(stage.conv.groups == 1 for stage in model.stages)  # one GPU: no towers
    # Fig. 3: ReLU, pooling, then normalization across feature maps
    assert [name for name, _ in model.stages.conv1.named_children()] == [
        "conv",
        "act",
        "pool",
        "lrn",
    ]


def test_params_and_macs():
    result = summary("zfnet")
    # convs 14,208 + 614,656 + 885,120 + 1,327,488 + 884,992; fcs as AlexNet's
    assert result.total_params == 62_357_608
    assert result.total_macs == 1_168_032_896  # measured, convzoo.summary at 224x224
    assert convzoo.model_card("zfnet").paper_params is None  # the paper prints no count
