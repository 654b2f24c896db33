"""A small ResNet moved step by step towards ConvNeXt, for the modernisation experiment.

Liu, Mao, Wu, Feichtenhofer, Darrell, Xie (2022). A ConvNet for the 2020s.
arXiv:2201.03545. Figure 2 walks a ResNet-50 to ConvNeXt-T one design decision at a
time; ``ablation_modernize(step=k)`` applies the first k of these decisions (cumulative)
to a bottleneck ResNet sized for 28x28 images:

0. ``resnet``        bottleneck blocks (1x1, 3x3, 1x1; BN, ReLU), outputs 64-128-256-512
                     (a quarter of that inside), depths 1-2-2-1, a 3x3 stem + 2x2 max-pool
1. ``stage_ratio``   depths 1-1-3-1 (Swin's 1:1:3:1; ResNet-50's 3-4-6-3 becomes 3-3-9-3)
2. ``patchify``      the stem is one 2x2 stride-2 convolution ("patchify", 4x4 s4 at 224 px)
3. ``depthwise``     the 3x3 is depthwise (groups = channels) and 1.5x wider
                     (ResNeXt-ify: 64 -> 96 in the paper)
4. ``inverted``      inverted bottleneck: the residual stream takes the 3x3's width (24-192)
                     and the block expands it 4x around the depthwise 3x3
5. ``large_kernel``  the depthwise conv moves to the top of the block and grows to 7x7; one
                     norm (after it) and one activation (after the expansion) per block
6. ``ln_gelu``       LayerNorm instead of BN, GELU instead of ReLU, LN before each
                     downsampling conv (the last steps of Fig. 2)

Deviations: sized for 28x28 (stem stride 2, stages at 14, 7, 4, 2 px); downsampling is
a separate stride-2 layer between stages at every step (a 1x1 conv + norm for the ResNet
steps, LN + 2x2 conv for the last one) rather than inside the first block; no stochastic
depth or layer scale (the paper's training-recipe step is not an architecture change).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from convzoo.blocks.head import ClassifierHead
from convzoo.models.ablation import ABLATION_RECIPE
from convzoo.models.base import ConvNet, FeatureInfo, init_weights_like_torchvision
from convzoo.models.convnext import PAPER as CONVNEXT_PAPER
from convzoo.models.convnext import LayerNorm2d
from convzoo.registry import ModelCard, register

__all__ = ["STEPS", "ModernizeConfig", "ModernizedNet", "modernize_config"]

STEPS = ("resnet", "stage_ratio", "patchify", "depthwise", "inverted", "large_kernel", "ln_gelu")


@dataclass(frozen=True)
class ModernizeConfig:
    """The design decisions in force after a given step."""

    depths: tuple[int, int, int, int]
    widths: tuple[int, int, int, int]  # the residual stream of each stage
    mids: tuple[int, int, int, int]  # the width inside each block (bottleneck or expansion)
    patchify: bool
    depthwise: bool
    kernel: int
    dw_first: bool
    layer_norm: bool  # and GELU


RESNET_WIDTHS = (64, 128, 256, 512)  # bottleneck outputs; inside, a quarter of that


def modernize_config(step: int) -> ModernizeConfig:
    """Steps 0..6 of the module docstring, cumulative."""
    if not 0 <= step < len(STEPS):
        raise ValueError(f"step must be in 0..{len(STEPS) - 1} ({', '.join(STEPS)}), got {step}")
    widths, mids = RESNET_WIDTHS, tuple(w // 4 for w in RESNET_WIDTHS)
    if step >= 3:  # ResNeXt-ify: the (now depthwise) 3x3 is 1.5x wider, 64 -> 96 in the paper
        mids = tuple(m * 3 // 2 for m in mids)
    if step >= 4:  # inverted: the residual stream takes the 3x3's width, the inside expands 4x
        widths, mids = mids, tuple(4 * m for m in mids)
    return ModernizeConfig(
        depths=(1, 1, 3, 1) if step >= 1 else (1, 2, 2, 1),
        widths=widths,
        mids=mids,
        patchify=step >= 2,
        depthwise=step >= 3,
        kernel=7 if step >= 5 else 3,
        dw_first=step >= 5,
        layer_norm=step >= 6,
    )


class ModernBlock(nn.Module):
    """One residual block in the layout the config's step calls for."""

    def __init__(self, channels: int, mid: int, cfg: ModernizeConfig) -> None:
        super().__init__()
        norm = (lambda c: LayerNorm2d(c, eps=1e-6)) if cfg.layer_norm else nn.BatchNorm2d
        act = nn.GELU if cfg.layer_norm else nn.ReLU
        k = cfg.kernel
        if cfg.dw_first:  # ConvNeXt: depthwise k x k -> norm -> 1x1 expand -> act -> 1x1
            layers = [
                nn.Conv2d(channels, channels, k, padding=k // 2, groups=channels),
                norm(channels),
                nn.Conv2d(channels, mid, 1),
                act(),
                nn.Conv2d(mid, channels, 1),
            ]
        else:  # ResNet bottleneck (possibly depthwise and/or inverted)
            groups = mid if cfg.depthwise else 1
            layers = [
                nn.Conv2d(channels, mid, 1, bias=False),
                norm(mid),
                act(),
                nn.Conv2d(mid, mid, k, padding=k // 2, groups=groups, bias=False),
                norm(mid),
                act(),
                nn.Conv2d(mid, channels, 1, bias=False),
                norm(channels),
            ]
        self.body = nn.Sequential(*layers)
        # ResNet adds and then activates; ConvNeXt leaves the sum alone
        self.act = nn.Identity() if cfg.dw_first else act()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.body(x))


def _downsample(cin: int, cout: int, cfg: ModernizeConfig) -> nn.Sequential:
    if cfg.layer_norm:  # ConvNeXt: LN, then a 2x2 stride-2 conv
        return nn.Sequential(LayerNorm2d(cin, eps=1e-6), nn.Conv2d(cin, cout, 2, stride=2))
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))


class ModernizedNet(ConvNet):
    """stem (stride 2) -> four stages (downsample between them) -> GAP head."""

    def __init__(self, cfg: ModernizeConfig, *, num_classes: int = 10, in_channels: int = 1):
        super().__init__(in_channels, num_classes, default_input_size=(28, 28), min_input_size=16)
        w0 = cfg.widths[0]
        if cfg.patchify:  # non-overlapping 2x2 patches: (N, w0, H/2, W/2)
            norm = LayerNorm2d(w0, eps=1e-6) if cfg.layer_norm else nn.BatchNorm2d(w0)
            self.stem = nn.Sequential(nn.Conv2d(in_channels, w0, 2, stride=2), norm)
        else:  # ResNet-style: a conv, then a max-pool halves the map
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, w0, 3, padding=1, bias=False),
                nn.BatchNorm2d(w0),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
        self.feature_info = [FeatureInfo("stem", w0, 2)]
        self.stages = nn.Sequential()
        channels, stride = w0, 2
        rows = zip(cfg.depths, cfg.widths, cfg.mids, strict=True)
        for index, (depth, width, mid) in enumerate(rows):
            blocks: list[nn.Module] = []
            if index > 0:  # (N, C, H, W) -> (N, 2C, ceil(H/2), ...)
                blocks.append(_downsample(channels, width, cfg))
                stride *= 2
            blocks += [ModernBlock(width, mid, cfg) for _ in range(depth)]
            self.stages.add_module(f"stage{index + 1}", nn.Sequential(*blocks))
            self.feature_info.append(FeatureInfo(f"stage{index + 1}", width, stride))
            channels = width
        self.head = ClassifierHead(channels, num_classes)
        init_weights_like_torchvision(self)


@register(
    ModelCard(
        name="ablation_modernize",
        family="ablation",
        paper=CONVNEXT_PAPER,
        recipe=ABLATION_RECIPE,
        table="Figure 2 (ResNet-50 -> ConvNeXt-T, one step at a time), scaled to 28x28",
        key_ideas=(
            "step=0..6 applies the first k modernisation decisions of Figure 2.",
            "Macro design (stage ratio, patchify stem), ResNeXt-ify, inverted bottleneck, "
            "large kernels, then micro design (LN, GELU).",
        ),
        input_size=(1, 28, 28),
        dataset="Fashion-MNIST",
        num_classes=10,
        deviations=("not a paper network: a scaled-down walk through Figure 2",),
    )
)
def ablation_modernize(
    *, num_classes: int = 10, in_channels: int = 1, step: int = len(STEPS) - 1
) -> ModernizedNet:
    return ModernizedNet(modernize_config(step), num_classes=num_classes, in_channels=in_channels)
