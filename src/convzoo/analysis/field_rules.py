"""How each op carries receptive fields from its inputs to its outputs.

`FieldRules` is the half of the tracer (`convzoo.analysis.tracing.Tracer`) that
answers, for one op, the `TensorInfo` of each output: a method ``_rf_<op>`` for
ops with their own rule, `_rule_for` for the families of ops in the op tables.
The rules themselves are listed in `convzoo.analysis.fields`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from torch import Tensor

from convzoo.analysis.counting import (
    ACTIVATIONS,
    ADAPTIVE,
    CONVS,
    COPIES,
    MATMULS,
    NORMS,
    POOLS,
    REDUCTIONS,
    SOFTMAX,
    UPSAMPLE,
    VIEWS,
    expand,
    op_arg,
)
from convzoo.analysis.fields import Dim, Field, TensorInfo, axis_of, positional, union, view_dims


class FieldRules:
    """Per-op receptive-field rules; the tracer supplies ``_info`` (tensor id ->
    `TensorInfo`) and ``_name`` (the op being traced)."""

    _info: dict[int, TensorInfo]
    _name: str

    # (the op table, the name of its rule), checked in this order
    _TABLE_RULES = (
        (VIEWS, "_rf_view"),
        (COPIES | ACTIVATIONS | NORMS, "_rf_same"),
        (SOFTMAX, "_rf_softmax"),
        (CONVS, "_rf_conv"),
        (POOLS, "_rf_pool"),
        (ADAPTIVE, "_rf_adaptive"),
        (REDUCTIONS, "_rf_reduce"),
        (UPSAMPLE, "_rf_upsample"),
        (MATMULS, "_rf_matmul"),
    )

    def _rule_for(self, name: str) -> Callable[..., Any]:
        for ops, rule in self._TABLE_RULES:
            if name in ops:
                return getattr(self, rule)
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
        local = [(t, i) for t, i in inputs if any(positional(d) for d in i.dims)]
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
                    if positional(d) and t.shape[k] == out.shape[offset + k]:
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
            dims = view_dims(xi.dims, tuple(x.shape), tuple(t.shape))
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
        dim = op_arg(args, kwargs, 1, "dim", 0) % x.dim()
        start = op_arg(args, kwargs, 2, "start", 0) or 0
        step = op_arg(args, kwargs, 4, "step", 1) or 1
        start = start + x.shape[dim] if start < 0 else min(start, x.shape[dim])
        return self._shift(xi, dim, start, step, outs[0].shape[dim])

    def _shift(self, xi: TensorInfo, dim: int, start: int, step: int, size: int) -> TensorInfo:
        axis = axis_of(xi.dims[dim])
        dims = list(xi.dims)
        dims[dim] = ((axis if axis is not None else None, size),) if axis != -1 else ((-1, size),)
        fields = list(xi.fields)
        if axis is not None and axis >= 0:
            f = fields[axis]
            fields[axis] = Field(f.size, f.jump * step, f.start + start * f.jump)
        return self._base(xi, fields=tuple(fields), dims=tuple(dims))

    def _rf_split(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dim = op_arg(args, kwargs, 2, "dim", 0) % x.dim()
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
        dim = op_arg(args, kwargs, 1, "dim", 0) % x.dim()
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
        dim = op_arg(args, kwargs, 1, "dim", 0) % x.dim()
        dims = list(xi.dims)
        axis = axis_of(xi.dims[dim])
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
        positions = positional(dims[dim])
        dims[dim] = ((-1 if positions else None, outs[0].shape[dim]),)
        # picking channels keeps the field; picking positions loses which ones
        info = self._base(xi, dims=tuple(dims))
        info.global_context = info.global_context or positions
        return info

    def _rf_constant_pad_nd(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        pad = list(args[1])
        dims, fields = list(xi.dims), list(xi.fields)
        for k in range(len(pad) // 2):
            dim = x.dim() - 1 - k
            axis = axis_of(dims[dim])
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
            axis = axis_of(dims[dim])
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
        stride, padding, dilation = (expand(args[i], k, d) for i, d in ((3, 1), (4, 0), (5, 1)))
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
        kernel = expand(args[1], k, 1)
        k = len(kernel)
        stride = expand(args[2] if len(args) > 2 else None, k, 0)
        stride = [s or kk for s, kk in zip(stride, kernel, strict=True)]
        padding = expand(args[3] if len(args) > 3 else 0, k, 0)
        dilation = expand(args[4] if len(args) > 4 and isinstance(args[4], list | int) else 1, k, 1)
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
        k = len(expand(args[1], 1, 1)) if isinstance(args[1], list | tuple) else 1
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

    @staticmethod
    def _make_whole(fields: list[Field], dim: Dim) -> bool:
        """A reduced or contracted dimension `dim` mixes every position of the axes it
        holds: their fields become whole. True if it mixes any (a size above 1)."""
        mixes = False
        for axis, size in dim:
            if axis is None or size == 1:
                continue
            mixes = True
            if axis >= 0:
                fields[axis] = fields[axis].whole(size)
        return mixes

    def _rf_reduce(self, args, kwargs, outs, inputs):
        x, xi = inputs[0]
        dims_arg = op_arg(args, kwargs, 1, "dim", None)
        if dims_arg is None or (isinstance(dims_arg, list | tuple) and not dims_arg):
            reduced = list(range(x.dim()))
        elif isinstance(dims_arg, int):
            reduced = [dims_arg % x.dim()]
        else:
            reduced = [d % x.dim() for d in dims_arg]
        fields = list(xi.fields)
        global_context = xi.global_context
        for d in reduced:
            if self._make_whole(fields, xi.dims[d]):
                global_context = True
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
        if not positional(xi.dims[dim]):
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
            if self._make_whole(fields, info.dims[dim]):
                global_context = True
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
