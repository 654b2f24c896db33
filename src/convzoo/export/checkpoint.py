"""Exporting a training checkpoint: the model, its input size and metadata come from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convzoo.export.verified import DEFAULT_OPSET, SUFFIX, ExportResult, export_model
from convzoo.outputs import prepare_output
from convzoo.train.checkpoint import model_from_checkpoint, resolve_checkpoint

__all__ = ["CheckpointExport", "export_checkpoint"]


@dataclass(frozen=True)
class CheckpointExport:
    """An exported checkpoint: where it came from, which model, what was written."""

    checkpoint: Path
    model: str | None
    result: ExportResult

    def as_dict(self) -> dict[str, Any]:
        return {"checkpoint": str(self.checkpoint), "model": self.model, **self.result.as_dict()}


def export_checkpoint(
    checkpoint: str | Path,
    *,
    format: str,
    output: str | Path | None = None,
    opset: int | None = None,
    rtol: float = 1e-4,
    atol: float = 0.0,
    overwrite: bool = False,
) -> CheckpointExport:
    """Export the model of a checkpoint (a file or a run directory) and verify it.

    The input size is the one the model was trained at; the file's metadata names
    the model, its preprocessing and classes and the checkpoint. The output
    defaults to the checkpoint's name with the format's suffix, next to it.
    """
    checkpoint = resolve_checkpoint(checkpoint)
    model, config = model_from_checkpoint(checkpoint)
    prep = config.get("preprocess") or {}
    in_channels = int(prep.get("in_channels", model.in_channels))
    height, width = prep.get("input_size", model.default_input_size)
    output = prepare_output(
        output or checkpoint.with_name(checkpoint.stem + SUFFIX[format]),
        what="export file",
        overwrite=overwrite,
    )
    metadata = {
        "model": config.get("model"),
        "preprocess": prep,
        "classes": config.get("classes"),
        "source_checkpoint": str(checkpoint),
    }
    result = export_model(
        model,
        output,
        format=format,
        input_size=(in_channels, int(height), int(width)),
        opset=opset or DEFAULT_OPSET,
        rtol=rtol,
        atol=atol,
        metadata=metadata,
    )
    return CheckpointExport(checkpoint, config.get("model"), result)
