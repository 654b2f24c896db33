"""Seeds, random-number state and determinism: what exact resume depends on.

Data order and augmentation are pure functions of ``(seed, epoch, step)`` (see
`convzoo.data.loader`); every other random draw (dropout, stochastic depth)
comes from the global generators, whose states a checkpoint stores per rank.
"""

from __future__ import annotations

import ast
import os
import random
from typing import Any

import numpy as np
import torch

__all__ = ["rng_state", "seed_everything", "set_deterministic", "set_rng_state"]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(on: bool, *, compiling: bool = False) -> None:
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if compiling:
        torch.use_deterministic_algorithms(on)
    elif torch.are_deterministic_algorithms_enabled() != on:
        # The public setter also configures Inductor, and importing Inductor costs many
        # seconds; without --compile the ATen flag it sets is all that matters.
        torch._C._set_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on


def rng_state() -> dict[str, Any]:
    """The state of every global generator (torch, numpy, python, CUDA), checkpointable."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
        "numpy_pos": int(np.random.get_state()[2]),
        "python": repr(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"]))
    random.setstate(ast.literal_eval(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
