"""Models on the meta device: shapes without memory, for every measurement.

Every analysis (summary, diagram, memory estimate) runs one forward pass on a
copy of the model on the ``meta`` device: tensors have shapes and dtypes but no
storage, so even the largest network costs no memory and no arithmetic.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["meta_model", "resolve_input_size"]


_INIT_FUNCTIONS = frozenset(
    getattr(nn.init, n)
    for n in (
        "normal_", "uniform_", "constant_", "ones_", "zeros_", "trunc_normal_",
        "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_",
        "orthogonal_", "eye_", "dirac_",
    )
    if hasattr(nn.init, n)
)  # fmt: skip


class _SkipMetaInit(TorchFunctionMode):
    """Turn ``torch.nn.init`` calls on meta tensors into no-ops, in this thread only.

    Initialising meta tensors computes nothing, but going through the init
    decompositions costs more than building the model. Every ``nn.init`` function
    dispatches through torch-function modes, and the mode stack is thread-local,
    so a model built meanwhile in another thread is initialised as usual.
    """

    def __torch_function__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if func in _INIT_FUNCTIONS:
            tensor = args[0] if args else kwargs["tensor"]
            if tensor.is_meta:
                return tensor
        return func(*args, **kwargs)


def meta_model(model_or_name: nn.Module | str, **create_kwargs: Any) -> nn.Module:
    """The model on the meta device (built there from a name, initialisation skipped)."""
    if isinstance(model_or_name, str):
        from convzoo.factory import create_model

        kwargs = {k: v for k, v in create_kwargs.items() if v is not None}
        with torch.device("meta"), _SkipMetaInit():
            return create_model(model_or_name, **kwargs)
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


def resolve_input_size(
    model: nn.Module, input_size: tuple[int, ...] | int | None
) -> tuple[int, ...]:
    """(C, H, W) from a size, (H, W) or nothing: the model's or its card's defaults fill in."""
    if input_size is None:
        return _default_input(model)
    if not isinstance(input_size, int) and len(input_size) == 3:
        return tuple(input_size)  # (C, H, W): nothing to look up
    card = getattr(model, "card", None)
    channels = getattr(model, "in_channels", card.input_size[0] if card else 3)
    if isinstance(input_size, int):
        return (channels, input_size, input_size)
    return (channels, *input_size)
