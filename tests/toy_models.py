"""Tiny stand-ins for the big architectures' patterns: residual, Inception, dense, U-Net."""

import torch
from torch import nn

from convzoo.blocks.conv import ConvNormAct


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        mid = cout // 4
        self.conv1 = ConvNormAct(cin, mid, 1)
        self.conv2 = ConvNormAct(mid, mid, 3, stride=stride)
        self.conv3 = ConvNormAct(mid, cout, 1, act=None)
        self.downsample = (
            ConvNormAct(cin, cout, 1, stride=stride, act=None)
            if stride != 1 or cin != cout
            else None
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        skip = x if self.downsample is None else self.downsample(x)
        return self.act(self.conv3(self.conv2(self.conv1(x))) + skip)


class ToyResNet(nn.Module):
    in_channels = 3
    default_input_size = (64, 64)

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(ConvNormAct(3, 16, 7, stride=2), nn.MaxPool2d(3, 2, 1))
        self.stages = nn.Sequential()
        cin = 16
        for i, (c, n, s) in enumerate([(32, 3, 1), (64, 4, 2)]):
            blocks = [Bottleneck(cin if j == 0 else c, c, s if j == 0 else 1) for j in range(n)]
            self.stages.add_module(f"conv{i + 2}_x", nn.Sequential(*blocks))
            cin = c
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


class Inception(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch1 = ConvNormAct(cin, 8, 1)
        self.branch2 = nn.Sequential(ConvNormAct(cin, 8, 1), ConvNormAct(8, 8, 3))
        self.branch3 = nn.Sequential(ConvNormAct(cin, 4, 1), ConvNormAct(4, 8, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), ConvNormAct(cin, 8, 1))

    def forward(self, x):
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, 1)  # (N, 32, H, W)


class ToyInception(nn.Module):
    in_channels = 3
    default_input_size = (32, 32)

    def __init__(self):
        super().__init__()
        self.stem = ConvNormAct(3, 16, 3)
        self.stages = nn.Sequential(Inception(16), Inception(32))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1)

    def forward(self, feats):
        return self.conv(torch.relu(self.norm(torch.cat(feats, 1))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, n, cin, growth):
        layers = {f"denselayer{i + 1}": DenseLayer(cin + i * growth, growth) for i in range(n)}
        super().__init__(layers)

    def forward(self, x):
        feats = [x]
        for layer in self.values():
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class ToyDense(nn.Module):
    in_channels = 3
    default_input_size = (32, 32)

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.stages = nn.Sequential(DenseBlock(4, 8, 4))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


class Double(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(ConvNormAct(cin, cout, 3), ConvNormAct(cout, cout, 3))


class Up(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = Double(cin, cout)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], 1))


class ToyUNet(nn.Module):
    in_channels = 3
    default_input_size = (64, 64)

    def __init__(self):
        super().__init__()
        self.inc = Double(3, 8)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), Double(8, 16))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), Double(16, 32))
        self.up1 = Up(32, 16)
        self.up2 = Up(16, 8)
        self.outc = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))
