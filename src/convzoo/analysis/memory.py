"""Training memory: what autograd keeps for backward, estimated and measured.

*Estimate* (no real memory): a training-mode forward pass on the ``meta``
device at batch sizes 1 and 2 under ``torch.autograd.graph.saved_tensors_hooks``
records every tensor autograd saves for backward. Parameters are left out
(they are counted once as weights), the rest is deduplicated by storage (a
ReLU output that the next convolution also saves is one tensor), and the two
batch sizes give ``fixed + per_sample * batch`` (batch-norm statistics are the
fixed part). Training memory at batch ``B`` is then

    weights + gradients + optimizer state (momentum: 1x, Adam: 2x weights)
    + saved activations(B)

which leaves out the allocator's slack and the transient buffers of backward.

*Measured* (``measure_saved_bytes``): the same hooks around a real CPU
forward pass at the requested batch size, with real tensors, deduplicated by
storage pointer. The estimate differs from it only where CPU kernels save
something other than the meta kernels do; the tests hold it to 5%.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.analysis.meta import meta_model, resolve_input_size

__all__ = ["MemoryEstimate", "estimate_memory", "measure_saved_bytes"]

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adamw": 2, "adam": 2}


@dataclass(frozen=True)
class MemoryEstimate:
    model: str
    input_size: tuple[int, ...]
    param_bytes: int
    fixed_saved_bytes: int  # saved for backward independent of the batch size
    per_sample_saved_bytes: int

    def saved_bytes(self, batch_size: int) -> int:
        return self.fixed_saved_bytes + self.per_sample_saved_bytes * batch_size

    def training_bytes(self, batch_size: int, optimizer: str = "momentum") -> int:
        if optimizer not in OPTIMIZER_STATES:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZER_STATES)}, got {optimizer!r}"
            )
        weights = self.param_bytes * (2 + OPTIMIZER_STATES[optimizer])  # weights + grads + state
        return weights + self.saved_bytes(batch_size)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _storage_key(t: Tensor) -> int:
    """The address of the tensor's StorageImpl: shared by views, unique while alive."""
    return t.untyped_storage()._cdata


def _saved_bytes(model: nn.Module, x: Tensor) -> int:
    """Bytes autograd saves during one forward pass of ``model(x)`` (params excluded)."""
    param_keys = {_storage_key(p) for p in model.parameters()}
    seen: dict[int, int] = {}
    keep: list[Tensor] = []  # keep meta storages alive so their addresses stay unique

    def pack(t: Tensor) -> Tensor:
        key = _storage_key(t)
        if key not in param_keys:
            nbytes = t.untyped_storage().nbytes()
            seen[key] = max(seen.get(key, 0), nbytes)
            keep.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(seen.values())


def estimate_memory(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | int | None = None,
    **create_kwargs: Any,
) -> MemoryEstimate:
    """Saved-for-backward bytes as ``fixed + per_sample * B``, on the meta device."""
    model = meta_model(model_or_name, **create_kwargs)
    size = resolve_input_size(model, input_size)
    was_training = model.training
    model.train()
    try:
        # batches of 2 and 3: batch norm refuses one sample on a 1x1 map in train mode
        two, three = (
            _saved_bytes(model, torch.empty((b, *size), device="meta", requires_grad=True))
            for b in (2, 3)
        )
    finally:
        model.train(was_training)
    card = getattr(model, "card", None)
    return MemoryEstimate(
        model=card.name if card else type(model).__name__,
        input_size=tuple(size),
        param_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
        fixed_saved_bytes=3 * two - 2 * three,
        per_sample_saved_bytes=three - two,
    )


def measure_saved_bytes(
    model_or_name: nn.Module | str,
    input_size: tuple[int, ...] | int | None = None,
    *,
    batch_size: int = 1,
    **create_kwargs: Any,
) -> int:
    """Bytes autograd actually saves for backward in a real CPU training step."""
    if isinstance(model_or_name, str):
        from convzoo.factory import create_model

        kwargs = {k: v for k, v in create_kwargs.items() if v is not None}
        model = create_model(model_or_name, **kwargs)
    else:
        model = model_or_name
        if next(model.parameters()).device.type == "meta":
            raise ValueError("measure_saved_bytes needs a model with real weights, not meta")
        model = copy.deepcopy(model)
    size = resolve_input_size(model, input_size)
    model.train()
    x = torch.randn((batch_size, *size), requires_grad=True)
    return _saved_bytes(model, x)
