"""AlexNet: the 2012 two-tower network and the 2014 one-tower twin of torchvision."""

import pytest
import torch
from torch import nn

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.norm import response_norm
from convzoo.models.alexnet import ConvLayer


def output_sides(name: str, module_type: type[nn.Module]) -> list[int]:
    return [r.output_shape[-1] for r in summary(name).rows if r.type == module_type.__name__]


def test_alexnet_2012_params():
    result = summary("alexnet")
    # by hand: convs 34,944 + 307,456 + 885,120 + 663,936 + 442,624 (groups=2 halve conv2,4,5)
    #          fcs 37,752,832 + 16,781,312 + 4,097,000
    assert result.total_params == 60_965_224
    card = convzoo.model_card("alexnet")
    # the abstract's "60 million parameters" is a round figure: 61.0M is 1.6% above it,
    # outside the +-0.5M a literal "60M" would allow
    assert card.paper_params.text == "60M"
    assert not card.paper_params.agrees(result.total_params)
    assert abs(result.total_params - 60e6) / 60e6 < 0.02
    assert result.total_macs == 724_406_816  # measured, convzoo.summary at 227x227


def test_alexnet_2012_map_sizes():
    # Fig. 2: 55x55 conv1 maps, pooled to 27, 13 and finally 6
    assert output_sides("alexnet", nn.Conv2d) == [55, 27, 13, 13, 13]
    assert output_sides("alexnet", nn.MaxPool2d) == [27, 13, 6]
    with torch.device("meta"):
        model = convzoo.create_model("alexnet")
        shapes = [tuple(x.shape[1:]) for x in model.forward_stages(torch.empty(1, 3, 227, 227))]
    assert shapes[1:] == [(96, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13), (256, 6, 6)]


def test_two_towers_are_groups_of_two():
    with torch.device("meta"):
        model = convzoo.create_model("alexnet")
    groups = [stage.conv.groups for stage in model.stages]
    assert groups == [1, 2, 1, 2, 2]  # conv3 reads both GPUs' maps
    assert model.stages.conv2.conv.weight.shape == (256, 48, 5, 5)  # 48 = 96 / 2 per tower
    assert model.stages.conv3.conv.weight.shape == (384, 256, 3, 3)
    # LRN after conv1/conv2's ReLU, then pooling
    assert list(model.stages.conv1) == [
        model.stages.conv1.conv,
        model.stages.conv1.act,
        model.stages.conv1.lrn,
        model.stages.conv1.pool,
    ]
    assert not hasattr(model.stages.conv3, "lrn")


def paper_lrn(x, k=2.0, n=5, alpha=1e-4, beta=0.75):
    """Section 3.3: b = a / (k + alpha * sum of a^2 over n neighbouring maps)^beta."""
    squares = torch.nn.functional.pad(x.pow(2), (0, 0, 0, 0, n // 2, n // 2))
    sums = torch.stack([squares[:, c : c + n].sum(1) for c in range(x.shape[1])], dim=1)
    return x / (k + alpha * sums).pow(beta)


def test_response_norm_is_the_papers_formula():
    x = 30 * torch.randn(2, 12, 5, 5)  # large enough that the sum term matters
    assert torch.allclose(response_norm()(x), paper_lrn(x), rtol=1e-5, atol=1e-5)
    # torch's own alpha is divided by n: passing 1e-4 there would be 5x weaker
    weaker = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(x)
    assert not torch.allclose(weaker, paper_lrn(x), rtol=1e-3)


def test_paper_initialisation():
    model = convzoo.create_model("alexnet")
    biases = [stage.conv.bias.unique().tolist() for stage in model.stages]
    assert biases == [[0.0], [1.0], [0.0], [1.0], [1.0]]  # Section 5
    assert model.head.fc6.bias.unique().tolist() == [1.0]
    assert model.head.fc.bias.unique().tolist() == [0.0]
    assert model.stages.conv1.conv.weight.std().item() == pytest.approx(0.01, rel=0.05)


def test_alexnet_v2_is_torchvisions_alexnet():
    result = summary("alexnet_v2")
    assert result.total_params == 61_100_840  # == torchvision alexnet
    assert result.total_macs == 714_188_480  # measured, convzoo.summary at 224x224
    assert output_sides("alexnet_v2", nn.MaxPool2d) == [27, 13, 6]
    (twin,) = convzoo.model_card("alexnet_v2").twins
    assert str(twin) == "torchvision:alexnet"


def test_smallest_inputs_run_and_other_sizes_reach_the_head():
    for name, smallest in (("alexnet", 67), ("alexnet_v2", 63)):
        with torch.device("meta"):
            model = convzoo.create_model(name).eval()
            assert model.min_input_size == smallest
            assert model(torch.empty(1, 3, smallest, smallest)).shape == (1, 1000)
            assert model(torch.empty(1, 3, 300, 260)).shape == (1, 1000)
            with pytest.raises(ValueError, match=f"{name} expects input"):
                model(torch.empty(1, 3, smallest - 1, smallest - 1))


def test_config_rows_are_validated():
    with pytest.raises(ValueError, match="divisible by groups"):
        ConvLayer(out_channels=95, kernel_size=3, groups=2)
