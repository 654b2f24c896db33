"""DenseNet (Huang et al. 2016)."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.models.densenet import cifar_layers
from tests.models._counts import meta_params

PARAMS = {
    "densenet121": 7_978_856,  # == torchvision densenet121
    "densenet161": 28_681_000,  # == torchvision densenet161
    "densenet169": 14_149_480,  # == torchvision densenet169
    "densenet201": 20_013_928,  # == torchvision densenet201
    "densenet264": 33_337_704,  # measured here (no twin; Table 1 column)
    "densenet40": 1_019_722,  # measured here; Table 2: 1.0M
    "densenet_bc100": 769_162,  # measured here; Table 2: 0.8M
    "densenet_bc250": 15_324_406,  # measured here; Table 2: 15.3M
    "densenet_bc190": 25_624_430,  # measured here; Table 2: 25.6M
}
CIFAR = ["densenet40", "densenet_bc100", "densenet_bc250", "densenet_bc190"]


@pytest.mark.parametrize(("name", "params"), PARAMS.items())
def test_exact_parameter_counts(name, params):
    assert meta_params(name) == params


@pytest.mark.parametrize("name", CIFAR)
def test_cifar_counts_agree_with_table_2(name):
    assert convzoo.model_card(name).paper_params.agrees(PARAMS[name])


def test_depth_rule():
    assert cifar_layers(40, bottleneck=False) == 12
    assert cifar_layers(100, bottleneck=True) == 16
    assert cifar_layers(190, bottleneck=True) == 31
    with pytest.raises(ValueError, match="depth"):
        cifar_layers(101, bottleneck=True)


def test_summary_shows_the_channels_growing_by_k():
    rows = [r for r in summary("densenet121").rows if r.type == "Concat"]
    block1 = [r.output_shape[1] for r in rows if ".dense_block1." in r.name]
    assert block1 == [64 + 32 * i for i in range(1, 7)]  # 96, 128, ..., 256
    block4 = [r.output_shape[1] for r in rows if ".dense_block4." in r.name]
    assert block4[-1] == 1024 and len(block4) == 16


def test_stage_shapes_with_compression():
    with torch.device("meta"):
        model = convzoo.create_model("densenet121")
        outputs = model.forward_stages(torch.empty(1, 3, 224, 224))
    names = [i.name for i in model.feature_info]
    assert names == [
        "stem",
        "dense_block1",
        "transition1",
        "dense_block2",
        "transition2",
        "dense_block3",
        "transition3",
        "dense_block4",
    ]
    assert [tuple(o.shape[1:]) for o in outputs] == [
        (64, 56, 56),
        (256, 56, 56),
        (128, 28, 28),
        (512, 28, 28),
        (256, 14, 14),
        (1024, 14, 14),
        (512, 7, 7),
        (1024, 7, 7),
    ]


def test_densenet40_has_no_bottleneck_or_compression():
    with torch.device("meta"):
        model = convzoo.create_model("densenet40")
        outputs = model.forward_stages(torch.empty(1, 3, 32, 32))
    assert [o.shape[1] for o in outputs] == [16, 160, 160, 304, 304, 448]
    assert isinstance(model.stages.dense_block1.layer1.bottleneck, torch.nn.Identity)
