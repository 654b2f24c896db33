"""``shapes``: a generated segmentation set of circles, rectangles and triangles.

Each image is a textured, noisy background with 2-5 filled shapes of random
size, rotation and colour; about half of the shapes are placed touching an
earlier one, which is where the border weight map of U-Net (Ronneberger et al.
2015, Section 3) matters. The mask holds one class index per pixel:
0 = background, 1 = circle, 2 = rectangle, 3 = triangle (``classes=2`` keeps
circles only, ``classes=3`` circles and rectangles). Colour says nothing about
the class: the network has to learn the outline.

``shapes:size=64,classes=4,train=512,test=128,seed=0`` (the defaults). The test
set is drawn from its own stream, so it does not change when ``train`` does.
Everything is computed from the seed: offline and deterministic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["SHAPE_CLASSES", "draw_shapes", "parse_options"]

SHAPE_CLASSES = ("background", "circle", "rectangle", "triangle")
DEFAULTS = {"size": 64, "classes": 4, "train": 512, "test": 128, "seed": 0}


def parse_options(options: str) -> dict[str, int]:
    """``"size=32,train=64"`` -> the full option dict (unknown keys raise)."""
    opts = dict(DEFAULTS)
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if key not in opts or not value.isdigit():
            raise ValueError(f"shapes option must be one of {sorted(opts)}=INT, got {item!r}")
        opts[key] = int(value)
    if not 2 <= opts["classes"] <= len(SHAPE_CLASSES):
        raise ValueError(f"shapes classes must be 2..{len(SHAPE_CLASSES)}, got {opts['classes']}")
    if opts["size"] < 16:
        raise ValueError(f"shapes size must be >= 16 pixels, got {opts['size']}")
    return opts


def _background(size: int, g: torch.Generator) -> Tensor:
    """A smooth random texture (coarse noise, upsampled) plus pixel noise: (3, size, size)."""
    coarse = torch.rand(1, 3, 6, 6, generator=g) * 100 + 70
    texture = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0]
    stripes = 15 * torch.sin(torch.arange(size) * (0.3 + torch.rand(1, generator=g).item()))
    return texture + stripes[None, :, None] + torch.randn(3, size, size, generator=g) * 10


def _inside(kind: int, ys: Tensor, xs: Tensor, cy: float, cx: float, r: float, angle: float):
    """Pixels inside a shape of class `kind` centred at (cy, cx) with radius `r`."""
    cos, sin = math.cos(angle), math.sin(angle)
    u = (xs - cx) * cos + (ys - cy) * sin  # coordinates in the shape's rotated frame
    v = -(xs - cx) * sin + (ys - cy) * cos
    if kind == 1:
        return u * u + v * v <= r * r
    if kind == 2:
        return (u.abs() <= r) & (v.abs() <= 0.6 * r)
    # triangle: three half-planes at 120 degrees, inradius 0.6 r
    inside = torch.ones_like(u, dtype=torch.bool)
    for k in range(3):
        a = angle + 2 * math.pi * k / 3
        inside &= (xs - cx) * math.cos(a) + (ys - cy) * math.sin(a) <= 0.6 * r
    return inside


def _centre(placed: list[tuple[float, float, float]], r: float, size: int, g: torch.Generator):
    """A centre for a shape of radius r: touching an earlier shape half the time."""
    u = torch.rand(3, generator=g).tolist()
    if placed and u[0] < 0.5:
        py, px, pr = placed[int(u[1] * len(placed))]
        angle = 2 * math.pi * u[2]
        gap = 0.95 * (pr + r)  # the outlines meet (with a sliver of overlap)
        cy, cx = py + gap * math.sin(angle), px + gap * math.cos(angle)
        return min(max(cy, r), size - r), min(max(cx, r), size - r)
    return r + u[1] * (size - 2 * r), r + u[2] * (size - 2 * r)


def draw_shapes(
    n: int, *, size: int, classes: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """`n` images (uint8, (n, 3, size, size)) and masks (uint8, (n, size, size))."""
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    masks = torch.zeros(n, size, size, dtype=torch.uint8)
    for i in range(n):
        image = _background(size, generator)
        placed: list[tuple[float, float, float]] = []
        for _ in range(int(torch.randint(2, 6, (1,), generator=generator))):
            kind = int(torch.randint(1, classes, (1,), generator=generator))
            r = size * (0.12 + 0.12 * torch.rand(1, generator=generator).item())
            cy, cx = _centre(placed, r, size, generator)
            angle = 2 * math.pi * torch.rand(1, generator=generator).item()
            inside = _inside(kind, ys, xs, cy, cx, r, angle)
            # each channel clearly darker or brighter than the mid-grey background
            sign = torch.randint(2, (3, 1, 1), generator=generator) * 2 - 1
            colour = 128 + sign * (70 + 50 * torch.rand(3, 1, 1, generator=generator))
            shade = 1 + 0.06 * torch.randn(1, size, size, generator=generator)
            image = torch.where(inside, colour * shade, image)
            masks[i][inside] = kind  # a later shape covers an earlier one
            placed.append((cy, cx, r))
        images[i] = image.round().clamp(0, 255).to(torch.uint8)
    return images, masks
