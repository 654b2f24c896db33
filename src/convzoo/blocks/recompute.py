"""Activation checkpointing that leaves batch-norm statistics exactly as without it.

`torch.utils.checkpoint` drops the activations of a function after the forward
pass and runs the function again during backward to get them back. A batch norm
inside it would then update its running mean and variance twice per step. Here
the running statistics are copied before the second run and put back after it:
the outputs are those of the first run (training-mode batch norm normalises with
the batch's own statistics), and the state dict ends the step exactly as it
would without checkpointing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

__all__ = ["frozen_norm_statistics", "recompute", "recompute_sequential"]


@contextlib.contextmanager
def frozen_norm_statistics(module: nn.Module) -> Iterator[None]:
    """The running statistics of the batch norms in `module` are the same after as before."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        kept = [{k: v.clone() for k, v in m.named_buffers(recurse=False)} for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in zip(norms, kept, strict=True):
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)


def recompute(module: nn.Module, function: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
    """``function(*inputs)``, its activations recomputed in backward instead of stored.

    `module` holds the layers `function` uses (its batch norms are frozen while
    recomputing). Outside training, or without gradients, it is a plain call.
    """
    if not (module.training and torch.is_grad_enabled()):
        return function(*inputs)
    return checkpoint(
        function,
        *inputs,
        use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(), frozen_norm_statistics(module)),
    )


def recompute_sequential(blocks: nn.Sequential, x: Tensor, segments: int) -> Tensor:
    """Run `blocks` in `segments` checkpointed runs: only each run's input is kept."""
    layers = list(blocks)
    size = -(-len(layers) // max(segments, 1))  # ceil
    for begin in range(0, len(layers), size):
        part = nn.Sequential(*layers[begin : begin + size])
        x = recompute(part, part, x)
    return x
