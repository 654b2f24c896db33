"""Several processes with PyTorch's own DistributedDataParallel, launched by torchrun.

torchrun sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; when ``WORLD_SIZE``
is above 1 the process group is created with gloo on CPUs and nccl on GPUs.
Rank 0 logs and writes files; every rank holds the same weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["Dist", "init_distributed"]


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of `values` over all ranks (float64)."""
        if not self.enabled:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.comm_device)
        dist.all_reduce(t)
        return t.tolist()

    def sum_tensor(self, t: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return t
        out = t.to(self.comm_device)
        dist.all_reduce(out)
        return out.to(t.device)

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order (on every rank)."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def max_weight_difference(self, model: torch.nn.Module) -> float | None:
        """Largest difference between any rank's weights and rank 0's (None: one process)."""
        if not self.enabled:
            return None
        state = model.state_dict().values()
        flat = torch.cat([p.detach().float().flatten().cpu() for p in state])
        everyone = self.gather(flat)
        return max(float((w - everyone[0]).abs().max()) for w in everyone)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    @property
    def comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def init_distributed(device: str = "auto") -> Dist:
    """Join the process group torchrun describes (or run as a single process)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "--device cuda: no CUDA GPU is available to PyTorch here; use --device cpu (or auto)"
        )
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(rank, world_size, local_rank, dev)


def shutdown(*, sync: bool = False) -> None:
    """Leave the process group. `sync` (a normal end) waits for every rank first: a rank
    that tears gloo down while another still talks to it aborts at exit."""
    if dist.is_available() and dist.is_initialized():
        if sync:
            dist.barrier()
        dist.destroy_process_group()
