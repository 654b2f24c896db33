"""Deployment: verified ONNX / TorchScript export, and prediction from checkpoints."""

from convzoo.export.verified import (
    ExportError,
    ExportResult,
    export_model,
    export_onnx,
    export_torchscript,
)

__all__ = ["ExportError", "ExportResult", "export_model", "export_onnx", "export_torchscript"]
