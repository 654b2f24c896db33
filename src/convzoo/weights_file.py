"""Reading PyTorch files without running their code (weights-only unpickling).

Both training checkpoints (`convzoo.train.checkpoint`) and other implementations'
weight files (`convzoo.interop`) are read here, so one set of messages explains
every refusal.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from convzoo.errors import CheckpointError

__all__ = ["read_weights_only"]


def read_weights_only(path: Path, what: str) -> Any:
    """`torch.load` with ``weights_only=True``, its failures explained in our own words.

    torch's own message for a refused pickle suggests retrying with
    ``weights_only=False``, which would run whatever code the file carries; ours
    says what the file is not and never gives that advice.
    """
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), not a {what}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head.startswith((b"PK", b"\x80")):  # torch's zip format, or a legacy pickle
        raise CheckpointError(
            f"{path} is not a PyTorch file (neither a zip archive nor a pickle; "
            f"it starts with {head!r}), so not a {what}"
        )
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{path} is not a weights-only {what}: {_refusal(exc)}") from None
    except Exception as exc:  # truncated zip, bad record, wrong magic number ...
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{path} is damaged ({size} bytes; {first.split('. ')[0]}), not a readable {what}"
        ) from None


def _refusal(exc: pickle.UnpicklingError) -> str:
    """Why weights-only unpickling refused a file, without torch's 'weights_only=False' advice."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        holds = f"it holds a Python object ({found.group(1)})"
    elif (operand := re.search(r"Unsupported operand (\d+)", text)) is not None:
        holds = (
            f"its pickle uses an instruction (opcode {operand.group(1)}) that only arbitrary "
            "objects need, or the file is damaged"
        )
    else:
        holds = "it holds Python objects beyond tensors and plain containers"
    return (
        f"{holds}. convzoo never unpickles arbitrary objects, since that can run code "
        "from the file; only tensors, numbers, strings, lists and dicts are read"
    )
