"""U-Net: a contracting path for context, a symmetric expanding path for localization.

Ronneberger, Fischer, Brox (2015). U-Net: Convolutional Networks for Biomedical
Image Segmentation. arXiv:1505.04597. Fig. 1 and Section 2.

Contracting path: at each of five resolutions two unpadded ("valid") 3x3
convolutions with ReLU, then a 2x2/2 max-pool; channels 64, 128, 256, 512, 1024
(Fig. 1). Expanding path: a 2x2 up-convolution halves the channels and doubles
the resolution, the contracting path's map at that resolution is center-cropped
(valid convolutions lose a border) and concatenated, then two 3x3 convolutions.
A 1x1 convolution maps the 64 channels to the classes. A 572x572 tile gives a
388x388 map; the overlap-tile strategy (Fig. 2) segments larger images tile by
tile. Dropout (p=0.5) sits at the end of the contracting path (Section 3.1; we
apply it to the bottom map, the paper does not say more). Weights
start Gaussian with std sqrt(2 / fan_in) (Section 3).

``unet`` is Fig. 1 (31,030,658 parameters for one input channel and two
classes; the paper prints no count). ``unet_padded`` uses same padding, so the
output has the input's size and no cropping is needed; H and W must then be
multiples of 16 (four 2x2 pools).

`UNet.from_encoder(name)` puts a U-Net decoder on any registered classifier,
using its `features_only` stage maps as the skip connections (as segmentation
libraries' "encoder zoos" do); see `EncoderUNet`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.blocks.conv import ConvNormAct
from convzoo.models.base import (
    ConvNet,
    FeatureExtractor,
    FeatureInfo,
    init_weights_like_torchvision,
    new_output_layer,
)
from convzoo.registry import ModelCard, Paper, Recipe, register

__all__ = ["EncoderUNet", "UNet", "UNetConfig", "nearest_accepted_size", "unet_output_size"]


@dataclass(frozen=True)
class UNetConfig:
    """Fig. 1: the channels of each resolution level (the last is the bottom) and the padding."""

    widths: tuple[int, ...]
    padding: str  # "valid" (the paper) or "same"

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or min(self.widths) < 1 or self.padding not in ("valid", "same"):
            raise ValueError(f"UNetConfig needs >= 2 widths and padding valid|same, got {self}")

    @property
    def depth(self) -> int:
        return len(self.widths) - 1  # number of 2x2 pools


# Fig. 1: 64 -> 1024 channels over five levels, valid convolutions.
PAPER = UNetConfig(widths=(64, 128, 256, 512, 1024), padding="valid")
PADDED = UNetConfig(widths=(64, 128, 256, 512, 1024), padding="same")


def unet_output_size(size: int, *, depth: int = 4, padding: str = "valid") -> int | None:
    """The output side for an input side `size`, or None if the network cannot take it.

    Valid: every level loses 4 pixels to its two 3x3 convs; a pool needs an even
    size; every up-convolution doubles. Same: the size must divide by 2**depth.
    """
    if padding == "same":
        return size if size >= 2**depth and size % 2**depth == 0 else None
    for _ in range(depth):  # contracting path
        size -= 4
        if size <= 0 or size % 2:
            return None
        size //= 2
    size -= 4  # bottom
    for _ in range(depth):  # expanding path
        if size <= 0:
            return None
        size = 2 * size - 4
    return size if size > 0 else None


def nearest_accepted_size(size: int, *, depth: int = 4, padding: str = "valid") -> int:
    """The accepted input side closest to `size` (the smaller one on a tie)."""
    accepted = (
        s
        for s in range(1, 2 * size + 2**depth * 32)
        if unet_output_size(s, depth=depth, padding=padding)
    )
    return min(accepted, key=lambda s: (abs(s - size), s))


class DoubleConv(nn.Sequential):
    """Two 3x3 conv + ReLU (each level of Fig. 1)."""

    def __init__(self, in_channels: int, out_channels: int, *, padding: int, norm: Any) -> None:
        super().__init__()
        self.conv1 = ConvNormAct(in_channels, out_channels, 3, padding=padding, norm=norm)
        self.conv2 = ConvNormAct(out_channels, out_channels, 3, padding=padding, norm=norm)


def center_crop(x: Tensor, height: int, width: int) -> Tensor:
    """The central (height, width) window of `x` (the paper's crop before concatenation)."""
    top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
    return x[..., top : top + height, left : left + width]


class UpStage(nn.Module):
    """2x2 up-conv (halves channels), crop-and-concatenate the skip, two 3x3 convs.

    Without the skip (``skip=False``, the ablation of the paper's claim) the
    up-convolution's output goes straight into the two convolutions.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, padding: int, norm: Any, skip: bool = True
    ) -> None:
        super().__init__()
        self.skip = skip
        self.upconv = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)  # 2x H, W
        merged = 2 * out_channels if skip else out_channels
        self.conv = DoubleConv(merged, out_channels, padding=padding, norm=norm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.upconv(x)
        if not self.skip:
            return self.conv(x)
        skip = center_crop(skip, x.shape[-2], x.shape[-1])
        return self.conv(torch.cat([skip, x], dim=1))  # (N, 2 * out_channels, h, w)


class UNet(ConvNet):
    """Fig. 1: ``stem`` and ``down1``.. contract, ``decoder.up1``.. expand, ``head.fc`` is 1x1."""

    def __init__(
        self,
        config: UNetConfig,
        *,
        num_classes: int = 2,
        in_channels: int = 1,
        dropout: float = 0.5,
        batch_norm: bool = False,
        base_width: int = 64,
        skip_connections: bool = True,
    ) -> None:
        if base_width < 1:
            raise ValueError(f"base_width must be >= 1, got {base_width}")
        # a narrower net for laptops: every level scaled alike (64 = Fig. 1)
        scaled = tuple(w * base_width // config.widths[0] for w in config.widths)
        config = replace(config, widths=scaled)
        depth = config.depth
        smallest = nearest_accepted_size(1, depth=depth, padding=config.padding)
        super().__init__(
            in_channels,
            num_classes,
            default_input_size=(572, 572) if config.padding == "valid" else (512, 512),
            min_input_size=smallest,
        )
        self.config = config
        pad = 0 if config.padding == "valid" else 1
        norm = nn.BatchNorm2d if batch_norm else None
        widths = config.widths
        self.stem = DoubleConv(in_channels, widths[0], padding=pad, norm=norm)
        self.feature_info = [FeatureInfo("stem", widths[0], 1)]
        self.stages = nn.Sequential()
        for level in range(1, depth + 1):
            self.stages.add_module(
                f"down{level}",
                nn.Sequential(
                    nn.MaxPool2d(2),  # H/2
                    DoubleConv(widths[level - 1], widths[level], padding=pad, norm=norm),
                ),
            )
            # nominal stride: with valid convs each level's map is also a few pixels smaller
            self.feature_info.append(FeatureInfo(f"down{level}", widths[level], 2**level))
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Sequential()
        for level in range(depth, 0, -1):
            self.decoder.add_module(
                f"up{depth - level + 1}",
                UpStage(
                    widths[level], widths[level - 1], padding=pad, norm=norm, skip=skip_connections
                ),
            )
        self.head = nn.Sequential()
        self.head.fc = nn.Conv2d(widths[0], num_classes, 1)
        if self.head.fc.weight.device.type != "meta":
            self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():  # Section 3: std sqrt(2 / N), N = incoming nodes of a unit
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:  # convolutions followed by batch norm have none
                    nn.init.zeros_(m.bias)

    def expected_input(self) -> str:
        step, first = 2**self.config.depth, self.min_input_size
        if self.config.padding == "same":
            rule = f"multiples of {step} (>= {first})"
        else:  # valid convolutions: 572 = 188 + 16 * 24
            rule = f"= {first} + {step}k ({first}, {first + step}, ..., 572, ...)"
        return f"(N, {self.in_channels}, H, W) with H, W {rule}"

    def check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            super().check_input(x)  # raises: wrong rank or channels
        depth, padding = self.config.depth, self.config.padding
        for side in x.shape[-2:]:
            if unet_output_size(side, depth=depth, padding=padding) is None:
                near = nearest_accepted_size(side, depth=depth, padding=padding)
                raise ValueError(
                    f"{self.display_name} expects input {self.expected_input()}, got "
                    f"{tuple(x.shape)} (nearest accepted size to {side}: {near})"
                )

    def strip_to_backbone(self, num_stages: int) -> None:
        super().strip_to_backbone(num_stages)
        self.decoder = nn.Sequential()  # the backbone is the contracting path

    def forward_features(self, x: Tensor) -> Tensor:
        """The expanding path's last map: (N, 64, H_out, W_out)."""
        skips = self.forward_stages(x)  # stem, down1 .. down4
        x = self.dropout(skips.pop())
        for up in self.decoder:
            x = up(x, skips.pop())
        return x

    @classmethod
    def from_encoder(
        cls,
        name: str,
        *,
        num_classes: int = 2,
        in_channels: int = 3,
        decoder_channels: tuple[int, ...] | None = None,
        skip_connections: bool = True,
        **encoder_overrides: Any,
    ) -> EncoderUNet:
        """A U-Net decoder on the registered classifier `name` (e.g. "resnet34").

        The encoder is ``create_model(name, features_only=True)``; its stage maps
        (the last one of each stride) are the skip connections.
        """
        from convzoo.registry import create_model

        encoder = create_model(
            name, features_only=True, in_channels=in_channels, **encoder_overrides
        )
        return EncoderUNet(
            encoder,
            num_classes=num_classes,
            decoder_channels=decoder_channels,
            skip_connections=skip_connections,
        )


class DecoderBlock(nn.Module):
    """Upsample to the skip's size, concatenate it, two same-padded 3x3 conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DoubleConv(
            in_channels + skip_channels, out_channels, padding=1, norm=nn.BatchNorm2d
        )

    def forward(self, x: Tensor, skip: Tensor | None, size: tuple[int, int]) -> Tensor:
        x = F.interpolate(x, size=size, mode="nearest")  # to the skip's (or the input's) H, W
        if skip is not None:
            x = torch.cat([x, skip], dim=1)  # (N, in + skip channels, H, W)
        return self.conv(x)


class EncoderUNet(nn.Module):
    """A classifier's stages as the contracting path, a U-Net decoder on top.

    Skips are the last feature map of each stride >= 2 in the encoder's
    `feature_info`; every decoder block upsamples (nearest, to the skip's exact
    size, so any stride ratio and odd sizes work) and concatenates; a last block
    without a skip returns to the input resolution. The output has the input's H, W.
    The encoder's classifier head is removed: it would never get a gradient.
    """

    def __init__(
        self,
        encoder: FeatureExtractor,
        *,
        num_classes: int,
        decoder_channels: tuple[int, ...] | None = None,
        skip_connections: bool = True,
    ) -> None:
        super().__init__()
        info = encoder.feature_info
        last_of_stride = {f.stride: i for i, f in enumerate(info) if f.stride >= 2}
        self.skip_indices = sorted(last_of_stride.values(), key=lambda i: info[i].stride)
        if not self.skip_indices:
            raise ValueError(
                f"{encoder.card.name if encoder.card else 'encoder'} has no strided stages"
            )
        encoder.model.head = nn.Identity()
        self.encoder = encoder
        self.in_channels = encoder.in_channels
        self.num_classes = num_classes
        self.default_input_size = encoder.model.default_input_size
        self.feature_info = [info[i] for i in self.skip_indices]
        n_blocks = len(self.skip_indices)  # the deepest map has no skip; +1 back to full size
        channels = decoder_channels or tuple(max(16, 256 >> i) for i in range(n_blocks))
        if len(channels) != n_blocks:
            raise ValueError(f"decoder_channels needs {n_blocks} entries, got {len(channels)}")
        self.skip_connections = skip_connections
        skips = [f.channels if skip_connections else 0 for f in reversed(self.feature_info[:-1])]
        skips.append(0)
        self.decoder = nn.Sequential()
        width = self.feature_info[-1].channels
        for index, (skip, out) in enumerate(zip(skips, channels, strict=True), start=1):
            self.decoder.add_module(f"up{index}", DecoderBlock(width, skip, out))
            width = out
        self.head = nn.Sequential()
        self.head.fc = nn.Conv2d(width, num_classes, 1)
        init_weights_like_torchvision(self.decoder)
        init_weights_like_torchvision(self.head)

    def forward_features(self, x: Tensor) -> Tensor:
        features = self.encoder(x)  # checks the input
        skips = [features[i] for i in self.skip_indices]
        y = skips.pop()  # the deepest map
        for block in self.decoder:
            skip = skips.pop() if skips else None
            size = tuple((skip if skip is not None else x).shape[-2:])
            y = block(y, skip if self.skip_connections else None, size)
        return y  # (N, decoder_channels[-1], H, W)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.head.fc = new_output_layer(self.head.fc, num_classes)
        self.num_classes = num_classes


PAPER_2015 = Paper(
    title="U-Net: Convolutional Networks for Biomedical Image Segmentation",
    authors="Ronneberger, Fischer, Brox",
    year=2015,
    arxiv="1505.04597",
)
# Section 3 (training) and 3.1 (data augmentation).
RECIPE = Recipe(
    source="Sections 3 and 3.1",
    optimizer="sgd",  # Caffe's
    batch_size=1,  # one large tile per step instead of a large batch
    momentum=0.99,  # so that many earlier samples shape each update
    augmentation="shifts, rotations, gray-value changes and smooth elastic deformations "
    "(random displacements on a coarse 3x3 grid, std 10 px, bicubic interpolation)",
    init="Gaussian with std sqrt(2 / N), N the incoming nodes of a neuron",
    notes=(
        "drop-out layers at the end of the contracting path (rate not given)",
        "pixel-wise soft-max cross-entropy with a weight map that separates touching "
        "cells (w0 = 10, sigma ~ 5 px)",
    ),
    not_stated=("lr", "schedule", "epochs", "weight_decay", "dropout"),
)


def _card(name: str, *, padded: bool) -> ModelCard:
    return ModelCard(
        name=name,
        family="unet",
        paper=PAPER_2015,
        table="Fig. 1",
        key_ideas=(
            "A contracting path captures context; a symmetric expanding path with many "
            "channels brings it back to full resolution for precise localization.",
            "Skip connections concatenate the contracting path's high-resolution maps into "
            "the expanding path (cropped, since valid convolutions lose borders).",
            "Valid convolutions only: each output pixel sees full context, and the "
            "overlap-tile strategy segments arbitrarily large images (572 -> 388 tiles).",
            "Trains from very few images with elastic deformations, and a weighted loss "
            "that separates touching cells.",
        ),
        input_size=(1, 572, 572) if not padded else (1, 512, 512),
        recipe=RECIPE,
        dataset="ISBI 2012 EM segmentation",
        num_classes=2,
        task="segmentation",
        deviations=(
            ("same padding: output size = input size, no cropping (the paper: 572 -> 388)",)
            if padded
            else ()
        ),
    )


@register(_card("unet", padded=False))
def unet(**overrides) -> UNet:  # 31.0M params, 150.4G MACs, 572x572 -> 388x388
    return UNet(PAPER, **overrides)


@register(_card("unet_padded", padded=True))
def unet_padded(
    *, encoder: str | None = None, **overrides
) -> UNet | EncoderUNet:  # 31.0M params, 192.4G MACs at 512x512
    """``encoder=NAME`` puts the decoder on a registered classifier (`UNet.from_encoder`)."""
    if encoder is not None:
        return UNet.from_encoder(encoder, **overrides)
    return UNet(PADDED, **overrides)
