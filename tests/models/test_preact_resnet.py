"""Pre-activation ResNet (He et al. 2016)."""

import pytest
import torch
from torch import nn

import convzoo
from tests.models._counts import meta_params

PARAMS = {
    "preact_resnet18": 11_687_720,  # == timm resnetv2_18
    "preact_resnet50": 25_549_352,  # == timm resnetv2_50
    "preact_resnet164": 1_703_258,  # measured here; Table 2: 1.7M
    "preact_resnet1001": 10_327_706,  # measured here; Table 2: 10.2M (see below)
}


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


def test_resnet164_agrees_with_table_2():
    assert convzoo.model_card("preact_resnet164").paper_params.agrees(PARAMS["preact_resnet164"])


def test_resnet1001_agrees_with_table_2_without_batch_norm_affine_parameters():
    """10,327,706 rounds to 10.3M; the 10.2M of Table 2 matches the conv and fc
    weights alone (149,216 of our parameters are BN scales and shifts)."""
    with torch.device("meta"):
        model = convzoo.create_model("preact_resnet1001")
    bn = sum(
        p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()
    )
    card = convzoo.model_card("preact_resnet1001")
    assert bn == 149_216
    assert not card.paper_params.agrees(PARAMS["preact_resnet1001"])
    assert card.paper_params.agrees(PARAMS["preact_resnet1001"] - bn)


def test_units_are_pre_activated_and_the_net_ends_with_bn_relu():
    with torch.device("meta"):
        model = convzoo.create_model("preact_resnet164")
    unit = model.stages.conv3_x[0]
    assert isinstance(unit.preact.norm, nn.BatchNorm2d)
    assert isinstance(unit.act, nn.Identity)  # nothing after the addition
    assert not hasattr(unit.conv3, "norm")  # the last conv is bare
    assert unit.shortcut_reads_preact  # the projection sees BN-ReLU(x)
    assert isinstance(model.final.norm, nn.BatchNorm2d)
    assert not hasattr(model.stem.conv1, "norm")


def test_cifar_stage_shapes():
    with torch.device("meta"):
        model = convzoo.create_model("preact_resnet164")
        outputs = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (16, 32, 32),
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
    ]
    assert [len(stage) for stage in model.stages] == [18, 18, 18]
