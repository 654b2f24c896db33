"""Receptive-field bookkeeping: what the tracer knows about each activation.

Every activation tensor carries a `TensorInfo`, keyed by tensor identity, with
one `Field` per spatial axis of the input: ``size`` (pixels of the input one
unit sees), ``jump`` (input pixels between neighbouring units, i.e. the total
stride) and ``start`` (centre of the first unit's field in input pixel
coordinates, pixel ``i`` centred at ``i``). The rules, applied per op:

- convolution / pooling with kernel ``k``, stride ``s``, padding ``p``, dilation
  ``d``: ``size += (d*(k-1)) * jump``, ``start += (d*(k-1)/2 - p) * jump``,
  ``jump *= s``; adaptive pooling uses its largest window and its stride;
- transposed convolution: ``jump /= s``, each output sees ``ceil(k_eff/s)``
  inputs; nearest upsampling: ``jump /= scale``; bilinear: also one more input;
- concatenation, addition, multiplication (any op with several activation
  inputs): the *union* of the inputs' fields, i.e. the maximum over paths;
- element-wise ops, activations and normalisation layers pass the field
  through (by convention normalisation statistics do not widen it);
- anything that mixes all positions (global pooling, means over space, a
  linear layer after flattening, softmax over positions, attention) widens the
  field to the whole current map and sets ``global_context``; a spatially
  constant input broadcast into a product (a squeeze-excitation gate) only sets
  ``global_context`` and leaves the local field as it is;
- views, permutes and reshapes keep track of which tensor dims index which
  input axis, so channels-last blocks (ConvNeXt) and channel shuffles keep
  their field.

Fields are analytic and not clipped to the image: a unit whose field is larger
than the input simply sees all of it (plus padding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Field", "TensorInfo", "union"]


@dataclass(frozen=True)
class Field:
    """Receptive field along one input axis (see module docstring)."""

    size: float = 1.0
    jump: float = 1.0
    start: float = 0.0

    @property
    def left(self) -> float:
        return self.start - (self.size - 1) / 2

    @property
    def right(self) -> float:
        return self.start + (self.size - 1) / 2

    def grow(self, kernel: int, stride: float = 1, padding: float = 0, dilation: int = 1) -> Field:
        span = dilation * (kernel - 1)
        return Field(
            self.size + span * self.jump,
            self.jump * stride,
            self.start + (span / 2 - padding) * self.jump,
        )

    def whole(self, extent: int) -> Field:
        """The field of a unit that sees all ``extent`` positions of this map."""
        grown = self.grow(extent)
        return Field(grown.size, grown.jump, grown.start)


def union(fields: Sequence[Field]) -> Field:
    left = min(f.left for f in fields)
    right = max(f.right for f in fields)
    return Field(right - left + 1, min(f.jump for f in fields), (left + right) / 2)


# A tensor dim is a tuple of components (axis, size): axis None for a dim that
# indexes no position (batch, channels), 0..k-1 for an input axis, -1 for
# positions of unknown axis. (N, C, H, W) is ((None,N),), ((None,C),), ((0,H),), ((1,W),).
Dim = tuple[tuple[int | None, int], ...]


def positional(dim: Dim) -> bool:
    return any(a is not None for a, s in dim if s != 1)


def axis_of(dim: Dim) -> int | None:
    """The single input axis a dim indexes, None if it is not positional; -1 if mixed."""
    comps = [(a, s) for a, s in dim if s != 1 or a is not None]
    pos = [a for a, s in comps if a is not None]
    if not pos:
        return None
    if len(comps) == 1 and pos[0] >= 0:
        return pos[0]
    return -1


@dataclass
class TensorInfo:
    """What the tracer knows about one activation tensor."""

    fields: tuple[Field, ...]
    dims: tuple[Dim, ...]
    global_context: bool = False
    depth: int = 0  # weight layers on the longest path from the input
    node: int = -1  # producing node in the dataflow graph

    def extent(self, axis: int) -> int:
        return math.prod(s for d in self.dims for a, s in d if a == axis)


def _regroup(
    in_shape: Sequence[int], out_shape: Sequence[int]
) -> list[tuple[list[int], list[int]]]:
    groups = []
    i = j = 0
    n, m = len(in_shape), len(out_shape)
    while i < n or j < m:
        gi: list[int] = []
        go: list[int] = []
        pi = po = 1
        if i < n:
            gi.append(i)
            pi *= in_shape[i]
            i += 1
        if j < m:
            go.append(j)
            po *= out_shape[j]
            j += 1
        while pi != po:
            if pi < po and i < n:
                gi.append(i)
                pi *= in_shape[i]
                i += 1
            elif po < pi and j < m:
                go.append(j)
                po *= out_shape[j]
                j += 1
            else:
                break
        groups.append((gi, go))
    return groups


def view_dims(dims: Sequence[Dim], in_shape: Sequence[int], out_shape: Sequence[int]) -> tuple:
    out: list[Dim] = [((None, s),) for s in out_shape]
    if math.prod(in_shape) != math.prod(out_shape):
        return tuple(out)
    for gi, go in _regroup(in_shape, out_shape):
        comps = [c for i in gi for c in dims[i] if c[1] != 1]
        for j in go:
            size = out_shape[j]
            if size == 1:
                continue
            taken: list[tuple[int | None, int]] = []
            prod = 1
            while comps and prod < size and prod * comps[0][1] <= size and size % comps[0][1] == 0:
                taken.append(comps.pop(0))
                prod *= taken[-1][1]
            if prod == size:
                out[j] = tuple(taken)
            else:  # a component was split: positions of unknown axis
                rest = taken + comps
                positional = any(a is not None for a, _ in rest)
                out[j] = ((-1 if positional else None, size),)
                comps = []
    return tuple(out)
