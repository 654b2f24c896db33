"""The feature pyramid example of docs/backbones.md: python docs/backbones_fpn.py"""

from collections import OrderedDict

import torch
from torchvision.ops import FeaturePyramidNetwork

import convzoo

for name, out_indices in [
    ("resnet50", (2, 3, 4)),  # conv3_x, conv4_x, conv5_x
    ("densenet121", (3, 5, 7)),  # dense_block2, dense_block3, dense_block4 (+ final BN-ReLU)
    ("mobilenet_v2", (3, 4, 6)),  # bottleneck3, 4, 6: bottleneck7 and the head are not built
]:
    backbone = convzoo.create_model(name, features_only=True, out_indices=out_indices).eval()
    info = backbone.feature_info
    fpn = FeaturePyramidNetwork(info.channels(), out_channels=128)
    with torch.no_grad():
        maps = backbone(torch.randn(1, 3, 224, 224))
        pyramid = fpn(OrderedDict(zip(info.names(), maps, strict=True)))
    params = sum(p.numel() for p in backbone.parameters()) / 1e6
    print(
        f"{name:13s} {params:5.2f}M params  channels {info.channels()}  "
        f"reductions {info.reductions()}"
    )
    print(" " * 14, {k: tuple(v.shape) for k, v in pyramid.items()})
