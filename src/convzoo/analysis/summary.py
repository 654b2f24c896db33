"""Per-layer summary of a network, computed on the ``meta`` device.

Building the model under ``torch.device("meta")`` gives parameters with shapes
but no storage, and a forward pass on a meta tensor propagates shapes without
computing, so even VGG-19 or SENet-154 summarise in well under a second and
without allocating weights or activations.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.analysis.counting import MacCounter

__all__ = ["LayerRow", "Summary", "summary"]

MACS_NOTE = (
    "multiply-adds count convolutions (incl. grouped, depthwise, transposed), "
    "linear layers and matmuls; norms, activations, pooling and additions are not counted"
)


@dataclass
class LayerRow:
    name: str  # qualified module name, e.g. "stages.conv3_x.0.conv1"
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    model: str
    input_size: tuple[int, ...]  # (C, H, W)
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    total_macs: int
    output_shape: tuple[int, ...] | None
    notes: list[str] = field(default_factory=lambda: [MACS_NOTE])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [r.as_dict() for r in self.rows]
        return data


def _shape_of(output: Any) -> tuple[int, ...] | None:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, list | tuple) and output and isinstance(output[0], Tensor):
        return tuple(output[0].shape)
    return None


def _meta_model(model_or_name: nn.Module | str, **create_kwargs: Any) -> nn.Module:
    if isinstance(model_or_name, str):
        from convzoo.registry import create_model

        with torch.device("meta"):
            return create_model(model_or_name, **create_kwargs)
    first = next(model_or_name.parameters(), None)
    if first is not None and first.device.type == "meta":
        return model_or_name
    return copy.deepcopy(model_or_name).to("meta")


def _default_input(model: nn.Module) -> tuple[int, int, int]:
    card = getattr(model, "card", None)
    channels = getattr(model, "in_channels", card.input_size[0] if card else 3)
    if hasattr(model, "default_input_size"):
        return (channels, *model.default_input_size)
    if card is not None:
        return (channels, *card.input_size[1:])
    raise ValueError("input_size is required for a model without a default input size")


def summary(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | int | None = None,
    **create_kwargs: Any,
) -> Summary:
    """Per-layer table (name, type, output shape, params, multiply-adds) and totals.

    `input_size` is ``(C, H, W)``, ``(H, W)`` or one int for square inputs;
    by default the model's own default input size. The model is evaluated in
    eval mode on a batch of one.
    """
    model = _meta_model(model_or_name, **create_kwargs)
    default = _default_input(model)
    if input_size is None:
        size = default
    elif isinstance(input_size, int):
        size = (default[0], input_size, input_size)
    elif len(input_size) == 2:
        size = (default[0], *input_size)
    else:
        size = tuple(input_size)

    names = {module: name for name, module in model.named_modules()}
    counter = MacCounter()
    shapes: dict[str, tuple[int, ...] | None] = {}
    owners: list[str] = []

    def enter(module: nn.Module, _inputs: Any) -> None:
        owners.append(names[module])
        counter.owner = owners[-1]

    def leave(module: nn.Module, _inputs: Any, output: Any) -> None:
        shapes[names[module]] = _shape_of(output)
        owners.pop()
        counter.owner = owners[-1] if owners else ""

    handles = [m.register_forward_pre_hook(enter) for m in names]
    handles += [m.register_forward_hook(leave) for m in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            output = model(torch.empty((1, *size), device="meta"))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    rows = []
    for name, module in model.named_modules():
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        is_leaf = next(module.children(), None) is None
        macs = counter.macs.get(name, 0)
        if name and (is_leaf or own_params or macs) and name in shapes:
            rows.append(LayerRow(name, type(module).__name__, shapes[name], own_params, macs))
    # parameters of modules never called in eval mode (auxiliary heads) still count
    card = getattr(model, "card", None)
    return Summary(
        model=card.name if card else type(model).__name__,
        input_size=tuple(size),
        rows=rows,
        total_params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_macs=sum(counter.macs.values()),
        output_shape=_shape_of(output),
    )
