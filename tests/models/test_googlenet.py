"""GoogLeNet (Szegedy et al. 2014), torchvision's BN GoogLeNet and BN-Inception."""

from functools import cache

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.inception import InceptionModule
from convzoo.models.base import AuxOutput
from convzoo.models.googlenet import InceptionRow
from tests.models.shapes import output_shapes


def count(name: str, **overrides) -> int:
    with torch.device("meta"):
        model = convzoo.create_model(name, **overrides)
    return sum(p.numel() for p in model.parameters())


@cache
def shapes(name: str) -> dict[str, tuple[int, ...]]:
    return output_shapes(name)


def test_exact_parameter_counts():
    # Table 1's widths with true 5x5 branches and biases, no batch norm
    assert count("googlenet", aux_logits=False) == 6_998_552
    assert count("googlenet") == 13_378_280  # + two aux heads of 3,189,864 each
    assert count("googlenet_bn", aux_logits=False) == 6_624_904  # == torchvision googlenet
    assert count("googlenet_bn") == 13_004_888  # == torchvision googlenet(aux_logits=True)
    assert count("bn_inception") == 11_285_224  # Figure 5's branch widths


def test_googlenet_macs_against_the_paper():
    card = convzoo.model_card("googlenet")
    result = summary("googlenet")
    rows = {row.name: row.macs for row in result.rows}
    total = result.total_macs
    assert total == 1_582_671_872
    # Table 1 books conv1 at 34M ops, a 7x7x3x64 conv at 112x112 costs 118M
    assert rows["stem.conv1.conv"] == 9_408 * 112 * 112
    assert card.paper_macs.agrees(total - rows["stem.conv1.conv"] + 34e6)
    assert not card.paper_macs.agrees(total)


def test_googlenet_stage_shapes_match_table1():
    s = shapes("googlenet")
    assert s["stem"] == (1, 192, 28, 28)
    assert s["stages.inception3.3a"] == (1, 256, 28, 28)
    assert s["stages.inception3.3b"] == (1, 480, 28, 28)
    assert s["stages.inception4.4a"] == (1, 512, 14, 14)
    assert s["stages.inception4.4d"] == (1, 528, 14, 14)
    assert s["stages.inception4.4e"] == (1, 832, 14, 14)
    assert s["stages.inception5.5a"] == (1, 832, 7, 7)
    assert s["stages.inception5.5b"] == (1, 1024, 7, 7)


def test_bn_inception_stage_shapes_follow_figure5_widths():
    s = shapes("bn_inception")
    expected = {
        "3a": (256, 28),
        "3b": (320, 28),
        "3c": (576, 14),
        "4a": (576, 14),
        "4b": (576, 14),
        "4c": (608, 14),  # Figure 5 prints 576; its branch widths sum to 608
        "4d": (608, 14),
        "4e": (1056, 7),  # printed 1024; 192 + 256 + 608 pass-through
        "5a": (1024, 7),
        "5b": (1024, 7),
    }
    got = {
        k.rsplit(".", 1)[1]: (v[1], v[2])
        for k, v in s.items()
        if k.count(".") == 2 and k.rsplit(".", 1)[1] in expected
    }
    assert got == expected


def test_inception_modules_are_the_shared_block():
    with torch.device("meta"):
        model = convzoo.create_model("googlenet")
    module = model.stages.inception3[0]
    assert isinstance(module, InceptionModule)
    assert [n for n, _ in module.named_children()] == [
        "branch1x1",
        "branch3x3",
        "branch5x5",
        "branch_pool",
    ]
    assert module.branch5x5[1].conv.kernel_size == (5, 5)
    with torch.device("meta"):
        bn = convzoo.create_model("googlenet_bn")
    assert bn.stages.inception3[0].branch5x5[1].conv.kernel_size == (3, 3)


@pytest.mark.parametrize(("name", "n_aux"), [("googlenet", 2), ("googlenet_bn", 2)])
def test_aux_logits_in_training_only(name, n_aux):
    with torch.device("meta"):
        model = convzoo.create_model(name, num_classes=10)
        x = torch.empty(2, 3, 224, 224)
    out = model.train()(x)
    assert isinstance(out, AuxOutput)
    assert out.logits.shape == (2, 10) and len(out.aux) == n_aux
    assert all(a.shape == (2, 10) for a in out.aux)
    plain = model.eval()(x)
    assert isinstance(plain, torch.Tensor) and plain.shape == (2, 10)
    with torch.device("meta"):
        without = convzoo.create_model(name, aux_logits=False)
    assert isinstance(without.train()(x), torch.Tensor)
    assert len(without.aux_heads) == 0


def test_aux_heads_on_a_real_input_at_the_minimum_size():
    model = convzoo.create_model("googlenet", num_classes=5).train()
    out = model(torch.randn(1, 3, model.min_input_size, model.min_input_size))
    assert len(out.aux) == 2 and out.aux[0].shape == (1, 5)


def test_reset_classifier_resets_aux_heads():
    with torch.device("meta"):
        model = convzoo.create_model("googlenet")
    model.reset_classifier(7)
    assert model.head.fc.out_features == 7
    assert [h.fc.out_features for h in model.aux_heads.values()] == [7, 7]


def test_rows_are_validated():
    row = {"n1x1": 64, "r3x3": 96, "n3x3": 128, "r5x5": 16, "n5x5": 32, "proj": 32}
    with pytest.raises(ValueError, match="widths >= 1"):
        InceptionRow("3a", **{**row, "r3x3": 0})
    with pytest.raises(ValueError, match="stride 1 or 2"):
        InceptionRow("3a", **row, stride=3)
    with pytest.raises(ValueError, match="pool must be"):
        InceptionRow("3a", **row, pool="min")
