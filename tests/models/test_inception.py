"""Inception-v3 (Szegedy et al. 2015), Inception-v4 and Inception-ResNet-v1/v2 (2016)."""

from functools import cache

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.inception import InceptionModule
from convzoo.models.base import AuxOutput
from convzoo.models.inception import Conv, InceptionResidual, Pool, Residual, Split
from tests.models.shapes import output_shapes


def count(name: str, **overrides) -> int:
    with torch.device("meta"):
        model = convzoo.create_model(name, **overrides)
    return sum(p.numel() for p in model.parameters())


@cache
def shapes(name: str) -> dict[str, tuple[int, ...]]:
    return output_shapes(name)


def test_exact_parameter_counts():
    assert count("inception_v3") == 27_161_264  # == torchvision inception_v3 (aux_logits=True)
    assert count("inception_v3", aux_logits=False) == 23_834_568  # == torchvision, no aux
    assert count("inception_v4") == 42_679_816  # == timm inception_v4
    assert count("inception_resnet_v1") == 22_756_328  # Figures 7, 10-14 (no twin)
    assert count("inception_resnet_v2") == 55_843_464  # == timm inception_resnet_v2


def test_inception_v3_against_the_abstract():
    # "5 billion multiply-adds ... less than 25 million parameters" (no exact numbers printed)
    assert count("inception_v3", aux_logits=False) < 25_000_000
    assert summary("inception_v3").total_macs == 5_713_216_096  # the released widths: 5.7G


def test_multiply_adds():
    assert summary("inception_v4").total_macs == 12_253_974_624
    assert summary("inception_resnet_v1").total_macs == 6_206_361_696
    assert summary("inception_resnet_v2").total_macs == 13_155_794_016


def test_inception_v3_shapes_match_table1():
    s = shapes("inception_v3")
    assert s["stem.conv1a"] == (1, 32, 149, 149)
    assert s["stem.conv2b"] == (1, 64, 147, 147)
    assert s["stem.pool5a"] == (1, 192, 35, 35)
    assert s["stages.mixed5"] == (1, 288, 35, 35)
    assert s["stages.mixed6.6a"] == (1, 768, 17, 17)
    assert s["stages.mixed6"] == (1, 768, 17, 17)
    assert s["stages.mixed7.7a"] == (1, 1280, 8, 8)
    assert s["stages.mixed7"] == (1, 2048, 8, 8)


def test_inception_v4_shapes_match_figures_3_and_9():
    s = shapes("inception_v4")
    assert s["stem.mixed_3a"] == (1, 160, 73, 73)
    assert s["stem.mixed_4a"] == (1, 192, 71, 71)
    assert s["stem"] == (1, 384, 35, 35)
    assert s["stages.inception_a"] == (1, 384, 35, 35)
    assert s["stages.inception_b.reduction_a"] == (1, 1024, 17, 17)
    assert s["stages.inception_b"] == (1, 1024, 17, 17)
    assert s["stages.inception_c.reduction_b"] == (1, 1536, 8, 8)
    assert s["stages.inception_c"] == (1, 1536, 8, 8)


def test_inception_resnet_shapes():
    v1 = shapes("inception_resnet_v1")  # Figures 14 and 15
    assert v1["stem"] == (1, 256, 35, 35)
    assert v1["stages.inception_resnet_b.reduction_a"] == (1, 896, 17, 17)
    assert v1["stages.inception_resnet_c.reduction_b"] == (1, 1792, 8, 8)
    assert v1["stages.inception_resnet_c"] == (1, 1792, 8, 8)
    v2 = shapes("inception_resnet_v2")  # as released
    assert v2["stem"] == (1, 320, 35, 35)
    assert v2["stages.inception_resnet_b"] == (1, 1088, 17, 17)
    assert v2["stages.inception_resnet_c.10"] == (1, 2080, 8, 8)
    assert v2["stages.inception_resnet_c"] == (1, 1536, 8, 8)


def test_block_counts_and_residual_scales():
    with torch.device("meta"):
        v1 = convzoo.create_model("inception_resnet_v1")
        v2 = convzoo.create_model("inception_resnet_v2")

    def residuals(model):
        return [
            [m.scale for m in stage if isinstance(m, InceptionResidual)] for stage in model.stages
        ]

    assert residuals(v1) == [[0.17] * 5, [0.10] * 10, [0.20] * 5]  # Figure 15: 5, 10, 5
    assert residuals(v2) == [[0.17] * 10, [0.10] * 20, [0.20] * 9 + [1.0]]  # as released
    assert isinstance(v2.stages.inception_resnet_c[-2].act, torch.nn.Identity)


def test_modules_are_the_shared_inception_block():
    with torch.device("meta"):
        v3 = convzoo.create_model("inception_v3")
        v4 = convzoo.create_model("inception_v4")
    assert isinstance(v3.stages.mixed5[0], InceptionModule)
    assert isinstance(v4.stages.inception_c[1].branch3x3[1], InceptionModule)  # the 1x3 || 3x1


def test_inception_v3_aux_head_in_training_only():
    with torch.device("meta"):
        model = convzoo.create_model("inception_v3", num_classes=10)
        x = torch.empty(2, 3, 299, 299)
    out = model.train()(x)
    assert isinstance(out, AuxOutput) and len(out.aux) == 1 and out.aux[0].shape == (2, 10)
    assert model.eval()(x).shape == (2, 10)
    model.reset_classifier(4)
    assert model.aux_heads["6e"].fc.out_features == 4
    with torch.device("meta"):
        without = convzoo.create_model("inception_v3", aux_logits=False)
    assert isinstance(without.train()(x), torch.Tensor)
    assert without.min_input_size == 75 and model.min_input_size == 299


@pytest.mark.parametrize("name", ["inception_v4", "inception_resnet_v1", "inception_resnet_v2"])
def test_no_aux_heads(name):
    with torch.device("meta"):
        model = convzoo.create_model(name).train()
        x = torch.empty(1, 3, 299, 299)
    assert isinstance(model(x), torch.Tensor)


def test_specs_are_validated():
    with pytest.raises(ValueError, match="stride 1 or 2"):
        Conv(64, 3, stride=3)
    with pytest.raises(ValueError, match="kind 'max' or 'avg'"):
        Pool("min")
    with pytest.raises(ValueError, match="out >= 1"):
        Split(0)
    with pytest.raises(ValueError, match="scale > 0"):
        Residual({"branch1x1": (Conv(32),)}, scale=0.0)
