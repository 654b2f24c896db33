"""Measuring speed fairly: the machine's facts, step functions per setting, interleaved timing.

Shared by the training engine's precision/layout probe (`convzoo.train.autotune`)
and `convzoo bench`. Candidates are timed side by side in one process: each is
warmed up, then they take turns (A B C A B C ...), so a change in the machine's
load during the measurement hits all of them alike.
"""

from __future__ import annotations

import copy
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "Setting",
    "interleaved",
    "machine_facts",
    "native_bf16",
    "train_step",
]


@dataclass(frozen=True)
class Setting:
    """A way to run a model: numeric precision and memory layout."""

    precision: str = "fp32"  # fp32 | bf16 (autocast)
    channels_last: bool = False

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")

    @property
    def label(self) -> str:
        return self.precision + ("+channels_last" if self.channels_last else "")

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.precision == "bf16" else None

    def autocast(self, device_type: str = "cpu") -> torch.autocast:
        """The autocast context of this precision (a no-op for fp32)."""
        dtype = self.autocast_dtype
        return torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def prepare(self, model: nn.Module, images: Tensor) -> tuple[nn.Module, Tensor]:
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
            images = images.contiguous(memory_format=torch.channels_last)
        return model, images


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """True when the device computes bf16 in hardware (AVX-512 BF16 / AMX, or a CUDA GPU
    that supports it); elsewhere bf16 autocast is emulated and many times slower."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, Any]:
    """What a speed measurement depends on, recorded next to it."""
    facts = {
        "cpu": cpu_model(),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
        "amx": bool(torch.cpu._is_amx_tile_supported()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if torch.cuda.is_available():
        facts["cuda_device"] = torch.cuda.get_device_name()
    return facts


def all_heads(output: Any) -> list[Tensor]:
    """Every logits tensor of an output: a tensor, convzoo's `AuxOutput`, or the
    named tuples torchvision's GoogLeNet and Inception-v3 return in training."""
    if isinstance(output, Tensor):
        return [output]
    if output is None:
        return []
    return [head for item in output for head in all_heads(item)]


def train_step(
    model: nn.Module, images: Tensor, labels: Tensor, setting: Setting, *, copy_model: bool = True
) -> Callable[[], None]:
    """One SGD step of a copy of `model` in `setting` (the original is not touched).

    The loss is the sum of every head's cross-entropy: the same work for convzoo's
    networks and their twins, whatever their auxiliary heads return.
    """
    model = copy.deepcopy(model) if copy_model else model
    model, images = setting.prepare(model.train(), images)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    dtype = setting.autocast_dtype

    def step() -> None:
        with torch.autocast(images.device.type, dtype=dtype or torch.float32,
                            enabled=dtype is not None):  # fmt: skip
            output = model(images)
        loss = sum(criterion(head.float(), targets_for(head, labels)) for head in all_heads(output))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def targets_for(logits: Tensor, labels: Tensor) -> Tensor:
    """`labels` for (N, C) logits; for per-pixel (N, C, H, W) logits, each label fills its map."""
    if logits.dim() <= 2:
        return labels
    return (
        labels.view(-1, *([1] * (logits.dim() - 2))).expand(-1, *logits.shape[2:]) % logits.shape[1]
    )


def infer_step(model: nn.Module, images: Tensor, setting: Setting) -> Callable[[], None]:
    """One forward pass of a copy of `model` in eval mode, without autograd."""
    model, images = setting.prepare(copy.deepcopy(model).eval(), images)

    @torch.inference_mode()
    def step() -> None:
        with setting.autocast(images.device.type):
            model(images)

    return step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(
    steps: dict[str, Callable[[], None]],
    *,
    batch: int,
    warmup: int = 1,
    repeats: int = 3,
    steps_per_repeat: int = 1,
    budget_s: float | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, list[float]]:
    """Images per second of each candidate in each repeat, candidates taking turns.

    After `warmup` untimed calls each, every repeat times `steps_per_repeat`
    calls of every candidate in turn. With `budget_s`, repeats stop once that
    many seconds have been spent timing (at least one repeat always runs).
    """
    device = torch.device(device)
    for step in steps.values():
        for _ in range(warmup):
            step()
    _sync(device)
    results: dict[str, list[float]] = {name: [] for name in steps}
    spent = 0.0
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(steps_per_repeat):
                step()
            _sync(device)
            seconds = time.perf_counter() - start
            spent += seconds
            results[name].append(batch * steps_per_repeat / seconds)
        if budget_s is not None and spent > budget_s:
            break
    return results
