"""The controlled variants of `convzoo reproduce`: counts, switches, paper numbers."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.models.ablation import small_resnext_config
from convzoo.models.modernize import STEPS, modernize_config


def params(name: str, **kwargs) -> int:
    with torch.device("meta"):
        model = convzoo.create_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 103_466),
        ({"kernel": "3x3x2"}, 297_450),
        ({"kernel": "5x5"}, 283_690),
        ({"norm": "none"}, 103_210),  # 2 x 256 BN weights -> 256 conv biases
    ],
)
def test_ablation_cnn_counts(kwargs, expected):
    assert params("ablation_cnn", **kwargs) == expected  # measured here, fixed as regression


def test_ablation_cnn_switches_change_only_what_they_name():
    base = convzoo.create_model("ablation_cnn")
    tanh = convzoo.create_model("ablation_cnn", act="tanh")
    assert sum(isinstance(m, torch.nn.Tanh) for m in tanh.modules()) == 4
    assert not any(isinstance(m, torch.nn.Tanh) for m in base.modules())
    lrn = convzoo.create_model("ablation_cnn", lrn=True)
    assert isinstance(lrn.stem[1], torch.nn.LocalResponseNorm)
    with pytest.raises(ValueError, match="kernel must be one of"):
        convzoo.create_model("ablation_cnn", kernel="7x7")


def test_conv_mobilenet_matches_table_4():
    card = convzoo.model_card("ablation_mobilenet_v1_conv")
    assert params("ablation_mobilenet_v1_conv") == 29_294_088
    assert card.paper_params.agrees(29_294_088)  # "29.3M"
    s = summary("ablation_mobilenet_v1_conv", (3, 224, 224))
    fc = next(r for r in s.rows if r.name == "head.fc")
    assert card.paper_macs.agrees(s.total_macs - fc.macs)  # "4866M", without the classifier


def test_inception_reductions_cut_the_cost():
    naive = summary("ablation_inception", (1, 28, 28), rows=False, reduce=False)
    reduced = summary("ablation_inception", (1, 28, 28), rows=False, reduce=True)
    assert (naive.total_params, reduced.total_params) == (163_210, 37_714)
    assert reduced.total_macs < naive.total_macs / 3


def test_resnext_arms_cost_the_same():
    counts = [params("ablation_resnext", cardinality=c, group_width=d) for c, d in
              ((1, 16), (2, 10), (4, 6))]  # fmt: skip
    assert counts == [312_826, 310_914, 309_002]
    with pytest.raises(ValueError, match="cardinality and group_width"):
        small_resnext_config(0, 4)


def test_modernize_steps_are_cumulative():
    assert [params("ablation_modernize", step=k) for k in range(len(STEPS))] == [
        640_650, 693_258, 693_002, 548_946, 595_906, 597_562, 670_138,
    ]  # fmt: skip
    first, last = modernize_config(0), modernize_config(len(STEPS) - 1)
    assert (first.depths, first.kernel, first.layer_norm) == ((1, 2, 2, 1), 3, False)
    assert (last.depths, last.kernel, last.layer_norm) == ((1, 1, 3, 1), 7, True)
    assert last.mids == tuple(4 * w for w in last.widths)  # inverted bottleneck
    with pytest.raises(ValueError, match=r"step must be in 0\.\.6"):
        modernize_config(7)
