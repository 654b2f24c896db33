"""What one ATen operation costs: multiply-adds and FLOPs by category.

The tracer (`convzoo.analysis.tracing`) sees every tensor operation a forward
pass runs, whether it comes from an ``nn.Module`` or a functional call, so
grouped, depthwise and transposed convolutions, linear layers and matmuls are
all counted from the shapes of their operands. Works on the ``meta`` device:
nothing is computed.

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
Any other operation is *not* silently counted as zero: `op_cost` returns None,
the tracer lists it in ``Tracer.uncounted`` with how often it ran, and
`summary` reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

aten = torch.ops.aten

__all__ = ["FLOP_CATEGORIES", "op_cost"]


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
def names(text: str) -> frozenset[str]:
    return frozenset(text.split())


VIEWS = names(
    "_reshape_alias _unsafe_view alias as_strided as_strided_ chunk detach expand expand_as "
    "flatten "
    "lift_fresh narrow numpy_T permute reshape select slice split split_with_sizes "
    "squeeze t transpose unbind unflatten unsqueeze view view_as "
)

COPIES = names("_to_copy _unsafe_index_put clone contiguous copy copy_ to ")

MOVES = names(
    "cat channel_shuffle constant_pad_nd gather index index_select flip pad pixel_shuffle "
    "pixel_unshuffle "
    "reflection_pad1d reflection_pad2d replication_pad1d replication_pad2d roll stack "
)

FACTORIES = names(
    "_has_compatible_shallow_copy_type _local_scalar_dense arange bernoulli bernoulli_ "
    "empty empty_like empty_strided fill fill_ full full_like is_same_size new_empty "
    "new_full new_ones new_zeros ones ones_like rand randn scalar_tensor sym_numel "
    "sym_size sym_stride zero_ zeros zeros_like "
)

ACTIVATIONS = names(
    "_prelu_kernel celu clamp clamp_ clamp_max clamp_min clamp_min_ elu elu_ gelu gelu_ "
    "hardsigmoid hardsigmoid_ hardswish hardswish_ hardtanh hardtanh_ leaky_relu "
    "leaky_relu_ log_sigmoid_forward mish mish_ prelu relu relu6 relu_ selu sigmoid "
    "sigmoid_ silu silu_ softplus tanh tanh_ threshold threshold_ "
)

SOFTMAX = names("_log_softmax _safe_softmax _softmax log_softmax softmax")

ELEMENTWISE = names(
    "abs add add_ addcdiv addcmul ceil div div_ eq erf exp floor ge gt le lerp log "
    "logical_not lt masked_fill masked_fill_ max maximum min minimum mul mul_ ne neg pow "
    "pow_ reciprocal round rsqrt rsub sign sqrt square sub sub_ where "
)

NORMS = names(
    "_batch_norm_no_update _batch_norm_with_update _native_batch_norm_legit "
    "_native_batch_norm_legit_functional _native_batch_norm_legit_no_training batch_norm "
    "group_norm instance_norm layer_norm native_batch_norm native_group_norm "
    "native_layer_norm "
)

POOLS = names(
    "avg_pool1d avg_pool2d avg_pool3d max_pool1d max_pool2d max_pool2d_with_indices "
    "max_pool3d max_pool3d_with_indices "
)

ADAPTIVE = names(
    "_adaptive_avg_pool2d _adaptive_avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d "
    "adaptive_max_pool1d adaptive_max_pool2d "
)

REDUCTIONS = names(
    "amax amin linalg_vector_norm logsumexp max mean min norm std std_mean sum var var_mean "
)

UPSAMPLE = names(
    "_upsample_bilinear2d_aa _upsample_nearest_exact2d upsample_bicubic2d "
    "upsample_bilinear2d upsample_linear1d upsample_nearest1d upsample_nearest2d "
)

MATMULS = names("addmm baddbmm bmm mm ")

CONVS = names("_convolution convolution ")

FLOP_CATEGORIES = ("conv/linear/matmul", "bias", "norm", "activation", "pool", "elementwise")


# -- reading op arguments ------------------------------------------------------
def tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, list | tuple):
        return [t for o in obj for t in tensors(o)]
    return []


def op_arg(args: Sequence[Any], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def expand(value: Any, n: int, default: int) -> list[int]:
    if value is None or (isinstance(value, list | tuple) and len(value) == 0):
        return [default] * n
    if isinstance(value, int):
        return [value] * n
    value = list(value)
    return value * n if len(value) == 1 else value


def op_cost(
    func: Any, name: str, args: tuple, out: Any
) -> tuple[int | None, list[tuple[str, int]]] | None:
    """``(multiply-adds, [(FLOP category, FLOPs), ...])`` of one op, multiply-adds
    None for an op without them; None for an op no rule covers."""
    outs = tensors(out)
    first = outs[0] if outs else None
    produced = first.numel() if first is not None else 0
    rule = MAC_RULES.get(func)
    if rule is not None:
        macs = int(rule(args, out))
        flops = [("conv/linear/matmul", 2 * macs)]
        bias = args[2] if name in CONVS else (args[0] if name in ("addmm", "baddbmm") else None)
        if isinstance(bias, Tensor) and first is not None:
            flops.append(("bias", first.numel()))
        return macs, flops
    if name in VIEWS or name in COPIES or name in MOVES or name in FACTORIES:
        return None, []
    if name in ACTIVATIONS:
        return None, [("activation", produced)]
    if name in SOFTMAX:
        return None, [("activation", 3 * produced)]
    if name in ELEMENTWISE and not (name in ("max", "min") and len(args) == 1):
        return None, [("elementwise", produced)]
    if name in NORMS:
        training = "legit_no_training" not in name and not (
            name == "native_batch_norm" and len(args) > 5 and not args[5]
        )
        return None, [("norm", (4 if training else 2) * args[0].numel())]
    if name in POOLS:
        kernel = math.prod(expand(args[1], args[0].dim() - 2, 1))
        return None, [("pool", kernel * first.numel())]
    if name in ADAPTIVE or name in REDUCTIONS:
        return None, [("pool", args[0].numel())]
    if name in UPSAMPLE:
        return None, [("elementwise", produced)]
    return None
