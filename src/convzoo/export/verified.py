"""Verified export to ONNX and TorchScript.

Both calls export a model in eval mode (networks with auxiliary heads then
return plain logits), load the exported file back with the runtime that will
serve it, and compare its outputs with PyTorch's on random inputs:

- ONNX: ``torch.onnx.export`` with the ``torch.export``-based ("dynamo")
  exporter, which is PyTorch's default since 2.9 and needs ``onnxscript``.
  The older TorchScript-based exporter (``dynamo=False``) is deprecated and
  cannot translate ``adaptive_avg_pool2d`` when the output size does not
  divide the input size (VGG's head pooling a 1x1 map up to 7x7 at small
  inputs). The batch axis is dynamic; the file is checked with
  ``onnx.checker`` and run with onnxruntime on the CPU.
  One operator gets our own translation: torch_lib's ``avg_pool2d`` ignores
  ``divisor_override`` (LeNet-5's sum-pooling S2/S4 would be exported as an
  average); `_avg_pool2d` rescales the ONNX average by ``kH*kW / divisor``.
- TorchScript: ``torch.jit.trace``. Scripting would need every module to be
  written in TorchScript's Python subset (it rejects ``nn.Module`` annotations);
  these networks have no data-dependent control flow, so a trace records the
  whole computation. The saved file is reloaded with ``torch.jit.load``.

Verification runs at batch sizes different from the one used to export, so a
batch size frozen into the graph shows up as a failure rather than in
deployment. The outputs must agree to ``rtol * max |logit|`` (rtol = 1e-4;
an ``atol`` can be added). The limit is relative because random-weight
networks have logits anywhere from ~1e2 (GoogLeNet) down to ~1e-15
(EfficientNet-B0 at 32x32): float32 differences between runtimes are ~1e-6 of the
logits' scale at every scale, while a mistranslated operator is off by far more
(LeNet-5's sum-pooling exported as an average: 1e-2 of its ~0.03 logits), which
a fixed absolute limit such as 1e-5 would let through at those scales.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "DEFAULT_OPSET",
    "ExportError",
    "ExportResult",
    "export_model",
    "export_onnx",
    "export_torchscript",
]

DEFAULT_OPSET = 18  # the opset torch.onnx's exporter implements natively
EXPORT_BATCH = 2  # torch.export specialises a batch of 1 to a constant, so trace with 2
VERIFY_BATCHES = (1, 3)  # neither is the export batch: proves the batch axis is dynamic
FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}  # file name ending per format
METADATA_FILE = "convzoo.json"  # TorchScript extra file holding `metadata`


class ExportError(RuntimeError):
    """The exporter failed, or the exported model disagrees with PyTorch."""


@dataclass(frozen=True)
class ExportResult:
    """What was written and how closely it matches the PyTorch model."""

    format: str  # "onnx" or "torchscript"
    path: Path
    files: tuple[Path, ...]  # `path`, plus ONNX external weights for models over 2 GB
    exporter: str  # e.g. "torch.onnx (dynamo), opset 18"
    input_shape: tuple[int, int, int]  # (C, H, W); the batch axis is dynamic
    batch_sizes: tuple[int, ...]  # batches the verification ran
    max_abs_diff: float
    limit: float  # the largest difference that passes: atol + rtol * max_abs_output
    max_abs_output: float  # scale of PyTorch's logits in the worst batch
    export_seconds: float
    verify_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": str(self.path),
            "files": [str(f) for f in self.files],
            "bytes": sum(f.stat().st_size for f in self.files if f.exists()),
            "exporter": self.exporter,
            "input_shape": list(self.input_shape),
            "batch_sizes": list(self.batch_sizes),
            "max_abs_diff": self.max_abs_diff,
            "limit": self.limit,
            "max_abs_output": self.max_abs_output,
            "export_seconds": round(self.export_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3),
        }


# -- the two formats --------------------------------------------------------------


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    input_size: int | Sequence[int],
    opset: int = DEFAULT_OPSET,
    rtol: float = 1e-4,
    atol: float = 0.0,
    metadata: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Export `model` to an ONNX file with a dynamic batch axis, then verify it.

    `input_size` is ``H`` (square), ``(H, W)`` or ``(C, H, W)``; the channels
    default to ``model.in_channels``. `metadata` (JSON-able values) goes into
    the file's ``metadata_props``. Raises `ExportError` if the export fails or
    onnxruntime's outputs differ from PyTorch's by more than
    ``atol + rtol * max |logit|`` on any verification batch.
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ExportError(
            f"ONNX export needs onnx and onnxruntime ({exc}); "
            "install them with `pip install 'convzoo[export]'`"
        ) from exc
    path = Path(path)
    data_file = path.with_name(path.name + ".data")
    shape = _input_shape(model, input_size)
    with _eval_mode(model):
        example = _random_input(EXPORT_BATCH, shape, seed=0)
        with torch.no_grad():
            model(example)  # the model's own input check speaks before the exporter does
        start = time.perf_counter()
        try:
            with _quiet():
                program = torch.onnx.export(
                    model,
                    (example,),
                    dynamo=True,
                    opset_version=opset,
                    input_names=["input"],
                    output_names=["logits"],
                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                    custom_translation_table=_onnx_translations(),
                    verbose=False,
                )
            program.model.metadata_props.update(_metadata_strings(metadata))
            path.parent.mkdir(parents=True, exist_ok=True)
            data_file.unlink(missing_ok=True)  # a previous export's weights, if any
            program.save(path)  # weights go to `<path>.data` only past protobuf's 2 GB limit
        except Exception as exc:
            raise ExportError(f"ONNX export of {_name(model)} failed: {_first_line(exc)}") from exc
        export_seconds = time.perf_counter() - start

        start = time.perf_counter()
        try:
            onnx.checker.check_model(str(path))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.log_severity_level = 3  # errors only
            session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ExportError(
                f"the ONNX file for {_name(model)} does not load: {_first_line(exc)}"
            ) from exc
        input_name = session.get_inputs()[0].name

        def run_exported(x: Tensor) -> Tensor:
            (logits, *_) = session.run(None, {input_name: x.numpy()})
            return torch.from_numpy(np.asarray(logits))

        worst = _compare(model, run_exported, shape, rtol, atol, "onnxruntime")
        verify_seconds = time.perf_counter() - start

    files = (path, data_file) if data_file.exists() else (path,)
    exporter = f"torch.onnx (dynamo), opset {opset}"
    return _result("onnx", files, exporter, shape, worst, (export_seconds, verify_seconds))


def export_torchscript(
    model: nn.Module,
    path: str | Path,
    *,
    input_size: int | Sequence[int],
    rtol: float = 1e-4,
    atol: float = 0.0,
    metadata: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Trace `model` to a TorchScript file, reload it and verify it.

    `input_size` as in `export_onnx`. `metadata` is stored as the extra file
    ``convzoo.json`` (read it back with ``torch.jit.load(path, _extra_files=...)``).
    """
    path = Path(path)
    shape = _input_shape(model, input_size)
    with _eval_mode(model):
        example = _random_input(EXPORT_BATCH, shape, seed=0)
        with torch.no_grad():
            model(example)
        start = time.perf_counter()
        try:
            with _quiet(), torch.no_grad():
                traced = torch.jit.trace(model, example, check_trace=False)
            path.parent.mkdir(parents=True, exist_ok=True)
            extra = {METADATA_FILE: json.dumps(dict(metadata or {}), default=str)}
            with _quiet():
                torch.jit.save(traced, str(path), _extra_files=extra)
        except Exception as exc:
            raise ExportError(
                f"TorchScript export of {_name(model)} failed: {_first_line(exc)}"
            ) from exc
        export_seconds = time.perf_counter() - start

        start = time.perf_counter()
        try:
            with _quiet():
                loaded = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as exc:
            raise ExportError(
                f"the TorchScript file for {_name(model)} does not load: {_first_line(exc)}"
            ) from exc

        def run_exported(x: Tensor) -> Tensor:
            with torch.no_grad():
                output = loaded(x)
            return output[0] if isinstance(output, tuple) else output

        worst = _compare(model, run_exported, shape, rtol, atol, "torch.jit.load")
        verify_seconds = time.perf_counter() - start

    seconds = (export_seconds, verify_seconds)
    return _result("torchscript", (path,), "torch.jit.trace", shape, worst, seconds)


def export_model(
    model: nn.Module,
    path: str | Path,
    *,
    format: str,
    input_size: int | Sequence[int],
    **options: Any,
) -> ExportResult:
    """`export_onnx` or `export_torchscript` by name."""
    if format == "onnx":
        return export_onnx(model, path, input_size=input_size, **options)
    if format == "torchscript":
        options.pop("opset", None)
        return export_torchscript(model, path, input_size=input_size, **options)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")


# -- ONNX translations torch.onnx gets wrong ------------------------------------------


def _onnx_translations() -> dict[Any, Any]:
    return {torch.ops.aten.avg_pool2d.default: _avg_pool2d}


def _avg_pool2d(
    self: Any,
    kernel_size: Sequence[int],
    stride: Sequence[int] = (),
    padding: Sequence[int] = (0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """aten::avg_pool2d with ``divisor_override`` (torch_lib drops it, silently).

    Without ``ceil_mode`` and with padding counted, every window divides by
    kH*kW, so sum / divisor = average * kH*kW / divisor. Other combinations divide
    each window by a different count; they fail loudly instead of exporting wrong.
    """
    from onnxscript import opset18 as op
    from onnxscript.function_libs.torch_lib.ops.nn import aten_avg_pool2d

    average = aten_avg_pool2d(self, kernel_size, stride, padding, ceil_mode, count_include_pad)
    if divisor_override is None:
        return average
    kernel = [kernel_size] if isinstance(kernel_size, int) else list(kernel_size)
    kernel_h, kernel_w = kernel if len(kernel) == 2 else kernel * 2  # k means (k, k)
    pads = [padding] if isinstance(padding, int) else list(padding)
    if ceil_mode or (any(pads) and not count_include_pad):
        raise NotImplementedError(
            "avg_pool2d with divisor_override and ceil_mode=True or count_include_pad=False "
            "has no ONNX translation"
        )
    factor = kernel_h * kernel_w / divisor_override
    return op.Mul(average, op.CastLike(op.Constant(value_float=factor), average))


# -- helpers ----------------------------------------------------------------------


def _result(
    format: str,
    files: tuple[Path, ...],
    exporter: str,
    shape: tuple[int, int, int],
    worst: tuple[float, float, float],
    seconds: tuple[float, float],
) -> ExportResult:
    """The result of a verified export; `worst` as `_compare` returns it."""
    diff, limit, scale = worst
    return ExportResult(
        format=format,
        path=files[0],
        files=files,
        exporter=exporter,
        input_shape=shape,
        batch_sizes=VERIFY_BATCHES,
        max_abs_diff=diff,
        limit=limit,
        max_abs_output=scale,
        export_seconds=seconds[0],
        verify_seconds=seconds[1],
    )


def _name(model: nn.Module) -> str:
    card = getattr(model, "card", None)
    return card.name if card is not None else type(model).__name__


def _input_shape(model: nn.Module, input_size: int | Sequence[int]) -> tuple[int, int, int]:
    """(C, H, W) from H, (H, W) or (C, H, W); C defaults to the model's `in_channels`."""
    size = (input_size,) * 2 if isinstance(input_size, int) else tuple(int(s) for s in input_size)
    if len(size) == 2:
        channels = getattr(model, "in_channels", None)
        if channels is None:
            raise ValueError(
                f"{_name(model)} has no `in_channels`; give input_size as (C, H, W), got {size}"
            )
        size = (int(channels), *size)
    if len(size) != 3 or min(size) < 1:
        raise ValueError(f"input_size must be H, (H, W) or (C, H, W) of positive ints, got {size}")
    return size  # type: ignore[return-value]


def _random_input(batch: int, shape: tuple[int, int, int], *, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *shape, generator=generator)


def _logits(output: Any) -> Tensor:
    """Plain logits from an eval-mode forward (an `AuxOutput`'s main head otherwise)."""
    return output[0] if isinstance(output, tuple) else output


def _compare(
    model: nn.Module,
    run_exported: Any,
    shape: tuple[int, int, int],
    rtol: float,
    atol: float,
    runtime: str,
) -> tuple[float, float, float]:
    """Worst (max abs diff, its limit, output scale) over `VERIFY_BATCHES`; raises past a limit."""
    worst = (0.0, atol, 0.0)  # (diff, limit, scale) of the worst batch
    for seed, batch in enumerate(VERIFY_BATCHES, start=1):
        x = _random_input(batch, shape, seed=seed)
        with torch.no_grad():
            expected = _logits(model(x)).float()
        try:
            got = run_exported(x.clone()).float()
        except Exception as exc:
            raise ExportError(
                f"{runtime} failed to run {_name(model)} on a batch of {batch}: {_first_line(exc)}"
            ) from exc
        if got.shape != expected.shape:
            raise ExportError(
                f"{runtime} returned shape {tuple(got.shape)} for {_name(model)} on a batch of "
                f"{batch}; PyTorch returns {tuple(expected.shape)}"
            )
        diff = (got - expected).abs().max().item()
        scale = expected.abs().max().item()
        limit = atol + rtol * scale
        if not diff <= limit:  # also catches NaN
            raise ExportError(
                f"{runtime} disagrees with PyTorch for {_name(model)} on a batch of {batch}: "
                f"max abs diff {diff:.3g} > {limit:.3g} (rtol {rtol:g} x max |logit| {scale:.3g}"
                + (f" + atol {atol:g})" if atol else ")")
            )
        if diff >= worst[0]:
            worst = (diff, limit, scale)
    return worst


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode (plain logits, running batch-norm statistics); restores the old mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep exporter chatter (progress lines, tracer warnings) out of our output.

    The verification, not the exporter's warnings, decides whether the file is
    right: e.g. the tracer warns that the model's input check becomes a constant,
    which is harmless, while a batch size frozen into the graph fails the check.
    """
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _metadata_strings(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, default=str)
        for key, value in (metadata or {}).items()
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0]
    return f"{type(exc).__name__}: {line[:300]}"
