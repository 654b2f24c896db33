"""Counting and tracing at the ATen level.

A `TorchDispatchMode` sees every tensor operation a forward pass runs, whether
it comes from an ``nn.Module`` or a functional call, so grouped, depthwise and
transposed convolutions, linear layers and matmuls are all counted from the
shapes of their operands. Works on the ``meta`` device: nothing is computed.

What counts
-----------
*Multiply-adds* (MACs): one multiplication accumulated into a sum, i.e.
``k*k*C_in/groups`` per output element of a convolution and ``K`` per output
element of an ``(M, K) @ (K, N)`` product. Only convolutions, linear layers and
matmuls have multiply-adds.

*FLOPs* are reported separately, by category:

- ``conv/linear/matmul``: 2 FLOPs per multiply-add (one multiply, one add), the
  convention of ``torch.utils.flop_counter`` and of most papers that say "FLOPs";
- ``bias``: 1 per output element of a convolution/linear layer with a bias;
- ``norm``: 2 per element (scale and shift; eval-mode batch norm folds into that),
  4 per element when statistics are computed (training, layer/group norm);
- ``activation``: 1 per element (ReLU, GELU, SiLU, sigmoid, ...), softmax 3;
- ``pool``: one per kernel element per output (max/avg), input elements for
  global or adaptive pooling and means;
- ``elementwise``: 1 per output element (residual adds, gates, LRN arithmetic).

Data movement (views, reshapes, concatenation, padding, copies) costs nothing.
Any other operation is *not* silently counted as zero: it is listed in
``Tracer.uncounted`` with how often it ran, and `summary` reports it.

Receptive fields
----------------
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

The same pass records the longest path in weight layers (``depth``: a
convolution or a matmul with one weight operand adds one), the bytes of every
activation produced (views and in-place results excluded), and a small
dataflow graph (one node per op, with its owning module) for diagrams.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

__all__ = [
    "FLOP_CATEGORIES",
    "MAC_RULES",
    "Field",
    "MacCounter",
    "Node",
    "TensorInfo",
    "Tracer",
    "flops_total",
    "union",
]


# -- multiply-adds ------------------------------------------------------------
def _conv_macs(args: tuple[Any, ...], out: Any) -> int:
    x, weight = args[0], args[1]
    transposed = bool(args[6]) if len(args) > 6 else False
    # C_in/groups * kh * kw (or C_out/groups for transposed)
    per_position = math.prod(weight.shape[1:])
    if transposed:  # every input element is scattered through the kernel
        return x.numel() // x.shape[1] * weight.shape[0] * per_position
    return out.numel() * per_position


def _mm_macs(args: tuple[Any, ...], out: Any) -> int:
    a = args[-2]  # addmm(bias, a, b) / mm(a, b)
    return out.numel() * a.shape[-1]


def _bmm_macs(args: tuple[Any, ...], out: Any) -> int:
    a = args[-2]
    return out.numel() * a.shape[-1]


MAC_RULES: dict[Any, Callable[[tuple[Any, ...], Any], int]] = {
    aten.convolution.default: _conv_macs,
    aten._convolution.default: _conv_macs,
    aten.mm.default: _mm_macs,
    aten.addmm.default: _mm_macs,
    aten.bmm.default: _bmm_macs,
    aten.baddbmm.default: _bmm_macs,
}


# -- op tables (by overload packet name) --------------------------------------
def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VIEWS = _names(
    "_reshape_alias _unsafe_view alias as_strided as_strided_ chunk detach expand expand_as "
    "flatten "
    "lift_fresh narrow numpy_T permute reshape select slice split split_with_sizes "
    "squeeze t transpose unbind unflatten unsqueeze view view_as "
)

_COPIES = _names("_to_copy _unsafe_index_put clone contiguous copy copy_ to ")

_MOVES = _names(
    "cat channel_shuffle constant_pad_nd gather index index_select flip pad pixel_shuffle "
    "pixel_unshuffle "
    "reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d roll stack "
)

_FACTORIES = _names(
    "_has_compatible_shallow_copy_type _local_scalar_dense arange bernoulli bernoulli_ "
    "empty empty_like empty_strided fill fill_ full full_like is_same_size new_empty "
    "new_full new_ones new_zeros ones ones_like rand randn scalar_tensor sym_numel "
    "sym_size sym_stride zero_ zeros zeros_like "
)

_ACTIVATIONS = _names(
    "_prelu_kernel celu clamp clamp_ clamp_max clamp_min clamp_min_ elu elu_ gelu gelu_ "
    "hardsigmoid hardsigmoid_ hardswish hardswish_ hardtanh hardtanh_ leaky_relu "
    "leaky_relu_ log_sigmoid_forward mish mish_ prelu relu relu6 relu_ selu sigmoid "
    "sigmoid_ silu silu_ softplus tanh tanh_ threshold threshold_ "
)

_SOFTMAX = _names("_log_softmax _safe_softmax _softmax log_softmax softmax")

_ELEMENTWISE = _names(
    "abs add add_ addcdiv addcmul ceil div div_ eq erf exp floor ge gt le lerp log "
    "logical_not lt masked_fill masked_fill_ max maximum min minimum mul mul_ ne neg pow "
    "pow_ reciprocal round rsqrt rsub sign sqrt square sub sub_ where "
)

_NORMS = _names(
    "_batch_norm_no_update _batch_norm_with_update _native_batch_norm_legit "
    "_native_batch_norm_legit_functional _native_batch_norm_legit_no_training batch_norm "
    "group_norm instance_norm layer_norm native_batch_norm native_group_norm "
    "native_layer_norm "
)

_POOLS = _names(
    "avg_pool1d avg_pool2d avg_pool3d max_pool1d max_pool2d max_pool2d_with_indices "
    "max_pool3d max_pool3d_with_indices "
)

_ADAPTIVE = _names(
    "_adaptive_avg_pool2d _adaptive_avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d "
    "adaptive_max_pool1d adaptive_max_pool2d "
)

_REDUCTIONS = _names(
    "amax amin linalg_vector_norm logsumexp max mean min norm std std_mean sum var var_mean "
)

_UPSAMPLE = _names(
    "_upsample_bilinear2d_aa _upsample_nearest_exact2d upsample_bicubic2d "
    "upsample_bilinear2d upsample_linear1d upsample_nearest1d upsample_nearest2d "
)

_MATMULS = _names("addmm baddbmm bmm mm ")

_CONVS = _names("_convolution convolution ")

FLOP_CATEGORIES = ("conv/linear/matmul", "bias", "norm", "activation", "pool", "elementwise")


# -- receptive field bookkeeping ----------------------------------------------
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


def _positional(dim: Dim) -> bool:
    return any(a is not None for a, s in dim if s != 1)


def _axis(dim: Dim) -> int | None:
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


@dataclass
class Node:
    """One op of the dataflow graph (views are transparent)."""

    id: int
    op: str
    owner: str  # innermost module running when the op ran
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    weight: bool = False  # a convolution / linear layer


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


def _view_dims(dims: Sequence[Dim], in_shape: Sequence[int], out_shape: Sequence[int]) -> tuple:
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


def _tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, list | tuple):
        return [t for o in obj for t in _tensors(o)]
    return []


def _arg(args: Sequence[Any], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _pair(value: Any, n: int, default: int) -> list[int]:
    if value is None or (isinstance(value, list | tuple) and len(value) == 0):
        return [default] * n
    if isinstance(value, int):
        return [value] * n
    value = list(value)
    return value * n if len(value) == 1 else value


class Tracer(TorchDispatchMode):
    """Counts multiply-adds and FLOPs per owner and propagates `TensorInfo`.

    ``owner`` is set by the caller (e.g. module hooks) to the running module's
    qualified name; ``watch(x)`` marks the input whose receptive field is measured.
    """

    def __init__(self, *, track: bool = True, fast_meta: bool = True) -> None:
        super().__init__()
        self.fast_meta = fast_meta
        self.owner = ""
        self.macs: dict[str, int] = {}
        self.flops: dict[str, Counter[str]] = {}
        self.activation_bytes: dict[str, int] = {}
        self.uncounted: Counter[str] = Counter()
        self.track = track
        # keyed by id(); the tensors are kept alive for the pass so ids are not reused
        self._info: dict[int, TensorInfo] = {}
        self._alive: list[Tensor] = []
        self.nodes: list[Node] = []
        self._name = ""

    # -- public helpers ---------------------------------------------------
    def watch(self, x: Tensor, spatial_axes: int = 2) -> None:
        lead = x.dim() - spatial_axes
        dims = tuple(((None, s),) for s in x.shape[:lead]) + tuple(
            ((a, s),) for a, s in enumerate(x.shape[lead:])
        )
        self.nodes.append(Node(0, "input", "", (), tuple(x.shape)))
        self._set(x, TensorInfo((Field(),) * spatial_axes, dims, node=0))

    def _set(self, t: Tensor, info: TensorInfo) -> None:
        if id(t) not in self._info:
            self._alive.append(t)
        self._info[id(t)] = info

    def lookup(self, obj: Any) -> TensorInfo | None:
        for t in _tensors(obj):
            info = self._info.get(id(t))
            if info is not None:
                return info
        return None

    def _add_flops(self, category: str, n: int) -> None:
        if n:
            self.flops.setdefault(self.owner, Counter())[category] += int(n)

    # -- dispatch -----------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        out = _fast_meta(name, args, kwargs) if self.fast_meta else None
        if out is None:
            out = func(*args, **kwargs)
        try:
            self._count(func, name, args, kwargs, out)
            if self.track:
                self._propagate(name, args, kwargs, out)
        except Exception as exc:  # never break a forward pass over bookkeeping
            self.uncounted[f"{name} (tracing failed: {type(exc).__name__})"] += 1
        return out

    def _count(self, func: Any, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        outs = _tensors(out)
        first = outs[0] if outs else None
        rule = MAC_RULES.get(func)
        if rule is not None:
            macs = int(rule(args, out))
            self.macs[self.owner] = self.macs.get(self.owner, 0) + macs
            self._add_flops("conv/linear/matmul", 2 * macs)
            bias = (
                args[2] if name in _CONVS else (args[0] if name in ("addmm", "baddbmm") else None)
            )
            if isinstance(bias, Tensor) and first is not None:
                self._add_flops("bias", first.numel())
        elif name in _VIEWS or name in _COPIES or name in _MOVES or name in _FACTORIES:
            pass
        elif name in _ACTIVATIONS:
            self._add_flops("activation", first.numel() if first is not None else 0)
        elif name in _SOFTMAX:
            self._add_flops("activation", 3 * (first.numel() if first is not None else 0))
        elif name in _ELEMENTWISE and not (name in ("max", "min") and len(args) == 1):
            self._add_flops("elementwise", first.numel() if first is not None else 0)
        elif name in _NORMS:
            x = args[0]
            training = "legit_no_training" not in name and not (
                name == "native_batch_norm" and len(args) > 5 and not args[5]
            )
            self._add_flops("norm", (4 if training else 2) * x.numel())
        elif name in _POOLS:
            kernel = math.prod(_pair(args[1], args[0].dim() - 2, 1))
            self._add_flops("pool", kernel * first.numel())
        elif name in _ADAPTIVE or name in _REDUCTIONS:
            self._add_flops("pool", args[0].numel())
        elif name in _UPSAMPLE:
            self._add_flops("elementwise", first.numel() if first is not None else 0)
        else:
            self.uncounted[str(func)] += 1

    # -- receptive fields and dataflow ----------------------------------------
    def _propagate(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        inputs = [(t, self._info[id(t)]) for t in _tensors(args) if id(t) in self._info]
        if not inputs:
            return  # weights, constants, factories: not activations
        outs = _tensors(out)
        if not outs:
            return
        xi = inputs[0][1]
        view = name in _VIEWS
        inplace = name.endswith("_") and outs[0] is args[0]
        self._name = name
        handler = getattr(self, f"_rf_{name.lstrip('_')}", None)
        if handler is None:
            handler = self._rule_for(name)
        results = handler(args, kwargs, outs, inputs)
        if results is None:
            return
        if isinstance(results, TensorInfo):
            results = [results] * len(outs)
        for t, info in zip(outs, results, strict=False):
            if info is None or not isinstance(t, Tensor):
                continue
            if view:
                info.node = xi.node
            else:
                weight = name in _CONVS or name in _MATMULS
                weight = weight and info.depth > max(i.depth for _, i in inputs)
                transposed = name in _CONVS and len(args) > 6 and bool(args[6])
                node = Node(
                    len(self.nodes),
                    "conv_transpose" if transposed else name,
                    self.owner,
                    tuple(dict.fromkeys(i.node for _, i in inputs)),
                    tuple(t.shape),
                    weight,
                )
                self.nodes.append(node)
                info.node = node.id
                if not inplace:
                    nbytes = t.numel() * t.element_size()
                    self.activation_bytes[self.owner] = (
                        self.activation_bytes.get(self.owner, 0) + nbytes
                    )
            self._set(t, info)

    def _rule_for(self, name: str) -> Callable[..., Any]:
        if name in _VIEWS:
            return self._rf_view
        if name in _COPIES or name in _ACTIVATIONS or name in _NORMS:
            return self._rf_same
        if name in _SOFTMAX:
            return self._rf_softmax
        if name in _CONVS:
            return self._rf_conv
        if name in _POOLS:
            return self._rf_pool
        if name in _ADAPTIVE:
            return self._rf_adaptive
        if name in _REDUCTIONS:
            return self._rf_reduce
        if name in _UPSAMPLE:
            return self._rf_upsample
        if name in _MATMULS:
            return self._rf_matmul
        return self._rf_merge  # element-wise and anything unknown: union of inputs

    @staticmethod
    def _base(xi: TensorInfo, **changes: Any) -> TensorInfo:
        return replace(xi, **changes)

    def _rf_same(self, args, kwargs, outs, inputs):
        xi = inputs[0][1]
        return [self._base(xi) if tuple(t.shape) == tuple(inputs[0][0].shape) else None
                for t in outs]  # fmt: skip

    def _rf_merge(self, args, kwargs, outs, inputs):
        out = outs[0]
        local = [(t, i) for t, i in inputs if any(_positional(d) for d in i.dims)]
        chosen = local or inputs
        fields = tuple(
            union([i.fields[a] for _, i in chosen]) for a in range(len(chosen[0][1].fields))
        )
        like = next((i for t, i in chosen if tuple(t.shape) == tuple(out.shape)), None)
        if like is not None:
            dims = like.dims
        else:  # broadcasting: align on the right
            dims_list: list[Dim] = [((None, s),) for s in out.shape]
            for t, i in chosen:
                offset = out.dim() - t.dim()
                for k, d in enumerate(i.dims):
                    if _positional(d) and t.shape[k] == out.shape[offset + k]:
                        dims_list[offset + k] = d
            dims = tuple(dims_list)
        return TensorInfo(
            fields,
            dims,
            any(i.global_context for _, i in inputs),
            max(i.depth for _, i in inputs),
        )

    def _rf_view(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        results = []
        for t in outs:
            dims = _view_dims(xi.dims, tuple(x.shape), tuple(t.shape))
            if args and args[0] is x and len(args) > 1:
                name_dims = self._view_special(args, x, xi, t)
                if name_dims is not None:
                    dims = name_dims
            results.append(self._base(xi, dims=dims))
        return results

    @staticmethod
    def _view_special(args, x, xi, t):
        # permute / transpose keep components, which reshaping cannot infer
        if t.dim() != x.dim() or sorted(t.shape) != sorted(x.shape) or t.shape == x.shape:
            return None
        if isinstance(args[1], list | tuple) and len(args[1]) == x.dim():
            return tuple(xi.dims[d % x.dim()] for d in args[1])
        if len(args) == 3 and isinstance(args[1], int) and isinstance(args[2], int):
            dims = list(xi.dims)
            a, b = args[1] % x.dim(), args[2] % x.dim()
            dims[a], dims[b] = dims[b], dims[a]
            return tuple(dims)
        return None

    def _rf_t(self, args, kwargs, outs, inputs):
        xi = inputs[0][1]
        return self._base(xi, dims=tuple(reversed(xi.dims)))

    def _rf_slice(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = _arg(args, kwargs, 1, "dim", 0) % x.dim()
        start = _arg(args, kwargs, 2, "start", 0) or 0
        step = _arg(args, kwargs, 4, "step", 1) or 1
        start = start + x.shape[dim] if start < 0 else min(start, x.shape[dim])
        return self._shift(xi, dim, start, step, outs[0].shape[dim])

    def _shift(self, xi: TensorInfo, dim: int, start: int, step: int, size: int) -> TensorInfo:
        axis = _axis(xi.dims[dim])
        dims = list(xi.dims)
        dims[dim] = ((axis if axis is not None else None, size),) if axis != -1 else ((-1, size),)
        fields = list(xi.fields)
        if axis is not None and axis >= 0:
            f = fields[axis]
            fields[axis] = Field(f.size, f.jump * step, f.start + start * f.jump)
        return self._base(xi, fields=tuple(fields), dims=tuple(dims))

    def _rf_split(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = _arg(args, kwargs, 2, "dim", 0) % x.dim()
        results, start = [], 0
        for t in outs:
            results.append(self._shift(xi, dim, start, 1, t.shape[dim]))
            start += t.shape[dim]
        return results

    _rf_split_with_sizes = _rf_split

    def _rf_select(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = args[1] % x.dim()
        index = args[2] % x.shape[dim]
        info = self._shift(xi, dim, index, 1, 1)
        return self._base(info, dims=info.dims[:dim] + info.dims[dim + 1 :])

    def _rf_unbind(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = _arg(args, kwargs, 1, "dim", 0) % x.dim()
        results = []
        for k, _ in enumerate(outs):
            info = self._shift(xi, dim, k, 1, 1)
            results.append(self._base(info, dims=info.dims[:dim] + info.dims[dim + 1 :]))
        return results

    def _rf_expand(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        out = outs[0]
        offset = out.dim() - x.dim()
        dims = [((None, s),) for s in out.shape]
        for k, d in enumerate(xi.dims):
            if x.shape[k] == out.shape[offset + k]:
                dims[offset + k] = d
        return self._base(xi, dims=tuple(dims))

    def _rf_cat(self, args, kwargs, outs, inputs):
        info = self._rf_merge(args, kwargs, outs, inputs)
        x, xi = inputs[0]
        dim = _arg(args, kwargs, 1, "dim", 0) % x.dim()
        dims = list(xi.dims)
        axis = _axis(xi.dims[dim])
        dims[dim] = ((axis if axis != -1 else -1, outs[0].shape[dim]),)
        info.dims = tuple(dims)
        return info

    _rf_stack = _rf_merge

    def _rf_index_select(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        if args[0] is not x:
            return None  # an activation used as the index: no field to carry
        dim = args[1] % x.dim()
        dims = list(xi.dims)
        positional = _positional(dims[dim])
        dims[dim] = ((-1 if positional else None, outs[0].shape[dim]),)
        # picking channels keeps the field; picking positions loses which ones
        info = self._base(xi, dims=tuple(dims))
        info.global_context = info.global_context or positional
        return info

    def _rf_constant_pad_nd(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        pad = list(args[1])
        dims, fields = list(xi.dims), list(xi.fields)
        for k in range(len(pad) // 2):
            dim = x.dim() - 1 - k
            axis = _axis(dims[dim])
            dims[dim] = ((axis if axis is not None else None, outs[0].shape[dim]),)
            if axis is not None and axis >= 0:
                f = fields[axis]
                fields[axis] = Field(f.size, f.jump, f.start - pad[2 * k] * f.jump)
        return self._base(xi, fields=tuple(fields), dims=tuple(dims))

    _rf_reflection_pad2d = _rf_reflection_pad1d = _rf_constant_pad_nd
    _rf_replication_pad2d = _rf_replication_pad1d = _rf_constant_pad_nd

    def _spatial(
        self, x: Tensor, xi: TensorInfo, out: Tensor, k: int, grow: Callable
    ) -> TensorInfo:
        """Apply ``grow(field, i)`` to the axes of the last ``k`` dims of ``x``."""
        fields = list(xi.fields)
        dims = list(xi.dims)
        global_context = xi.global_context
        for i in range(k):
            dim = x.dim() - k + i
            axis = _axis(dims[dim])
            if axis is not None and axis < 0:
                global_context = True
            elif axis is not None:
                fields[axis] = grow(fields[axis], i, xi.extent(axis))
            dims[dim] = ((axis, out.shape[dim]),) if axis is not None else ((None, out.shape[dim]),)
        dims[1] = ((None, out.shape[1]),) if x.dim() > 1 else dims[1]
        return TensorInfo(tuple(fields), tuple(dims), global_context, xi.depth)

    def _rf_conv(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        weight = args[1]
        k = weight.dim() - 2
        stride, padding, dilation = (_pair(args[i], k, d) for i, d in ((3, 1), (4, 0), (5, 1)))
        transposed = bool(args[6])
        kernel = list(weight.shape[2:])

        def grow(f: Field, i: int, _extent: int) -> Field:
            if not transposed:
                return f.grow(kernel[i], stride[i], padding[i], dilation[i])
            span = dilation[i] * (kernel[i] - 1)
            taps = math.ceil((span + 1) / stride[i])
            return Field(
                f.size + (taps - 1) * f.jump,
                f.jump / stride[i],
                f.start + (padding[i] - span / 2) / stride[i] * f.jump,
            )

        info = self._spatial(x, xi, outs[0], k, grow)
        weighted = not isinstance(weight, Tensor) or id(weight) not in self._info
        info.depth = xi.depth + (1 if weighted else 0)
        if not weighted:
            info = self._merge_meta(info, inputs)
        return info

    def _rf_pool(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        k = 3 if "3d" in self._name else 2 if "2d" in self._name else 1
        kernel = _pair(args[1], k, 1)
        k = len(kernel)
        stride = _pair(args[2] if len(args) > 2 else None, k, 0)
        stride = [s or kk for s, kk in zip(stride, kernel, strict=True)]
        padding = _pair(args[3] if len(args) > 3 else 0, k, 0)
        dilation = _pair(args[4] if len(args) > 4 and isinstance(args[4], list | int) else 1, k, 1)
        if isinstance(args[4] if len(args) > 4 else None, bool):
            dilation = [1] * k  # avg_pool's ceil_mode sits where max_pool's dilation is
        return self._spatial(
            x,
            xi,
            outs[0],
            k,
            lambda f, i, _e: f.grow(kernel[i], stride[i], padding[i], dilation[i]),
        )

    def _rf_adaptive(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        out = outs[0]
        k = len(_pair(args[1], 1, 1)) if isinstance(args[1], list | tuple) else 1
        k = max(k, 1)

        def grow(f: Field, i: int, _extent: int) -> Field:
            n_in, n_out = x.shape[x.dim() - k + i], out.shape[x.dim() - k + i]
            if n_in == n_out:
                return f
            window = max(
                math.ceil((j + 1) * n_in / n_out) - (j * n_in) // n_out for j in range(n_out)
            )
            return f.grow(window, n_in / n_out)

        info = self._spatial(x, xi, out, k, grow)
        if all(out.shape[x.dim() - k + i] == 1 for i in range(k)):
            info.global_context = True
        return info

    def _rf_reduce(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dims_arg = _arg(args, kwargs, 1, "dim", None)
        if dims_arg is None or (isinstance(dims_arg, list | tuple) and not dims_arg):
            reduced = list(range(x.dim()))
        elif isinstance(dims_arg, int):
            reduced = [dims_arg % x.dim()]
        else:
            reduced = [d % x.dim() for d in dims_arg]
        fields = list(xi.fields)
        global_context = xi.global_context
        for d in reduced:
            for axis, size in xi.dims[d]:
                if axis is None or size == 1:
                    continue
                global_context = True
                if axis >= 0:
                    fields[axis] = fields[axis].whole(size)
        results = []
        for t in outs:
            if t.dim() == x.dim():
                dims = tuple(((None, 1),) if d in reduced else xi.dims[d] for d in range(x.dim()))
            else:
                dims = tuple(xi.dims[d] for d in range(x.dim()) if d not in reduced)
            dims = dims if len(dims) == t.dim() else tuple(((None, s),) for s in t.shape)
            results.append(TensorInfo(tuple(fields), dims, global_context, xi.depth))
        return results

    def _rf_softmax(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = args[1] % x.dim()
        if not _positional(xi.dims[dim]):
            return self._base(xi)
        info = self._rf_reduce((x, [dim]), {}, [x], inputs)[0]
        return self._base(info, dims=xi.dims)

    def _rf_upsample(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        out = outs[0]
        k = 2 if "2d" in self._name else 1
        # bilinear / bicubic outputs read one more input neighbour than nearest
        extra = 1 if ("linear" in self._name or "bicubic" in self._name) else 0

        def grow(f: Field, i: int, _e: int) -> Field:
            scale = out.shape[x.dim() - k + i] / x.shape[x.dim() - k + i]
            return Field(
                f.size + extra * f.jump, f.jump / scale, f.start + (0.5 / scale - 0.5) * f.jump
            )

        return self._spatial(x, xi, out, k, grow)

    def _rf_matmul(self, args, kwargs, outs, inputs):
        a, b = args[-2], args[-1]
        ai, bi = self._info.get(id(a)), self._info.get(id(b))
        out = outs[0]
        known = [i for i in (ai, bi) if i is not None]
        base = known[0]
        fields = list(union([i.fields[k] for i in known]) for k in range(len(base.fields)))
        global_context = any(i.global_context for i in known)
        # contracted dims: a's last, b's second to last
        for info, dim in ((ai, -1), (bi, -2)):
            if info is None or len(info.dims) < 2:
                continue
            for axis, size in info.dims[dim]:
                if axis is None or size == 1:
                    continue
                global_context = True
                if axis >= 0:
                    fields[axis] = fields[axis].whole(size)
        dims: list[Dim] = [((None, s),) for s in out.shape]
        if ai is not None and len(ai.dims) == out.dim():
            dims[:-1] = list(ai.dims[:-1])
        if bi is not None and len(bi.dims) == out.dim():
            dims[-1] = bi.dims[-1]
        dims = [d if math.prod(s for _, s in d) == out.shape[k] else ((None, out.shape[k]),)
                for k, d in enumerate(dims)]  # fmt: skip
        depth = max(i.depth for i in known) + (1 if len(known) == 1 else 0)
        return TensorInfo(tuple(fields), tuple(dims), global_context, depth)

    def _merge_meta(self, info: TensorInfo, inputs) -> TensorInfo:
        info.global_context = info.global_context or any(i.global_context for _, i in inputs)
        info.depth = max([info.depth] + [i.depth for _, i in inputs])
        return info


# -- shape-only shortcuts on the meta device ------------------------------------
# PyTorch computes meta outputs of element-wise ops and batch norm through Python
# decompositions, which costs more than everything else a summary does. Their
# output shapes are simple, so on meta tensors the tracer makes them directly.
_UNARY = _ACTIVATIONS - {"prelu", "_prelu_kernel", "log_sigmoid_forward", "threshold", "threshold_"}
_BINARY = _names("add add_ sub sub_ mul mul_ div div_")


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None  # not broadcastable: PyTorch raises its own error
    return tuple(y if x == 1 else x for x, y in zip(a, b, strict=True))


def _like(x: Tensor) -> Tensor:
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")


def _conv_meta(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    k = weight.dim() - 2
    if x.dim() != k + 2 or not isinstance(padding, list | tuple):
        return None
    stride, padding, dilation = (_pair(v, k, 1) for v in (stride, padding, dilation))
    output_padding = _pair(output_padding, k, 0)
    sizes = []
    for i in range(k):
        span = dilation[i] * (weight.shape[2 + i] - 1)
        n = x.shape[2 + i]
        if transposed:
            sizes.append((n - 1) * stride[i] - 2 * padding[i] + span + output_padding[i] + 1)
        else:
            sizes.append((n + 2 * padding[i] - span - 1) // stride[i] + 1)
    if min(sizes) < 1:
        return None  # let PyTorch raise its own error
    channels = weight.shape[1] * groups if transposed else weight.shape[0]
    channels_last = (
        k == 2 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    )
    out = torch.empty((x.shape[0], channels, *sizes), dtype=x.dtype, device="meta")
    return out.to(memory_format=torch.channels_last) if channels_last else out


def _fast_meta(name: str, args: tuple, kwargs: dict) -> Any:
    x = args[0] if args else None
    if not isinstance(x, Tensor) or x.device.type != "meta" or kwargs.get("out") is not None:
        return None
    if name in _UNARY:
        return x if name.endswith("_") else _like(x)
    if name in _BINARY:
        other = args[1] if len(args) > 1 else None
        if isinstance(other, Tensor):
            if other.device.type != "meta" or other.dtype != x.dtype:
                return None
            shape = x.shape if other.shape == x.shape else _broadcast(x.shape, other.shape)
            if shape is None:
                return None
        elif isinstance(other, int | float) and not isinstance(other, bool):
            shape = x.shape
        else:
            return None
        if name.endswith("_"):
            return x if shape == x.shape else None
        same = shape == x.shape
        return _like(x) if same else torch.empty(shape, dtype=x.dtype, device="meta")
    if name == "convolution" and len(args) == 9:
        return _conv_meta(*args)
    eval_bn = name == "_native_batch_norm_legit_no_training" or (
        name == "native_batch_norm" and len(args) > 5 and args[5] is False
    )
    if eval_bn:
        channels = x.shape[1] if x.dim() > 1 else 0
        stats = torch.empty(channels, dtype=x.dtype, device="meta")
        return (_like(x), stats, _like(stats))
    if name == "native_layer_norm":  # the output is contiguous whatever the input
        axis = x.dim() - len(args[1])
        stats_shape = (*x.shape[:axis], *([1] * len(args[1])))
        stats = torch.empty(stats_shape, dtype=x.dtype, device="meta")
        return (torch.empty(x.shape, dtype=x.dtype, device="meta"), stats, _like(stats))
    return None


class MacCounter(Tracer):
    """Multiply-adds per owner only (no receptive-field tracking); kept for old callers."""

    def __init__(self) -> None:
        super().__init__(track=False)


def flops_total(counts: dict[str, Counter[str]] | Counter[str], categories: Sequence[str]) -> int:
    if isinstance(counts, Counter):
        return sum(counts[c] for c in categories)
    return sum(c[k] for c in counts.values() for k in categories)
