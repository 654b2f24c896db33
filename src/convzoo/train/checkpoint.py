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

from convzoo.errors import CheckpointError, OutputError, describe_os_error
from convzoo.weights_file import read_weights_only

__all__ = [
    "FORMAT",
    "CheckpointError",
    "CheckpointSaveError",
    "load_checkpoint",
    "model_from_checkpoint",
    "save_checkpoint",
]

FORMAT = "convzoo-checkpoint/1"


class CheckpointSaveError(OutputError):
    """A checkpoint could not be written; says where, why, and that the old file is intact."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path = path
        try:
            existed: bool | None = path.is_file()
        except OSError:  # the folder cannot even be searched
            existed = None
        kept = {
            True: f"the previous {path.name} is intact",
            False: "no partial file was left behind",
            None: f"any previous {path.name} is untouched",
        }[existed]
        super().__init__(f"could not save checkpoint {path}: {describe_os_error(cause)}; {kept}")
        self.errno = getattr(cause, "errno", None)


def save_checkpoint(path: str | Path, checkpoint: Mapping[str, Any]) -> Path:
    """Atomically write `checkpoint` (must hold "config" and "model") to `path`.

    A write that fails (read-only folder or file system, a file where the folder
    should be, disk full) raises `CheckpointSaveError` and leaves the previous
    file at `path`, if any, untouched.
    """
    path = Path(path)
    missing = {"config", "model"} - set(checkpoint)
    if missing:
        raise ValueError(f"a checkpoint needs {sorted(missing)}; got keys {sorted(checkpoint)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, {"format": FORMAT, **checkpoint})
    except (OSError, RuntimeError) as exc:  # torch's zip writer reports ENOSPC as RuntimeError
        raise CheckpointSaveError(path, exc) from exc
    return path


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            recorder = _WriteRecorder(handle)
            try:
                torch.save(payload, recorder)
            except RuntimeError as exc:  # torch's zip writer hides the OSError (e.g. ENOSPC)
                raise (recorder.error or exc) from exc
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class _WriteRecorder:
    """A file wrapper that remembers the OSError of a failed write for the message."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.error = handle, None

    def write(self, data: bytes) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


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
    """Read a checkpoint (file or run directory) with weights-only loading.

    Raises `CheckpointError` saying what the file is not: empty, not a PyTorch
    file, damaged, holding Python objects (never unpickled), or not convzoo's format.
    """
    path = resolve_checkpoint(path)
    checkpoint = read_weights_only(path, "convzoo checkpoint")
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint)
        raise CheckpointError(
            f"{path} is not a convzoo checkpoint (expected {FORMAT!r}, got {found!r})"
        )
    if not isinstance(checkpoint.get("config"), dict) or "model" not in checkpoint:
        absent = [k for k in ("config", "model") if k not in checkpoint]
        raise CheckpointError(
            f"{path} is incomplete: no {' or '.join(repr(k) for k in absent) or 'usable config'} "
            "entry (a convzoo checkpoint holds the model's config and its weights)"
        )
    return checkpoint


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint; returns (model in eval mode, config).

    The config must name a registered model whose weights match the stored ones;
    otherwise `CheckpointError` names the file and what does not fit.
    """
    from convzoo.factory import create_model

    path = resolve_checkpoint(path)
    checkpoint = load_checkpoint(path)
    config = checkpoint["config"]
    if not isinstance(config.get("model"), str):
        raise CheckpointError(f"{path}: its config does not name the model ('model' is missing)")
    kwargs = config.get("model_kwargs", {})
    try:
        model = create_model(config["model"], **kwargs)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: its config cannot build a model: {exc}") from None
    stored = checkpoint["model"]
    problem = _mismatch(model.state_dict(), stored) if isinstance(stored, Mapping) else "not a dict"
    if problem:
        raise CheckpointError(
            f"{path}: the stored weights do not fit the model its config describes "
            f"({config['model']} with {kwargs}): {problem}"
        )
    model.load_state_dict(stored)
    return model.eval(), config


def _mismatch(ours: Mapping[str, Any], stored: Mapping[str, Any]) -> str:
    """How two state dicts differ, in one line ('' when they fit)."""
    missing = [k for k in ours if k not in stored]
    unexpected = [k for k in stored if k not in ours]
    shapes = [
        f"{k}: stored {tuple(stored[k].shape)}, model {tuple(ours[k].shape)}"
        for k in ours
        if k in stored and getattr(stored[k], "shape", None) != ours[k].shape
    ]
    parts = [
        f"{len(items)} {label} (e.g. {items[0]})"
        for label, items in (
            ("tensors missing", missing),
            ("unexpected tensors", unexpected),
            ("tensors of another shape", shapes),
        )
        if items
    ]
    return "; ".join(parts)
