"""Throughput side by side: convzoo's networks in several modes against their twins.

``bench(["resnet50_v1_5"], mode="infer", against="onnxruntime")`` builds every
candidate first, warms each up, then times them taking turns (see
`convzoo.speed.interleaved`) and reports min/median/max images per second and
the ratio of each median to the reference's: the twin's (torchvision or timm)
or ONNX Runtime's fp32 when `against` names one, else convzoo's own eager fp32.
Random weights and random inputs: speed does not depend on the values.

Modes: ``fp32`` (eager), ``channels_last``, ``bf16`` (autocast, in
channels_last), ``compile`` (torch.compile; with freezing for inference) and,
for inference, ``onnxruntime`` (the verified ONNX export on ONNX Runtime's CPU
provider).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.factory import create_model
from convzoo.registry import list_models, model_card
from convzoo.speed import Setting, interleaved, machine_facts, native_bf16

__all__ = ["MODES", "BenchResult", "BenchRow", "bench", "models_with_twins"]

MODES = ("fp32", "channels_last", "bf16", "compile", "onnxruntime")
DEFAULT_MODES = ("fp32", "channels_last", "bf16")
SETTINGS = {
    "fp32": Setting("fp32", False),
    "channels_last": Setting("fp32", True),
    "bf16": Setting("bf16", True),
}
# each timed repeat runs about this long, so that short steps are not all clock noise
REPEAT_S = 0.5


@dataclass
class BenchRow:
    model: str
    implementation: str  # convzoo | torchvision:NAME | timm:NAME | onnxruntime
    mode: str
    img_per_s: list[float] = field(default_factory=list)
    ratio: float | None = None  # median / the reference's median
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.img_per_s) if self.img_per_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        values = self.img_per_s or [0.0]
        return {**asdict(self), "min": min(values), "median": self.median, "max": max(values)}


@dataclass
class BenchResult:
    mode: str
    batch_size: int
    machine: dict[str, Any]
    rows: list[BenchRow]
    settings: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "batch_size": self.batch_size, "machine": self.machine,
                "settings": self.settings, "rows": [r.as_dict() for r in self.rows]}  # fmt: skip


def models_with_twins(source: str | None = None) -> list[str]:
    """Every registered model with a torchvision or timm twin (only `source`'s, if given)."""
    return [
        name
        for name in list_models()
        if any(source in (None, twin.source) for twin in model_card(name).twins)
    ]


def bench(
    names: Sequence[str],
    *,
    mode: str = "train",
    batch_size: int = 32,
    input_size: int | None = None,
    against: str | None = None,
    modes: Sequence[str] = DEFAULT_MODES,
    warmup: int = 2,
    repeats: int = 5,
    repeat_s: float = REPEAT_S,
) -> BenchResult:
    """Measure every model of `names` (see the module docstring)."""
    if mode not in ("train", "infer"):
        raise ValueError(f"mode must be 'train' or 'infer', got {mode!r}")
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode(s) {unknown}; choose from {list(MODES)}")
    if against not in (None, "torchvision", "timm", "onnxruntime"):
        raise ValueError(f"--against takes torchvision, timm or onnxruntime, got {against!r}")
    if "onnxruntime" in (*modes, against) and mode == "train":
        raise ValueError("ONNX Runtime runs inference only: use --mode infer")
    rows: list[BenchRow] = []
    for name in names:
        rows += bench_model(
            name,
            mode=mode,
            batch_size=batch_size,
            input_size=input_size,
            against=against,
            modes=modes,
            warmup=warmup,
            repeats=repeats,
            repeat_s=repeat_s,
        )
    settings = {"input_size": input_size, "against": against, "modes": list(modes),
                "warmup": warmup, "repeats": repeats}  # fmt: skip
    return BenchResult(mode, batch_size, machine_facts(), rows, settings)


def bench_model(name: str, *, mode: str, batch_size: int, input_size: int | None,
                against: str | None, modes: Sequence[str], warmup: int,
                repeats: int, repeat_s: float = REPEAT_S) -> list[BenchRow]:  # fmt: skip
    ours = create_model(name)
    size = (input_size, input_size) if input_size else tuple(ours.default_input_size)
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, ours.in_channels, *size, generator=gen)
    labels = torch.randint(ours.num_classes, (batch_size,), generator=gen)
    with torch.no_grad():
        ours.eval()(images[:1])  # a wrong --input-size is the model's own clear error, now
    steps: dict[str, Callable[[], None]] = {}
    rows: dict[str, BenchRow] = {}

    def add(impl: str, m: str, build: Callable[[], Callable[[], None]], note: str = "") -> None:
        row = BenchRow(name, impl, m, note=note)
        rows[f"{impl}/{m}"] = row
        try:
            steps[f"{impl}/{m}"] = build()
        except Exception as exc:  # a mode this model or machine cannot run: say so, go on
            row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"

    twin = None
    if against in ("torchvision", "timm"):
        twin = next((t for t in model_card(name).twins if t.source == against), None)
        if twin is None:
            raise ValueError(f"{name} has no {against} twin (see `convzoo info {name}`)")
    reference = f"{twin}/fp32" if twin else ("onnxruntime/onnxruntime" if against else
                                             "convzoo/fp32")  # fmt: skip
    if twin:
        twin_model = twin.build()
        for m in modes:
            if m in SETTINGS:
                add(str(twin), m, lambda m=m: step_fn(twin_model, images, labels, mode, m))
    for m in modes:
        if m == "onnxruntime":
            continue
        note = "emulated bf16 (no native bf16 here)" if m == "bf16" and not native_bf16() else ""
        add("convzoo", m, lambda m=m: step_fn(ours, images, labels, mode, m), note)
    if "onnxruntime" in modes or against == "onnxruntime":
        add("onnxruntime", "onnxruntime", lambda: onnxruntime_step(ours, images))
    if not steps:
        return list(rows.values())
    per_step = time_once(steps)
    repeat_steps = max(1, round(repeat_s / max(per_step, 1e-6)))
    times = interleaved(steps, batch=batch_size, warmup=warmup, repeats=repeats,
                        steps_per_repeat=repeat_steps)  # fmt: skip
    for key, values in times.items():
        rows[key].img_per_s = [round(v, 2) for v in values]
    ref = rows.get(reference)
    for row in rows.values():
        if ref is not None and ref.median and row.img_per_s:
            row.ratio = row.median / ref.median
    return list(rows.values())


def time_once(steps: dict[str, Callable[[], None]]) -> float:
    """Seconds of the slowest candidate's single call (after one untimed call)."""
    slowest = 0.0
    for step in steps.values():
        step()
        start = time.perf_counter()
        step()
        slowest = max(slowest, time.perf_counter() - start)
    return slowest


def step_fn(model: nn.Module, images: Tensor, labels: Tensor, mode: str,
            name: str) -> Callable[[], None]:  # fmt: skip
    """A training or inference step of `model` in mode `name`."""
    from convzoo.speed import infer_step, train_step

    if name == "compile":
        return compiled_step(model, images, labels, mode)
    setting = SETTINGS[name]
    if mode == "train":
        return train_step(model, images, labels, setting)
    return infer_step(model, images, setting)


def compiled_step(model: nn.Module, images: Tensor, labels: Tensor,
                  mode: str) -> Callable[[], None]:  # fmt: skip
    """torch.compile (Inductor); for inference with freezing (weights folded as constants)."""
    import copy

    from convzoo.speed import train_step

    if mode == "train":
        compiled = torch.compile(copy.deepcopy(model))
        return train_step(compiled, images, labels, Setting(), copy_model=False)
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    compiled = torch.compile(copy.deepcopy(model).eval())

    @torch.inference_mode()
    def step() -> None:
        compiled(images)

    step()  # compile now, not inside a timed repeat
    return step


def onnxruntime_step(model: nn.Module, images: Tensor) -> Callable[[], None]:
    """Inference through the verified ONNX export on ONNX Runtime's CPU provider."""
    import onnxruntime

    from convzoo.export.verified import export_onnx

    folder = Path(tempfile.mkdtemp(prefix="convzoo-bench-"))
    path = folder / "model.onnx"
    export_onnx(model.eval(), path, input_size=tuple(images.shape[1:]))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: images.numpy()}

    def step() -> None:
        session.run(None, feed)

    return step
