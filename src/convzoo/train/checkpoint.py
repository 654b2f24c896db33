"""Checkpoints that are never half-written and load without unpickling code.

A checkpoint is a dict saved with `torch.save`::

    {
      "format": "convzoo-checkpoint/1",
      "config": {                      # everything needed to rebuild model + preprocessing
        "model": "resnet20",
        "model_kwargs": {"num_classes": 10, "in_channels": 1},
        "preprocess": {"in_channels": 1, "input_size": [32, 32],
                       "mean": [0.286], "std": [0.353]},
        "classes": ["T-shirt/top", ...],
        ...                            # training settings, free-form JSON-able values
      },
      "model": state_dict,             # the weights to use (EMA weights when EMA is on)
      ...                              # optimizer, scheduler, EMA, RNG states, epoch
    }

Keys the training engine adds (`convzoo.train.engine`): "kind" ("last" or "best"),
"epoch" (epochs completed); in last.pt also "optimizer", "scheduler",
"progress" {"epoch", "step", "best_acc", "best_epoch", "elapsed"}, "ranks" (one
{"rng", "sums"} per process) and, with EMA, "train_model" (the raw weights).
The config also holds "dataset", "splits", "augment", "notes", "world_size" and
"train" (every TrainConfig setting); "preprocess" adds "resize".

Writes go to a temporary file in the same folder, are fsync'ed, then renamed
over the target (atomic on POSIX), so a crash leaves either the old or the new
checkpoint, never a truncated one. Reads use ``weights_only=True``: only tensors
and plain containers, no arbitrary code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["FORMAT", "load_checkpoint", "model_from_checkpoint", "save_checkpoint"]

FORMAT = "convzoo-checkpoint/1"


def save_checkpoint(path: str | Path, checkpoint: Mapping[str, Any]) -> Path:
    """Atomically write `checkpoint` (must hold "config" and "model") to `path`."""
    path = Path(path)
    missing = {"config", "model"} - set(checkpoint)
    if missing:
        raise ValueError(f"a checkpoint needs {sorted(missing)}; got keys {sorted(checkpoint)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save({"format": FORMAT, **checkpoint}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (its `best.pt`, else `last.pt`)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"no best.pt or last.pt in run directory {path}")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint (file or run directory) with weights-only loading."""
    path = resolve_checkpoint(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, wrong magic number, unpickling refused ...
        raise ValueError(f"{path} is not a readable convzoo checkpoint: {exc}") from exc
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint)
        raise ValueError(f"{path} is not a convzoo checkpoint (expected {FORMAT!r}, got {found!r})")
    return checkpoint


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint; returns (model in eval mode, config)."""
    from convzoo.registry import create_model

    checkpoint = load_checkpoint(path)
    config = checkpoint["config"]
    model = create_model(config["model"], **config.get("model_kwargs", {}))
    model.load_state_dict(checkpoint["model"])
    return model.eval(), config
