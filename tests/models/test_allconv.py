"""All-CNN-C and its siblings (Springenberg et al. 2014): Tables 1-3."""

import pytest
import torch
from torch import nn

import convzoo
from convzoo.analysis.summary import summary

# name: (parameters counted by hand from Tables 1-2, measured MACs at 32x32)
EXPECTED = {
    # + two 3x3 stride-2 convs (83,040 + 331,968) on Model C's 954,730
    "allcnn_c": (1_369_738, 270_798_336),
    # Model C's layers, only strides change: 2,688 + 83,040 + 166,080 + 331,968
    # + 331,968 + 37,056 + 1,930
    "strided_cnn_c": (954_730, 100_929_024),
    # + two dense 3x3 convs before the pools: the same count as All-CNN-C
    "convpool_cnn_c": (1_369_738, 398_200_320),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_params_and_macs(name):
    result = summary(name)
    assert (result.total_params, result.total_macs) == EXPECTED[name]
    assert result.output_shape == (1, 10)


def test_table3_parameter_counts():
    for name in ("allcnn_c", "convpool_cnn_c"):
        card = convzoo.model_card(name)
        assert card.paper_params.text == "1.4M"
        assert card.paper_params.agrees(EXPECTED[name][0])
    # Table 3 prints 1.3M for Strided-CNN-C, but its layers (Tables 1-2) hold 0.95M
    card = convzoo.model_card("strided_cnn_c")
    assert card.paper_params.text == "1.3M"
    assert not card.paper_params.agrees(EXPECTED["strided_cnn_c"][0])
    assert any("1.3M" in d for d in card.deviations)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_global_average_over_6x6(name):
    with torch.device("meta"):
        model = convzoo.create_model(name)
        maps = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [tuple(x.shape[1:]) for x in maps] == [
        (3, 32, 32),
        (96, 16, 16),
        (192, 8, 8),
        (192, 6, 6),  # Table 1: "global averaging over 6x6 spatial dimensions"
    ]
    assert [i.stride for i in model.feature_info] == [1, 2, 4, 4]


def test_only_all_cnn_is_pooling_free():
    pools = {
        name: sum(isinstance(m, nn.MaxPool2d) for m in convzoo.create_model(name).modules())
        for name in EXPECTED
    }
    assert pools == {"allcnn_c": 0, "strided_cnn_c": 0, "convpool_cnn_c": 2}
    with torch.device("meta"):
        model = convzoo.create_model("allcnn_c")
    strided = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert [m.out_channels for m in strided] == [96, 192]


def test_dropout_on_input_and_after_downsampling():
    with torch.device("meta"):
        model = convzoo.create_model("allcnn_c")
    assert isinstance(model.stem, nn.Dropout) and model.stem.p == 0.2
    assert [getattr(stage, "dropout", None) is not None for stage in model.stages] == [
        True,
        True,
        False,
    ]
    assert model.stages.block1.dropout.p == 0.5
