"""`features_only` backbones of every registered network: lean, exact, selectable."""

from collections import OrderedDict

import pytest
import torch

import convzoo
from convzoo.analysis.meta import _SkipMetaInit
from convzoo.models.base import FeatureExtractor
from tests.helpers import heavy, meta_facts, small_input

ALL = convzoo.list_models()
CLASSIFIERS = [n for n in ALL if convzoo.model_card(n).task == "classification"]


def _backbone_input(backbone: FeatureExtractor, batch: int = 2) -> torch.Tensor:
    """The smallest input the backbone accepts (U-Net: the smallest valid tile)."""
    model = backbone.model
    side = model.default_input_size[0] if model.fixed_input_size else model.min_input_size
    return torch.randn(batch, model.in_channels, side, side)


# heavy networks: on the CPU in the slow suite, on the meta device (gradients exist) by default
REAL = [pytest.param(n, "cpu", marks=pytest.mark.slow if heavy(n) else (), id=n) for n in ALL]
META = [pytest.param(n, "meta", id=f"{n}-meta") for n in ALL if heavy(n)]


@pytest.mark.parametrize(("name", "device"), REAL + META)
def test_backbone_every_parameter_learns_and_last_map_is_forward_features(name, device):
    """One classifier, one pass each way: its forward_features, then the same weights as
    `create_model(name, features_only=True)` builds them (train mode, same dropout draws)."""
    with torch.device(device):
        model = convzoo.create_model(name)
    keys = set(model.state_dict())
    x = small_input(model).to(device)
    model.train()
    classifier = name in CLASSIFIERS  # U-Net's forward_features is its decoder's output
    if classifier:
        with torch.no_grad():
            torch.manual_seed(1)
            want = model.forward_features(x)
    backbone = FeatureExtractor(model)  # what create_model(name, features_only=True) returns
    assert set(backbone.model.state_dict()) <= keys, "the backbone keeps the classifier's keys"
    torch.manual_seed(1)
    maps = backbone(x)
    assert [m.shape[1] for m in maps] == backbone.feature_info.channels()
    sum(m.float().square().mean() for m in maps).backward()
    unused = [n for n, p in backbone.named_parameters() if p.grad is None]
    assert not unused, f"parameters with no gradient: {unused[:5]}"
    if classifier and device == "cpu":  # meta tensors carry shapes, not values
        assert torch.equal(maps[-1], want)


@pytest.mark.parametrize("name", ALL)
def test_out_indices_keep_only_the_stages_asked_for(name):
    with torch.device("meta"), _SkipMetaInit():
        n_params, info = meta_facts(name)
        out_indices = (1, 2) if len(info) > 3 else (0, 1)
        cut = convzoo.create_model(name, features_only=True, out_indices=out_indices)
        maps = cut(_backbone_input(cut).to("meta"))
    assert cut.out_indices == out_indices
    assert cut.feature_info == [info[i] for i in out_indices]
    assert [m.shape[1] for m in maps] == cut.feature_info.channels()
    assert len(cut.model.stages) == out_indices[-1]  # feature i is the output of stage i
    assert sum(p.numel() for p in cut.parameters()) < n_params


def test_out_indices_negative_and_helpers():
    backbone = convzoo.create_model("resnet18", features_only=True, out_indices=(2, 3, -1))
    assert backbone.out_indices == (2, 3, 4)
    assert backbone.feature_info.channels() == [128, 256, 512]
    assert backbone.feature_info.reductions() == [8, 16, 32]
    assert backbone.feature_info.names() == ["conv3_x", "conv4_x", "conv5_x"]
    maps = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(m.shape[1:]) for m in maps] == [(128, 8, 8), (256, 4, 4), (512, 2, 2)]


@pytest.mark.parametrize(
    ("out_indices", "message"),
    [
        ((5,), r"out_indices \[5\] out of range for resnet18.*0=stem, 1=conv2_x"),
        ((3, 2), "increasing without repeats"),
        ((2, 2), "increasing without repeats"),
        ((), "out_indices is empty"),
        (3, "sequence of ints"),
        (("conv3_x",), "sequence of ints"),
    ],
)
def test_bad_out_indices_say_what_is_available(out_indices, message):
    with pytest.raises(ValueError, match=message):
        convzoo.create_model("resnet18", features_only=True, out_indices=out_indices)


def test_out_indices_needs_features_only():
    with pytest.raises(ValueError, match="needs features_only=True"):
        convzoo.create_model("resnet18", out_indices=(2, 3))


@pytest.mark.parametrize("name", ["googlenet", "googlenet_bn", "inception_v3"])
def test_backbone_drops_auxiliary_heads_and_their_size_limit(name):
    with torch.device("meta"):
        backbone = convzoo.create_model(name, features_only=True)
    assert len(backbone.model.aux_heads) == 0
    assert backbone.model.min_input_size < convzoo.create_model(name).min_input_size


def test_unet_backbone_is_the_contracting_path():
    with torch.device("meta"):
        backbone = convzoo.create_model("unet", features_only=True)
        unet = convzoo.create_model("unet")
    decoder = sum(p.numel() for p in unet.decoder.parameters())
    assert decoder > 0 and not list(backbone.model.decoder.parameters())
    head = sum(p.numel() for p in unet.head.parameters())
    total = sum(p.numel() for p in unet.parameters())
    assert sum(p.numel() for p in backbone.parameters()) == total - decoder - head


@pytest.mark.parametrize("name", ["densenet121", "preact_resnet18", "wrn40_4"])
def test_final_bn_relu_is_dropped_with_the_last_stage(name):
    with torch.device("meta"):
        n = len(convzoo.create_model(name).feature_info)
        whole = convzoo.create_model(name, features_only=True, out_indices=(n - 1,))
        cut = convzoo.create_model(name, features_only=True, out_indices=(n - 2,))
    assert list(whole.model.final.parameters()), "the last map ends with the final BN-ReLU"
    assert not list(cut.model.final.parameters())


@pytest.mark.parametrize(
    ("name", "out_indices"),
    [("resnet18", (2, 3, 4)), ("densenet121", (3, 5, 7)), ("mobilenet_v2", (3, 4, 6))],
)
def test_feature_pyramid_network_on_three_families(name, out_indices):
    """docs/backbones.md: torchvision's FPN on the maps, one training step end to end."""
    from torchvision.ops import FeaturePyramidNetwork

    backbone = convzoo.create_model(name, features_only=True, out_indices=out_indices)
    info = backbone.feature_info
    assert info.reductions() == [8, 16, 32]
    fpn = FeaturePyramidNetwork(info.channels(), out_channels=32)
    maps = backbone(torch.randn(2, 3, 64, 64))
    pyramid = fpn(OrderedDict(zip(info.names(), maps, strict=True)))
    assert [tuple(p.shape) for p in pyramid.values()] == [
        (2, 32, 8, 8),
        (2, 32, 4, 4),
        (2, 32, 2, 2),
    ]
    sum(p.square().mean() for p in pyramid.values()).backward()
    for module in (backbone, fpn):
        assert all(p.grad is not None for p in module.parameters())
