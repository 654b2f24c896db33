"""Before the first step: does training fit in memory, and if not, what saves enough?

The engine estimates training memory for the chosen batch
(`convzoo.analysis.memory.estimate_memory`: weights, gradients, optimizer state
and the activations autograd keeps, from a pass on the ``meta`` device) and
compares it with 80% of the memory available now (the rest covers what the
estimate leaves out: the allocator's slack, backward's transient buffers, the
data and evaluation batches). When it does not fit it switches on the first
memory-saving mode of the network that fits, cheapest first:

- ``memory-efficient``: the network's own mode (DenseNet's recomputed
  concatenation and BN-ReLU-conv1x1, Pleiss et al. 2017, arXiv:1707.06990),
  recomputing only cheap layers;
- ``checkpoint-stages``: activation checkpointing inside every stage of
  ``model.stages``: each stage of n blocks runs as ceil(sqrt(n)) checkpointed
  segments, so it keeps only the segments' inputs and recomputes one segment at a
  time in backward (about one more forward pass; Chen et al. 2016, arXiv:1604.06174).

A mode's estimate adds, to what its forward pass keeps, the activations backward
brings back while recomputing one piece (a dense layer, a segment), taken as twice
the average piece of the plain network. When no mode fits it refuses in one line,
with the largest batch that does.
Neither mode changes parameters, the state dict, or any computed value.
``--memory-saving on`` uses the mode that saves most without being asked, ``off``
skips the check.
"""

from __future__ import annotations

import math
import os
import types
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.analysis.memory import MemoryEstimate, estimate_memory
from convzoo.blocks.recompute import recompute_sequential
from convzoo.train.config import TrainConfig
from convzoo.train.distributed import Dist

__all__ = [
    "MODES",
    "DoesNotFitError",
    "MemoryPlan",
    "apply_mode",
    "available_memory",
    "check_training_memory",
    "estimate_training_bytes",
    "plan_memory",
    "supported_modes",
]

BUDGET = 0.8  # share of the available memory the estimate may use
MODES = ("memory-efficient", "checkpoint-stages")  # cheapest recomputation first


@dataclass(frozen=True)
class MemoryPlan:
    """What the check found and the mode it chose (``"none"``: train as is)."""

    batch_size: int
    available_bytes: int | None
    estimate_bytes: int  # without memory saving
    mode: str = "none"
    mode_bytes: int | None = None  # estimate with the chosen mode

    def note(self) -> str | None:
        if self.mode == "none":
            return None
        return (
            f"memory saving on ({self.mode}): training at batch {self.batch_size} needs about "
            f"{gb(self.estimate_bytes)} without it, {gb(self.mode_bytes or 0)} with it; "
            f"{gb(self.available_bytes or 0)} available"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def available_memory(device: torch.device | None = None) -> int | None:
    """Bytes that can be allocated now: free GPU memory, else the OS's MemAvailable."""
    if device is not None and device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None  # unknown: no check
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024  # kB
    return None


def stage_sequences(model: nn.Module) -> list[nn.Sequential]:
    """The stages (or their block sequences) worth checkpointing: two or more blocks."""
    stages = getattr(model, "stages", None)
    if not isinstance(stages, nn.Module):
        return []
    return [s for s in stages.children() if isinstance(s, nn.Sequential) and len(s) >= 2]


def supported_modes(model: nn.Module) -> list[str]:
    modes = []
    if hasattr(model, "memory_efficient"):
        modes.append("memory-efficient")
    if stage_sequences(model):
        modes.append("checkpoint-stages")
    return modes


def _checkpointed_forward(self: nn.Sequential, x: Tensor) -> Tensor:
    if self.training and torch.is_grad_enabled():
        return recompute_sequential(self, x, segments=math.ceil(math.sqrt(len(self))))
    return nn.Sequential.forward(self, x)


def apply_mode(model: nn.Module, mode: str) -> nn.Module:
    """Switch `mode` on in `model` (in place; the state dict is unchanged)."""
    if mode == "memory-efficient":
        model.memory_efficient = True
    elif mode == "checkpoint-stages":
        for stage in stage_sequences(model):
            # an instance attribute: no new submodule, so no new state-dict key
            stage.forward = types.MethodType(_checkpointed_forward, stage)
    elif mode != "none":
        raise ValueError(f"memory mode must be none or one of {MODES}, got {mode!r}")
    return model


def optimizer_states(optimizer: str, momentum: float) -> str:
    """The name `MemoryEstimate.training_bytes` uses for the optimizer's state."""
    if optimizer == "sgd":
        return "momentum" if momentum else "sgd"
    return "adamw"


def estimate_with(
    name: str, kwargs: dict[str, Any], input_shape: tuple[int, ...], mode: str
) -> MemoryEstimate:
    from convzoo.analysis.meta import meta_model

    meta = apply_mode(meta_model(name, **kwargs), mode)
    return estimate_memory(meta, input_shape)


def estimate_training_bytes(
    name: str,
    kwargs: dict[str, Any],
    input_shape: tuple[int, ...],
    *,
    batch_size: int,
    optimizer: str = "momentum",
    mode: str = "none",
) -> int:
    """Estimated training memory of model `name` at `batch_size` with `mode` on."""
    plain = estimate_with(name, kwargs, input_shape, "none")
    if mode == "none":
        return plain.training_bytes(batch_size, optimizer)
    from convzoo.analysis.meta import meta_model

    model = meta_model(name, **kwargs)
    estimate = estimate_with(name, kwargs, input_shape, mode)
    return mode_cost(model, estimate, plain, mode, optimizer).at(batch_size)


def plan_memory(
    model: nn.Module,
    name: str,
    kwargs: dict[str, Any],
    input_shape: tuple[int, ...],
    *,
    batch_size: int,
    optimizer: str,
    available: int | None,
    setting: str = "auto",
) -> MemoryPlan:
    """Choose a mode for `model` (and switch it on), or refuse with the batch that fits.

    `available` is the memory that can be used (None: unknown, nothing is checked).
    """
    modes = supported_modes(model)
    if setting == "off" or (available is None and setting == "auto"):
        return MemoryPlan(batch_size, available, 0)
    try:
        plain = estimate_with(name, kwargs, input_shape, "none")
    except (RuntimeError, NotImplementedError):  # an op the meta device cannot run: no estimate
        return MemoryPlan(batch_size, available, 0)
    need = plain.training_bytes(batch_size, optimizer)
    budget = BUDGET * available if available is not None else math.inf
    if setting == "auto" and need <= budget:
        return MemoryPlan(batch_size, available, need)
    costs: dict[str, Cost] = {}
    for mode in modes:  # cheapest recomputation first; "auto" stops at the first that fits
        costs[mode] = mode_cost(model, estimate_with(name, kwargs, input_shape, mode), plain,
                                mode, optimizer)  # fmt: skip
        if setting == "auto" and costs[mode].at(batch_size) <= budget:
            break
    by_saving = sorted(costs, key=lambda m: costs[m].at(batch_size))
    for mode in by_saving if setting == "on" else costs:
        if costs[mode].at(batch_size) <= budget:
            apply_mode(model, mode)
            return MemoryPlan(batch_size, available, need, mode, costs[mode].at(batch_size))
    best = min(
        [Cost(plain.training_bytes(0, optimizer), plain.per_sample_saved_bytes), *costs.values()],
        key=lambda c: c.per_sample,
    )
    saving = best.per_sample < plain.per_sample_saved_bytes
    raise DoesNotFitError(
        refusal(name, batch_size, need, best.largest_batch(budget), saving, available, modes)
    )


@dataclass(frozen=True)
class Cost:
    """Training bytes as ``fixed + per_sample * batch``."""

    fixed: int
    per_sample: int

    def at(self, batch_size: int) -> int:
        return self.fixed + self.per_sample * batch_size

    def largest_batch(self, budget: float) -> int:
        return int((budget - self.fixed) // max(self.per_sample, 1))


def recompute_units(model: nn.Module, mode: str) -> int:
    """How many pieces backward recomputes one at a time in `mode`."""
    from convzoo.models.densenet import DenseBlock

    if mode == "memory-efficient":
        return max(sum(len(b) for b in model.modules() if isinstance(b, DenseBlock)), 1)
    return max(sum(math.ceil(math.sqrt(len(s))) for s in stage_sequences(model)), 1)


def mode_cost(
    model: nn.Module, estimate: MemoryEstimate, plain: MemoryEstimate, mode: str, optimizer: str
) -> Cost:
    """`estimate` plus the activations of the piece being recomputed in backward.

    The estimate counts what the forward pass keeps; backward brings back one piece's
    activations at a time. Pieces are not equal (DenseNet's widen along a block), so
    the largest is taken as twice the average of the plain saved bytes.
    """
    units = recompute_units(model, mode)
    return Cost(
        estimate.training_bytes(0, optimizer) + 2 * plain.fixed_saved_bytes // units,
        estimate.per_sample_saved_bytes + 2 * plain.per_sample_saved_bytes // units,
    )


class DoesNotFitError(ValueError):
    """Training would not fit in the memory available."""


def refusal(
    name: str,
    batch_size: int,
    need: int,
    fits: int,
    saving: bool,
    available: int | None,
    modes: list[str],
) -> str:
    on = " with memory saving on" if saving else ""
    advice = f"--batch-size {fits} fits{on}" if fits >= 1 else "not even batch 1 fits"
    tried = f"even with memory saving ({', '.join(modes)})" if modes else "no memory-saving mode"
    return (
        f"{name} at batch {batch_size} needs about {gb(need)} to train (estimate; "
        f"`convzoo info {name} --batch {batch_size}`), more than {BUDGET:.0%} of the "
        f"{gb(available or 0)} available, {tried}; {advice} "
        f"(--memory-saving on forces it on, off skips this check)"
    )


def check_training_memory(
    model: nn.Module,
    cfg: TrainConfig,
    kwargs: dict[str, Any],
    input_shape: tuple[int, ...],
    dist: Dist,
) -> MemoryPlan:
    """`plan_memory` for a run: rank 0's view of the memory, shared by this machine's ranks."""
    available = available_memory(dist.device) if dist.is_main else None
    if available is not None:
        available //= local_processes(dist.world_size)
    available = dist.gather(available)[0]
    return plan_memory(
        model,
        cfg.model,
        kwargs,
        input_shape,
        batch_size=max(cfg.batch_size // dist.world_size, 1),
        optimizer=optimizer_states(cfg.optimizer, cfg.momentum),
        available=available,
        setting=cfg.memory_saving,
    )


def local_processes(world_size: int) -> int:
    """Processes sharing this machine's memory (torchrun sets LOCAL_WORLD_SIZE)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
