"""U-Net (Ronneberger et al. 2015): Fig. 1's shapes and size, the padded variant, and
U-Net decoders on registered classifiers. U-Net is not a classifier, so the registry-wide
contract tests skip it; its own contract checks are here."""

import pytest
import torch

import convzoo
from convzoo.models.base import FeatureExtractor
from convzoo.models.unet import (
    EncoderUNet,
    UNet,
    UNetConfig,
    nearest_accepted_size,
    unet_output_size,
)

# Fig. 1 counted layer by layer (the paper prints no total): 1 input channel, 2 classes.
UNET_PARAMS = 31_030_658


@pytest.mark.parametrize("name", ["unet", "unet_padded"])
def test_parameter_count(name):
    assert convzoo.summary(name).total_params == UNET_PARAMS


def test_fig1_shapes_572_to_388():
    s = convzoo.summary("unet")  # meta device: shapes without computing
    assert s.input_size == (1, 572, 572)
    assert s.output_shape == (1, 2, 388, 388)
    shapes = {row.name: row.output_shape for row in s.rows}
    # contracting path: after each level's two convs (Fig. 1)
    assert shapes["stem.conv2.conv"] == (1, 64, 568, 568)
    assert shapes["stages.down1.1.conv2.conv"] == (1, 128, 280, 280)
    assert shapes["stages.down2.1.conv2.conv"] == (1, 256, 136, 136)
    assert shapes["stages.down3.1.conv2.conv"] == (1, 512, 64, 64)
    assert shapes["stages.down4.1.conv2.conv"] == (1, 1024, 28, 28)
    # expanding path: up-conv doubles, two valid convs lose 4
    assert shapes["decoder.up1.upconv"] == (1, 512, 56, 56)
    assert shapes["decoder.up1.conv.conv2.conv"] == (1, 512, 52, 52)
    assert shapes["decoder.up2.conv.conv2.conv"] == (1, 256, 100, 100)
    assert shapes["decoder.up3.conv.conv2.conv"] == (1, 128, 196, 196)
    assert shapes["decoder.up4.conv.conv2.conv"] == (1, 64, 388, 388)


def test_output_size_rule():
    assert unet_output_size(572) == 388
    assert unet_output_size(188) == 4  # the smallest tile
    assert [s for s in range(100, 260) if unet_output_size(s)] == [188, 204, 220, 236, 252]
    assert unet_output_size(512, padding="same") == 512
    assert unet_output_size(8, padding="same") is None
    assert unet_output_size(100, padding="same") is None
    assert nearest_accepted_size(570) == 572 and nearest_accepted_size(100) == 188
    assert nearest_accepted_size(100, padding="same") == 96


@pytest.mark.parametrize("size", [(16, 16), (64, 96), (512, 512)])
def test_padded_output_has_the_input_size(size):
    with torch.device("meta"):
        model = convzoo.create_model("unet_padded", num_classes=5, in_channels=3)
        out = model(torch.empty(2, 3, *size))
    assert out.shape == (2, 5, *size)


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        ("unet", (1, 1, 570, 572), r"H, W = 188 \+ 16k .*nearest accepted size to 570: 572"),
        ("unet", (1, 1, 100, 100), r"H, W = 188 \+ 16k .*size to 100: 188"),  # too small
        ("unet", (1, 3, 572, 572), r"\(N, 1, H, W\) .*got \(1, 3, 572, 572\)"),  # channels
        ("unet", (1, 572, 572), r"\(N, 1, H, W\) .*got \(1, 572, 572\)"),  # rank
        ("unet_padded", (1, 1, 100, 96), r"multiples of 16 .*nearest accepted size to 100: 96"),
        ("unet_padded", (1, 1, 8, 8), r"multiples of 16 \(>= 16\)"),  # too small
    ],
)
def test_bad_input_raises_a_clear_error(name, shape, message):
    with torch.device("meta"):
        model = convzoo.create_model(name)
        with pytest.raises(ValueError, match=rf"{name} expects input .*{message}"):
            model(torch.empty(shape))


def _assert_trains(model, x):
    model.train()
    out = model(x)
    out.float().pow(2).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
    return out


def test_contract_forward_backward_every_parameter_gets_a_gradient():
    # the paper's topology at 1/8 of the width (the full one costs 16 GMACs at 188 px)
    narrow = UNet(UNetConfig(widths=(8, 16, 32, 64, 128), padding="valid"), num_classes=3)
    assert _assert_trains(narrow, torch.randn(2, 1, 188, 188)).shape == (2, 3, 4, 4)
    padded = convzoo.create_model("unet_padded", num_classes=3)
    assert _assert_trains(padded, torch.randn(2, 1, 16, 16)).shape == (2, 3, 16, 16)


def test_contract_surface_and_features():
    with torch.device("meta"):
        model = convzoo.create_model("unet")
        features = convzoo.create_model("unet", features_only=True)
        maps = features(torch.empty(1, 1, 572, 572))
    assert model.card.task == "segmentation"
    assert (model.in_channels, model.num_classes, model.default_input_size) == (1, 2, (572, 572))
    assert [(f.name, f.channels, f.stride) for f in model.feature_info] == [
        ("stem", 64, 1), ("down1", 128, 2), ("down2", 256, 4), ("down3", 512, 8),
        ("down4", 1024, 16),
    ]  # fmt: skip
    assert [tuple(m.shape[1:]) for m in maps] == [
        (64, 568, 568), (128, 280, 280), (256, 136, 136), (512, 64, 64), (1024, 28, 28)
    ]  # fmt: skip
    model.reset_classifier(4)
    assert model.head.fc.out_channels == 4 and model.num_classes == 4
    with torch.device("meta"):  # the common batch-norm variant: BN after every 3x3 conv
        bn = convzoo.create_model("unet_padded", batch_norm=True)
        assert bn(torch.empty(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules()) == 18


ENCODERS = ["vgg11", "regnetx_200mf", "resnet34", "mobilenet_v2", "efficientnet_b0"]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_from_encoder_shapes(encoder):
    with torch.device("meta"):
        model = UNet.from_encoder(encoder, num_classes=3, in_channels=4)
        assert isinstance(model, EncoderUNet) and isinstance(model.encoder, FeatureExtractor)
        for size in [(224, 224), (100, 130)]:
            assert model(torch.empty(2, 4, *size)).shape == (2, 3, *size)
    strides = [f.stride for f in model.feature_info]
    assert strides == sorted(set(strides)) and strides[-1] == 32
    # one decoder block per skip, plus one back to full resolution
    assert len(model.decoder) == len(model.feature_info)


def test_from_encoder_trains_and_checks_its_arguments():
    model = UNet.from_encoder("regnetx_200mf", num_classes=2)
    assert _assert_trains(model, torch.randn(2, 3, 64, 64)).shape == (2, 2, 64, 64)
    with pytest.raises(ValueError, match="decoder_channels needs 5 entries, got 2"):
        UNet.from_encoder("regnetx_200mf", num_classes=2, decoder_channels=(64, 32))
    with pytest.raises(ValueError, match="regnetx_200mf expects input"):
        model(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="unknown model 'resnet_34_typo'"):
        UNet.from_encoder("resnet_34_typo", num_classes=2)
