"""LeNet-5 (LeCun et al. 1998): Section II-B's parameter counts, Table I, Appendix A."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.models.lenet import C3_TABLE, LeNetConfig, PartialConv2d, ScaledTanh, Subsampling


def params_of(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_trainable_parameters_per_layer_are_the_papers():
    model = convzoo.create_model("lenet5")
    layers = {
        "C1": model.stages.c1,
        "S2": model.stages.s2,
        "C3": model.stages.c3,
        "S4": model.stages.s4,
        "C5": model.stages.c5,
        "F6": model.head.f6,
    }
    # Section II-B, layer by layer
    paper = {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120, "F6": 10_164}
    assert {name: params_of(layer) for name, layer in layers.items()} == paper
    assert sum(paper.values()) == 60_000
    # + our linear output layer: 84 * 10 + 10 (the paper's RBF centres are fixed bitmaps)
    assert params_of(model) == 60_850
    assert all(p.requires_grad for p in model.parameters())


def test_modern_variant_params_and_macs():
    result = summary("lenet5_modern")
    assert result.total_params == 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
    assert result.total_macs == 416_520  # C1 117,600 + C3 240,000 + C5 48,000 + F6/out 10,920
    assert result.output_shape == (1, 10)


def test_macs_plus_bias_inputs_are_the_papers_connections():
    rows = {r.name: r for r in summary("lenet5").rows}
    # "122,304 connections" for C1: 28*28*6 units, each with 25 inputs + a bias
    assert rows["stages.c1.conv"].macs + 28 * 28 * 6 == 122_304
    # C5 "has 48,120 trainable connections": its maps are 1x1, so one per weight
    assert rows["stages.c5.conv"].macs + 120 == 48_120
    c3_macs = sum(r.macs for name, r in rows.items() if name.startswith("stages.c3.conv"))
    assert c3_macs == 100 * 25 * (6 * 3 + 9 * 4 + 6)  # 10x10 maps, 60 table entries
    assert summary("lenet5").total_macs == 326_520


def test_layer_shapes_at_32x32():
    model = convzoo.create_model("lenet5")
    shapes = [tuple(x.shape[1:]) for x in model.forward_stages(torch.randn(1, 1, 32, 32))]
    assert shapes == [(1, 32, 32), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]
    assert model(torch.randn(3, 1, 32, 32)).shape == (3, 10)


def test_only_32x32_is_accepted():
    model = convzoo.create_model("lenet5")
    assert model.fixed_input_size
    with pytest.raises(
        ValueError, match=r"lenet5 expects input \(N, 1, 32, 32\), got \(1, 1, 28, 28\)"
    ):
        model(torch.randn(1, 1, 28, 28))  # raw MNIST: pad it to 32x32 as the paper does


def test_table_one_connections():
    # the paper's prose: contiguous triples, contiguous quadruples, three
    # non-contiguous quadruples, one map seeing all of S2
    assert [len(row) for row in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    for i, row in enumerate(C3_TABLE[:12]):
        start = i % 6
        assert row == tuple((start + k) % 6 for k in range(len(row))), row
    assert sum(len(row) for row in C3_TABLE) == 60
    # every S2 map feeds exactly 10 C3 maps (each row of Table I has ten X's)
    assert all(sum(j in row for row in C3_TABLE) == 10 for j in range(6))


def test_partial_conv_follows_the_table():
    layer = PartialConv2d(6, C3_TABLE, kernel_size=5)
    with torch.no_grad():
        for conv in layer.convs.values():
            conv.weight.fill_(1.0)
            conv.bias.zero_()
    for source in range(6):
        x = torch.zeros(1, 6, 14, 14)
        x[:, source] = 1.0
        reached = layer(x).flatten(2).abs().sum(-1)[0] > 0
        expected = torch.tensor([source in row for row in C3_TABLE])
        assert torch.equal(reached, expected), source


def test_partial_conv_restores_map_order_for_any_table():
    table = ((0, 1, 2), (1,), (0, 2), (2,))  # fan-ins interleaved
    layer = PartialConv2d(3, table, kernel_size=1)
    with torch.no_grad():
        for conv in layer.convs.values():
            conv.weight.fill_(1.0)
            conv.bias.zero_()
    x = torch.tensor([1.0, 10.0, 100.0]).view(1, 3, 1, 1)
    assert layer(x).flatten().tolist() == [111.0, 10.0, 101.0, 100.0]
    with pytest.raises(ValueError, match=r"must name input maps 0\.\.2"):
        PartialConv2d(3, ((0, 3),), kernel_size=1)


def test_subsampling_is_coefficient_times_sum_plus_bias():
    layer = Subsampling(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -1.0]))
        layer.bias.copy_(torch.tensor([1.0, 2.0]))
    x = torch.arange(32, dtype=torch.float32).view(1, 2, 4, 4)
    out = layer(x)
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0, 0, 0] == 0.5 * (0 + 1 + 4 + 5) + 1.0
    assert out[0, 1, 1, 1] == -1.0 * (26 + 27 + 30 + 31) + 2.0


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    f = ScaledTanh()
    values = f(torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.allclose(values, torch.tensor([-1.0, 0.0, 1.0]), atol=1e-4)
    assert f(torch.tensor(100.0)).item() == pytest.approx(1.7159)


def test_paper_initialisation_bounds():
    model = convzoo.create_model("lenet5")
    assert model.stages.c5.conv.weight.abs().max() <= 2.4 / 400  # fan-in 16 * 5 * 5
    assert model.head.f6.weight.abs().max() <= 2.4 / 120


def test_config_is_validated():
    with pytest.raises(ValueError, match="one row per C3 map"):
        LeNetConfig(c3_table=C3_TABLE[:5])


def test_reset_classifier():
    model = convzoo.create_model("lenet5")
    model.reset_classifier(26)
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 26)
