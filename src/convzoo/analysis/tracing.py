"""Tracing a forward pass at the ATen level.

A `TorchDispatchMode` sees every tensor operation a forward pass runs. For each
op the `Tracer` adds its cost (`convzoo.analysis.counting`) to the running
module, and carries receptive fields from the op's inputs to its outputs
(`convzoo.analysis.fields`, rules in `convzoo.analysis.field_rules`).

The same pass records the longest path in weight layers (``depth``: a
convolution or a matmul with one weight operand adds one), the bytes of every
activation produced (views and in-place results excluded), and a small
dataflow graph (one node per op, with its owning module) for diagrams.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

from convzoo.analysis.counting import CONVS, MATMULS, VIEWS, op_cost, tensors
from convzoo.analysis.fast_meta import fast_meta
from convzoo.analysis.field_rules import FieldRules
from convzoo.analysis.fields import Field, TensorInfo

__all__ = ["Node", "Tracer"]


@dataclass
class Node:
    """One op of the dataflow graph (views are transparent)."""

    id: int
    op: str
    owner: str  # innermost module running when the op ran
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    weight: bool = False  # a convolution / linear layer


class Tracer(FieldRules, TorchDispatchMode):
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
        for t in tensors(obj):
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
        out = fast_meta(name, args, kwargs) if self.fast_meta else None
        if out is None:
            out = func(*args, **kwargs)
        try:
            self._count(func, name, args, out)
            if self.track:
                self._propagate(name, args, kwargs, out)
        except Exception as exc:  # never break a forward pass over bookkeeping
            self.uncounted[f"{name} (tracing failed: {type(exc).__name__})"] += 1
        return out

    def _count(self, func: Any, name: str, args: tuple, out: Any) -> None:
        cost = op_cost(func, name, args, out)
        if cost is None:
            self.uncounted[str(func)] += 1
            return
        macs, flops = cost
        if macs is not None:
            self.macs[self.owner] = self.macs.get(self.owner, 0) + macs
        for category, n in flops:
            self._add_flops(category, n)

    # -- receptive fields and dataflow ----------------------------------------
    def _propagate(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        inputs = [(t, self._info[id(t)]) for t in tensors(args) if id(t) in self._info]
        if not inputs:
            return  # weights, constants, factories: not activations
        outs = tensors(out)
        if not outs:
            return
        xi = inputs[0][1]
        view = name in VIEWS
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
                weight = name in CONVS or name in MATMULS
                weight = weight and info.depth > max(i.depth for _, i in inputs)
                transposed = name in CONVS and len(args) > 6 and bool(args[6])
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
