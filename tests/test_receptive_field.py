"""Receptive fields: built stacks, branches, concatenations, skips and registered models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convzoo.analysis.summary import summary
from convzoo.registry import list_models


def _rf(model: nn.Module, size: int = 64):
    rows = summary(model, (3, size, size)).rows
    return {r.name: r.rf for r in rows}, summary(model, (3, size, size))


class Wrap(nn.Module):
    """A plain module with a default input size, so `summary` accepts it."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.in_channels = 3
        self.default_input_size = (64, 64)

    def forward(self, x):
        return self.body(x)


def conv3(c_in: int = 3, c_out: int = 3) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


@pytest.mark.parametrize(("n", "size"), [(1, 3), (2, 5), (3, 7), (5, 11)])
def test_stacked_3x3_convs(n, size):
    body = nn.Sequential(*[m for _ in range(n) for m in (conv3(), nn.ReLU(inplace=True))])
    result = summary(Wrap(body))
    assert result.rows[-1].rf.size == (size, size)
    assert result.rows[-1].rf.jump == (1, 1)
    assert not result.rows[-1].rf.global_context
    assert result.depth == n


def test_stride_pool_and_dilation():
    body = nn.Sequential(
        nn.Conv2d(3, 4, 7, stride=2, padding=3),  # 7, jump 2
        nn.MaxPool2d(3, 2, 1),  # 7 + 2*2 = 11, jump 4
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),  # 11 + 4*4 = 27
    )
    rf = summary(Wrap(body)).rows[-1].rf
    assert rf.size == (27, 27) and rf.jump == (4, 4) and rf.start == (0, 0)


def test_padding_moves_the_centre():
    rf = summary(Wrap(nn.Conv2d(3, 4, 3, padding=0))).rows[-1].rf
    assert rf.size == (3, 3) and rf.start == (1, 1)  # first output unit centred on pixel 1


class TwoBranch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.small = conv3()
        self.large = nn.Sequential(conv3(), conv3(), conv3())

    def forward(self, x):
        return self.small(x) + self.large(x)


class Concat(nn.Module):
    """Inception-like: 1x1, 3x3, 5x5 and a pooled branch, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 2, 1)
        self.b3 = conv3(3, 2)
        self.b5 = nn.Conv2d(3, 2, 5, padding=2)
        self.pool = nn.MaxPool2d(3, 1, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv3(), conv3()

    def forward(self, x):
        return F.relu(x + self.conv2(F.relu(self.conv1(x))))


def test_two_branches_take_the_larger():
    result = summary(Wrap(TwoBranch()))
    assert result.rows[-1].rf is not None
    assert summary(Wrap(TwoBranch()), depth=2).rows[-1].rf.size == (7, 7)
    assert result.depth == 3


def test_concat_takes_the_union():
    out = summary(Wrap(Concat()), depth=1).rows[-1]
    assert out.rf.size == (5, 5) and out.output_shape == (1, 9, 64, 64)


def test_residual_add_and_stacking():
    body = nn.Sequential(Residual(), Residual())
    rows = {r.name: r for r in summary(Wrap(body), depth=2, collapse=False).rows}
    assert rows["body.0"].rf.size == (5, 5)
    assert rows["body.1"].rf.size == (9, 9)


def test_dense_concat_across_a_stride():
    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([conv3(3 + 2 * i, 2) for i in range(3)])

        def forward(self, x):
            features = [x]
            for layer in self.layers:
                features.append(layer(torch.cat(features, 1)))
            return torch.cat(features, 1)

    assert summary(Wrap(Dense()), depth=1).rows[-1].rf.size == (7, 7)


def test_unet_like_skip_and_upsampling():
    class TinyUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = conv3(3, 4)  # 3
            self.down = nn.MaxPool2d(2)  # 4, jump 2
            self.mid = conv3(4, 4)  # 8
            self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)  # jump 1, size 8
            self.dec = conv3(8, 4)  # union(8, 3) + 2 = 10

        def forward(self, x):
            skip = self.enc(x)
            return self.dec(torch.cat([skip, self.up(self.mid(self.down(skip)))], 1))

    rows = {r.name: r.rf for r in summary(Wrap(TinyUNet()), depth=2).rows}
    assert rows["body.mid"].size == (8, 8) and rows["body.mid"].jump == (2, 2)
    assert rows["body.up"].jump == (1, 1) and rows["body.up"].size == (8, 8)
    assert rows["body.dec"].size == (10, 10)


def test_global_pool_and_linear_see_everything():
    body = nn.Sequential(conv3(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    rows = summary(Wrap(body)).rows
    assert rows[0].rf.size == (3, 3) and not rows[0].rf.global_context
    assert rows[1].rf.global_context and rows[1].rf.size == (3 + 63, 3 + 63)
    assert rows[-1].rf.global_context


def test_channels_last_linear_keeps_the_local_field():
    """ConvNeXt's pointwise MLP runs as nn.Linear on (N, H, W, C): still a 1x1."""

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(3, 3, 7, padding=3, groups=3)
            self.norm = nn.LayerNorm(3)
            self.mlp = nn.Linear(3, 3)

        def forward(self, x):
            y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1)))
            return x + y.permute(0, 3, 1, 2)

    rf = summary(Wrap(Block()), depth=1).rows[-1].rf
    assert rf.size == (7, 7) and not rf.global_context


def test_squeeze_excite_gate_marks_global_context_only():
    class SE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = conv3()
            self.fc = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            x = self.conv(x)
            return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))

    rf = summary(Wrap(SE()), depth=1).rows[-1].rf
    assert rf.size == (3, 3) and rf.global_context


def test_vgg16_pool5_is_212():
    rows = {r.name: r for r in summary("vgg16").rows}
    assert rows["stages.conv5.3"].rf.size == (212, 212)  # pool5
    assert rows["stages.conv5.3"].rf.jump == (32, 32)
    assert summary("vgg16").feature_rf.size == (212, 212)
    assert summary("vgg16").depth == 16


def _needs(name: str) -> None:
    assert name in list_models(), f"{name} is not registered"


def test_alexnet_conv5_163_pool5_195():
    _needs("alexnet")
    result = summary("alexnet")
    convs = [r for r in result.rows if r.type == "Conv2d"]
    assert len(convs) == 5
    assert convs[-1].rf.size == (163, 163)  # conv5
    assert result.feature_rf.size == (195, 195)  # pool5
    assert result.depth == 8


def _textbook_rf(model: nn.Module, skip_words=("downsample", "shortcut", "proj")) -> int:
    """r += (k - 1) * j; j *= s over the main-path convs and pools, in definition order."""
    size, jump = 1, 1
    for name, module in model.stages.named_modules(prefix="stages"):
        if any(w in name for w in skip_words):
            continue
        if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k, s, d = module.kernel_size, module.stride, getattr(module, "dilation", 1)
            k, s, d = (v[0] if isinstance(v, tuple) else v for v in (k, s, d))
            size += d * (k - 1) * jump
            jump *= s
    return size, jump


def test_resnet50_final_rf_matches_a_textbook_computation():
    _needs("resnet50")
    with torch.device("meta"):
        from convzoo import create_model

        model = create_model("resnet50")
    stem_size, stem_jump = 1, 1
    for module in model.stem.modules():
        if isinstance(module, nn.Conv2d | nn.MaxPool2d):
            k, s = module.kernel_size, module.stride
            k, s = (v[0] if isinstance(v, tuple) else v for v in (k, s))
            stem_size += (k - 1) * stem_jump
            stem_jump *= s
    body_size, body_jump = _textbook_rf(model)
    expected = stem_size + (body_size - 1) * stem_jump
    result = summary(model)
    assert result.feature_rf.size == (expected, expected)
    assert result.feature_rf.jump == (stem_jump * body_jump,) * 2 == (32, 32)
    assert result.depth == 50


def test_identical_blocks_collapse():
    rows = summary(Wrap(nn.Sequential(Residual(), Residual(), Residual())), depth=2).rows
    assert [(r.name, r.repeat) for r in rows] == [("body.0-2", 3)]
    assert rows[0].rf.size == (13, 13)


# the depth a network is named after = weight layers on its longest path
NAMED_DEPTHS = [
    ("vgg19", 19), ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet152", 152),
    ("resnet110", 110), ("preact_resnet164", 164), ("densenet121", 121), ("densenet201", 201),
    ("googlenet", 22), ("inception_v3", 48), ("xception", 71), ("mobilenet_v1", 28),
]  # fmt: skip


@pytest.mark.parametrize(("name", "depth"), NAMED_DEPTHS)
def test_depth_counts_like_the_papers(name, depth):
    _needs(name)
    assert summary(name).depth == depth
