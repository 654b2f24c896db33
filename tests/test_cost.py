"""The depthwise separable cost formulas (MobileNets, section 3.1), by hand and against
the multiply-adds `convzoo.summary` measures on MobileNet v1."""

import pytest

from convzoo.analysis.cost import (
    ConvCost,
    depthwise_separable_cost,
    separable_cost_ratio,
    standard_conv_cost,
)
from convzoo.analysis.summary import summary
from convzoo.cards import Reported
from convzoo.models.mobilenet import V1_BODY


def test_formulas_by_hand():
    # Dk=3, M=512, N=512, Df=14: the middle layers of MobileNet v1
    assert standard_conv_cost(3, 512, 512, 14) == ConvCost(
        3 * 3 * 512 * 512, 3 * 3 * 512 * 512 * 196
    )
    assert depthwise_separable_cost(3, 512, 512, 14) == ConvCost(
        3 * 3 * 512 + 512 * 512, (3 * 3 * 512 + 512 * 512) * 196
    )


@pytest.mark.parametrize(
    ("k", "m", "n", "side"), [(3, 32, 64, 112), (3, 512, 1024, 7), (5, 40, 80, 14)]
)
def test_ratio_is_one_over_n_plus_one_over_k_squared(k, m, n, side):
    separable, standard = depthwise_separable_cost(k, m, n, side), standard_conv_cost(k, m, n, side)
    assert separable.macs / standard.macs == pytest.approx(separable_cost_ratio(k, n))
    assert separable.params / standard.params == pytest.approx(1 / n + 1 / k**2)


def test_eight_to_nine_times_cheaper_with_3x3_kernels():
    # MobileNet v1's pointwise widths from 128 up: 8-9x fewer mult-adds
    for n in (128, 256, 512, 1024):
        assert 8 < 1 / separable_cost_ratio(3, n) < 9


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="expected positive integers"):
        standard_conv_cost(3, 0, 8, 7)
    with pytest.raises(ValueError, match="out_size"):
        depthwise_separable_cost(3, 8, 8, 2.5)


def _mobilenet_v1_layers():
    """(in, out, output side) of each separable layer of Table 1 at 224 px."""
    layers, channels, side = [], 32, 112
    for row in V1_BODY:
        for repeat in range(row.repeats):
            side //= row.stride if repeat == 0 else 1
            layers.append((channels, row.out_channels, side))
            channels = row.out_channels
    return layers


def test_formulas_match_measured_macs_layer_by_layer():
    rows = {r.name: r for r in summary("mobilenet_v1").rows}
    # rows come in network order; each separable layer owns a depthwise and a pointwise conv
    blocks = list(
        dict.fromkeys(
            n.removesuffix(".depthwise.conv") for n in rows if n.endswith(".depthwise.conv")
        )
    )
    layers = _mobilenet_v1_layers()
    assert len(blocks) == len(layers) == 13
    for block, (m, n, side) in zip(blocks, layers, strict=True):
        measured = rows[f"{block}.depthwise.conv"].macs + rows[f"{block}.pointwise.conv"].macs
        params = rows[f"{block}.depthwise.conv"].params + rows[f"{block}.pointwise.conv"].params
        assert ConvCost(params, measured) == depthwise_separable_cost(3, m, n, side)
    assert rows["stem.conv"].macs == standard_conv_cost(3, 3, 32, 112).macs


def test_whole_network_and_table_4_standard_conv_mobilenet():
    stem = standard_conv_cost(3, 3, 32, 112)
    fc = ConvCost(1024 * 1000 + 1000, 1024 * 1000)
    layers = _mobilenet_v1_layers()
    separable = sum((depthwise_separable_cost(3, m, n, s) for m, n, s in layers), stem)
    standard = sum((standard_conv_cost(3, m, n, s) for m, n, s in layers), stem)
    measured = summary("mobilenet_v1")
    assert measured.total_macs == (separable + fc).macs == 568_740_352  # Table 4: 569M
    # measured params add the batch norms' scale and shift (2 per channel) to the formula
    assert measured.total_params - (separable + fc).params == 21_888
    # Table 4, "Conv MobileNet" (standard 3x3 convs throughout): 29.3M params, 4866M mult-adds;
    # the printed mult-adds leave out the classifier's 1.024M (with it: 4867.3M)
    assert Reported("29.3M").agrees((standard + fc).params)
    assert Reported("4866M").agrees(standard.macs)
    assert not Reported("4866M").agrees((standard + fc).macs)
    assert standard.macs / separable.macs > 8.5
