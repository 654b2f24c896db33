"""Per-layer summary of a network, computed on the ``meta`` device.

Building the model under ``torch.device("meta")`` gives parameters with shapes
but no storage, and a forward pass on a meta tensor propagates shapes without
computing, so even VGG-19 or SENet-154 summarise in well under a second and
without allocating weights or activations.

One forward pass under `convzoo.analysis.tracing.Tracer` gives every row its
output shape, parameters, multiply-adds, FLOPs, activation bytes and receptive
field (see that module for exactly what is counted and the receptive-field
rules). ``depth=`` collapses the table to modules at that nesting level
(1 = stem/stages/head, 2 = stages, 3 = blocks) and merges runs of identical
sibling blocks into one row (``stages.conv3_x.1-3`` with ``repeat=3``).
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.analysis.counting import FLOP_CATEGORIES
from convzoo.analysis.fields import TensorInfo
from convzoo.analysis.meta import meta_model, resolve_input_size
from convzoo.analysis.tracing import Tracer

__all__ = ["LayerRow", "ReceptiveField", "Summary", "summary"]

MACS_NOTE = (
    "multiply-adds count convolutions (incl. grouped, depthwise, transposed), "
    "linear layers and matmuls; norms, activations, pooling and additions are not counted"
)
FLOPS_NOTE = (
    "FLOPs: conv/linear/matmul = 2 per multiply-add; 'all' adds bias (1/output), "
    "norm (2/element, 4 when computing statistics), activation (1/element, softmax 3), "
    "pool (1 per window element) and element-wise ops (1/element)"
)
MEMORY_NOTE = (
    "activation memory: bytes of every tensor the forward pass produces (views and "
    "in-place results excluded), batch 1, not the peak"
)
RF_NOTE = (
    "receptive field: size / jump (total stride) / centre of the first unit, in input "
    "pixels, analytic (max over paths, not clipped to the image); 'g' = sees global context"
)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of an output w.r.t. the input, per spatial axis (H, W)."""

    size: tuple[float, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    global_context: bool = False

    @classmethod
    def of(cls, info: TensorInfo) -> ReceptiveField:
        return cls(
            tuple(_num(f.size) for f in info.fields),
            tuple(_num(f.jump) for f in info.fields),
            tuple(_num(f.start) for f in info.fields),
            info.global_context,
        )

    def __str__(self) -> str:
        def one(values: tuple[float, ...]) -> str:
            return f"{values[0]:g}" if len(set(values)) == 1 else "x".join(f"{v:g}" for v in values)

        return one(self.size) + ("g" if self.global_context else "")


def _num(value: float) -> float:
    return int(value) if float(value).is_integer() else round(float(value), 4)


@dataclass
class LayerRow:
    name: str  # qualified module name, e.g. "stages.conv3_x.0.conv1"
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    flops: int = 0  # every counted FLOP (see FLOPS_NOTE)
    activation_bytes: int = 0  # bytes of this module's output
    rf: ReceptiveField | None = None
    repeat: int = 1  # > 1 for a collapsed run of identical blocks (totals, not per block)
    training_only: bool = False  # an auxiliary head: runs in training mode only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def display_name(self) -> str:
        return f"{self.name} x{self.repeat}" if self.repeat > 1 else self.name


@dataclass
class Summary:
    model: str
    input_size: tuple[int, ...]  # (C, H, W)
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    total_macs: int
    output_shape: tuple[int, ...] | None
    notes: list[str] = field(default_factory=lambda: [MACS_NOTE, FLOPS_NOTE, MEMORY_NOTE, RF_NOTE])
    flops_by_category: dict[str, int] = field(default_factory=dict)
    activation_bytes: int = 0  # forward pass at batch 1, see MEMORY_NOTE
    param_bytes: int = 0
    buffer_bytes: int = 0
    depth: int = 0  # weight layers on the longest input-to-output path
    weight_layers: int = 0  # convolution and linear modules in total
    feature_rf: ReceptiveField | None = None  # of the last spatial feature map
    uncounted: dict[str, int] = field(default_factory=dict)  # ops without a counting rule

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def flops(self) -> int:
        """conv/linear/matmul FLOPs (= 2 x multiply-adds)."""
        return self.flops_by_category.get("conv/linear/matmul", 0)

    @property
    def flops_all(self) -> int:
        return sum(self.flops_by_category.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [r.as_dict() for r in self.rows]
        data["non_trainable_params"] = self.non_trainable_params
        data["flops"] = self.flops
        data["flops_all"] = self.flops_all
        return data


def _shape_of(output: Any) -> tuple[int, ...] | None:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, list | tuple) and output and isinstance(output[0], Tensor):
        return tuple(output[0].shape)
    return None


def _bytes_of(output: Any) -> int:
    if isinstance(output, Tensor):
        return output.numel() * output.element_size()
    if isinstance(output, list | tuple):
        return sum(_bytes_of(o) for o in output)
    return 0


@dataclass
class _Trace:
    tracer: Tracer
    order: list[str]  # modules in order of first call
    shapes: dict[str, tuple[int, ...] | None]
    out_bytes: dict[str, int]
    infos: dict[str, TensorInfo | None]
    output: Any

    def rf(self, name: str) -> ReceptiveField | None:
        info = self.infos.get(name)
        return ReceptiveField.of(info) if info is not None else None


def trace(
    model: nn.Module,
    size: tuple[int, ...],
    *,
    batch: int = 1,
    restore_mode: bool = True,
    only: Sequence[str] | None = None,
    training: bool = False,
) -> _Trace:
    """One forward pass on meta under the tracer, with module hooks: in eval mode,
    or in training mode with ``training=True`` (which runs auxiliary heads)."""
    names = {module: name for name, module in model.named_modules()}
    tracer = Tracer()
    shapes: dict[str, tuple[int, ...] | None] = {}
    out_bytes: dict[str, int] = {}
    infos: dict[str, TensorInfo | None] = {}
    order: list[str] = []
    owners: list[str] = []

    def enter(module: nn.Module, _inputs: Any) -> None:
        name = names[module]
        if name not in shapes:
            order.append(name)
            shapes[name] = None
        owners.append(name)
        tracer.owner = name

    def leave(module: nn.Module, _inputs: Any, output: Any) -> None:
        name = names[module]
        shapes[name] = _shape_of(output)
        out_bytes[name] = _bytes_of(output)
        infos[name] = tracer.lookup(output)
        owners.pop()
        tracer.owner = owners[-1] if owners else ""

    # hooks cost more than the tracing itself; `only` limits them to the named modules
    hooked = [m for m, n in names.items() if only is None or n in only]
    handles = [m.register_forward_pre_hook(enter) for m in hooked]
    handles += [m.register_forward_hook(leave) for m in hooked]
    was_training = model.training
    model.train(training)
    # the pass keeps every activation alive: the cyclic garbage collector would
    # rescan them over and over while finding nothing to free
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = torch.empty((batch, *size), device="meta")
        tracer.watch(x, spatial_axes=len(size) - 1)
        with torch.no_grad(), tracer:
            output = model(x)
    finally:
        if gc_was_enabled:
            gc.enable()
        for h in handles:
            h.remove()
        if restore_mode:
            model.train(was_training)
    return _Trace(tracer, order, shapes, out_bytes, infos, output)


def _prefix_sum(values: dict[str, int], name: str) -> int:
    if not name:
        return sum(values.values())
    dotted = name + "."
    return sum(v for k, v in values.items() if k == name or k.startswith(dotted))


def _flops_of(tracer: Tracer, name: str, *, recurse: bool) -> int:
    if not recurse:
        return sum(tracer.flops.get(name, Counter()).values())
    dotted = name + "."
    return sum(
        sum(c.values()) for k, c in tracer.flops.items() if k == name or k.startswith(dotted)
    )


def _signature(module: nn.Module) -> tuple:
    return (
        type(module).__name__,
        tuple((n, tuple(p.shape)) for n, p in module.named_parameters()),
        tuple((n, type(m).__name__) for n, m in module.named_modules()),
    )


def _index_of(name: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"(.*\.)?(\d+)", name)
    if match is None:
        return None
    return match.group(1) or "", int(match.group(2))


def _collapse(rows: list[LayerRow], modules: dict[str, nn.Module]) -> list[LayerRow]:
    """Merge runs of consecutive identical sibling blocks named ``prefix.i``."""
    merged: list[LayerRow] = []
    signatures: list[tuple | None] = []
    firsts: list[str] = []  # name of the first block of each merged row
    for row in rows:
        idx = _index_of(row.name)
        sig = None
        if idx is not None and row.name in modules:
            sig = (idx[0], _signature(modules[row.name]), row.macs // row.repeat, row.output_shape)
        if merged and sig is not None and signatures[-1] == sig:
            last = merged[-1]
            merged[-1] = LayerRow(
                f"{firsts[-1]}-{idx[1]}",
                last.type,
                row.output_shape,
                last.params + row.params,
                last.macs + row.macs,
                last.flops + row.flops,
                last.activation_bytes + row.activation_bytes,
                row.rf,
                last.repeat + 1,
            )
            continue
        merged.append(row)
        signatures.append(sig)
        firsts.append(row.name)
    return merged


def _rows(
    model: nn.Module, size: tuple[int, ...], run: _Trace, depth: int | None
) -> list[LayerRow]:
    """The table in execution order (as the data flows), Identity modules left out.

    Auxiliary heads run in training mode only: a second pass in training mode
    gives their rows, marked ``training_only``, after the layer they hang from.
    """
    modules = dict(model.named_modules())
    runs = [(run, 1, False)]  # (trace, its batch size, runs in training mode only)
    order = run.order
    if len(getattr(model, "aux_heads", ())):
        # batch 2: batch norm refuses one value per channel in training mode (1x1 maps)
        train_run = trace(model, size, batch=2, training=True)
        runs.append((train_run, 2, True))
        order = _with_parents(train_run.order, modules)
    table = []
    for name in order:
        module = modules[name]
        if not name or isinstance(module, nn.Identity):
            continue
        level = name.count(".") + 1
        is_leaf = next(module.children(), None) is None
        source, batch, training_only = next(
            (r for r in runs if name in r[0].shapes), (runs[-1][0], runs[-1][1], True)
        )
        tracer = source.tracer
        if depth is None:
            params = sum(p.numel() for p in module.parameters(recurse=False))
            macs = tracer.macs.get(name, 0)
            if not (is_leaf or params or macs) or name not in source.shapes:
                continue
            flops = _flops_of(tracer, name, recurse=False)
        elif level == depth or (level < depth and is_leaf):
            params = sum(p.numel() for p in module.parameters())
            macs = _prefix_sum(tracer.macs, name)
            flops = _flops_of(tracer, name, recurse=True)
        else:
            continue
        shape = source.shapes.get(name)
        table.append(
            LayerRow(
                name,
                type(module).__name__,
                (1, *shape[1:]) if shape else None,
                params,
                macs // batch,
                flops // batch,
                source.out_bytes.get(name, 0) // batch,
                source.rf(name),
                training_only=training_only,
            )
        )
    return table


def _with_parents(order: list[str], modules: dict[str, nn.Module]) -> list[str]:
    """``order`` with every module that is never called itself (a ModuleDict of heads)
    put just before its first called descendant."""
    seen = set(order)
    out: list[str] = []
    for name in order:
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent not in seen and parent in modules:
                seen.add(parent)
                out.append(parent)
        out.append(name)
    return out


def summary(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | int | None = None,
    *,
    depth: int | None = None,
    collapse: bool | None = None,
    rows: bool = True,
    **create_kwargs: Any,
) -> Summary:
    """Per-layer table and totals (see the module docstring for what each column is).

    `input_size` is ``(C, H, W)``, ``(H, W)`` or one int for square inputs;
    by default the model's own default input size. The model is evaluated in
    eval mode on a batch of one. ``depth`` shows modules down to that nesting
    level with their subtrees summed; ``collapse`` (default: on when ``depth``
    is given) merges runs of identical sibling blocks. ``rows=False`` gives the
    totals only (about twice as fast; per-owner numbers are then not split).
    """
    model = meta_model(model_or_name, **create_kwargs)
    size = resolve_input_size(model, input_size)
    modules = dict(model.named_modules())
    # a model built here from a name is thrown away: no need to restore train mode
    only = None
    if not rows:  # the top two levels are enough for the last feature map's field
        only = tuple(n for n in modules if n.count(".") <= 1)
    run = trace(model, size, restore_mode=not isinstance(model_or_name, str), only=only)
    tracer = run.tracer

    table: list[LayerRow] = []  # stays empty for rows=False (totals only)
    if rows:
        if depth is not None and depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        table = _rows(model, size, run, depth)
        if depth is not None and (collapse is None or collapse):
            table = _collapse(table, modules)

    flops_total: Counter[str] = Counter()
    for counts in tracer.flops.values():
        flops_total.update(counts)
    card = getattr(model, "card", None)
    out_info = tracer.lookup(run.output)
    feature_rf = None
    spatial = [r for r in run.order if r and (run.shapes.get(r) or ()) and len(run.shapes[r]) > 2]
    stages = getattr(model, "stages", None)
    if isinstance(stages, nn.Module) and "stages" in run.infos:
        feature_rf = run.rf("stages")
    elif spatial:
        feature_rf = run.rf(spatial[-1])
    params = list(model.parameters())
    return Summary(
        model=card.name if card else type(model).__name__,
        input_size=tuple(size),
        rows=table,
        # parameters of modules never called in eval mode (auxiliary heads) still count
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_macs=sum(tracer.macs.values()),
        output_shape=_shape_of(run.output),
        flops_by_category={c: flops_total[c] for c in FLOP_CATEGORIES if flops_total[c]},
        activation_bytes=sum(tracer.activation_bytes.values()),
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()),
        depth=out_info.depth if out_info is not None else 0,
        weight_layers=sum(
            1
            for m in modules.values()
            if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear | nn.ConvTranspose2d)
        ),
        feature_rf=feature_rf,
        uncounted=dict(tracer.uncounted),
    )
