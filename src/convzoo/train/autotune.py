"""``--precision auto`` and ``--channels-last auto``: measure, on this machine, which is fastest.

A layout or precision that is twice as fast on one CPU is ten times slower on
another (bf16 without native bf16 instructions is emulated), and the answer
also depends on the model and the input size. So the engine times a few
training steps of the real model at the real batch and input size for each
candidate (fp32, fp32 + channels_last, and bf16 + channels_last where the
device has native bf16), picks the fastest, and caches the decision under the
user cache, keyed by everything it depends on. Explicit settings are never
overridden; they only narrow the candidates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SpeedChoice",
    "candidates",
    "choose",
    "inference_speed",
    "probe_cache_path",
    "resolve_speed",
]

# timing budget of the probe, all candidates together (warm-up steps come on top)
PROBE_BUDGET_S = 2.0
# inference on fewer images than this is over before a probe would pay for itself
INFERENCE_PROBE_MIN_IMAGES = 512


@dataclass(frozen=True)
class SpeedChoice:
    """The chosen precision and layout, and what the choice was based on."""

    precision: str
    channels_last: bool
    source: str  # "probe", "cache", "only candidate"
    img_per_s: dict[str, float] = field(default_factory=dict)  # per candidate label

    @property
    def label(self) -> str:
        return self.precision + ("+channels_last" if self.channels_last else "")

    def line(self) -> str:
        """The one line a run prints about its choice."""
        if not self.img_per_s:
            return f"precision/layout: {self.label} ({self.source})"
        measured = ", ".join(f"{k} {v:.0f}" for k, v in self.img_per_s.items())
        return f"precision/layout: {self.label} ({self.source}: {measured} img/s)"

    def as_dict(self) -> dict[str, Any]:
        return {"choice": self.label, "precision": self.precision,
                "channels_last": self.channels_last, "source": self.source,
                "img_per_s": self.img_per_s}  # fmt: skip


def candidates(precision: str, channels_last: str, *, native_bf16: bool) -> list[tuple[str, bool]]:
    """(precision, channels_last) pairs worth timing; explicit settings narrow the list.

    bf16 is a candidate only with native bf16 (emulated bf16 is never the fastest)
    and only in channels_last (the layout oneDNN's bf16 kernels want).
    """
    pairs = [("fp32", False), ("fp32", True)]
    if native_bf16 or precision == "bf16":
        pairs.append(("bf16", True))
    if precision == "bf16":
        pairs.append(("bf16", False))
    if precision != "auto":
        pairs = [p for p in pairs if p[0] == precision]
    if channels_last != "auto":
        pairs = [p for p in pairs if p[1] == (channels_last == "on")]
    return pairs


def choose(
    pairs: list[tuple[str, bool]],
    measure: Callable[[list[tuple[str, bool]]], dict[tuple[str, bool], float]],
    *,
    key: str,
    cache: Path | None,
) -> SpeedChoice:
    """The fastest of `pairs`: from the cache when it knows `key`, else measured.

    `measure` returns images/s per pair (tests pass a fake one).
    """
    if len(pairs) == 1:
        return SpeedChoice(*pairs[0], source="only candidate")
    if not pairs:
        raise ValueError("no precision/layout candidate left; check --precision/--channels-last")
    stored = read_cache(cache).get(key) if cache else None
    if stored and (stored["precision"], stored["channels_last"]) in pairs:
        return SpeedChoice(stored["precision"], stored["channels_last"], "cache",
                           stored.get("img_per_s", {}))  # fmt: skip
    speeds = measure(pairs)
    best = max(pairs, key=lambda p: speeds[p])
    labels = {p[0] + ("+channels_last" if p[1] else ""): round(speeds[p], 1) for p in pairs}
    choice = SpeedChoice(*best, source="probe", img_per_s=labels)
    if cache:
        write_cache(cache, key, choice)
    return choice


def probe_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convzoo" / "speed-choices.json"


def read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: measure again
    return data if isinstance(data, dict) else {}


def write_cache(path: Path, key: str, choice: SpeedChoice) -> None:
    data = read_cache(path)
    data[key] = choice.as_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the run goes on, the next one measures again


def cache_key(*, model: str, model_kwargs: dict[str, Any], input_shape: tuple[int, ...],
              batch: int, device: str, threads: int, mode: str = "train") -> str:  # fmt: skip
    """Everything the fastest choice depends on (`mode`: "train" or "infer")."""
    import torch

    from convzoo.speed import native_bf16

    parts = {
        "capability": torch.backends.cpu.get_cpu_capability(),
        "bf16": native_bf16(device),
        "torch": torch.__version__,
        "device": device,
        "threads": threads,
        "model": model,
        "kwargs": model_kwargs,
        "input": list(input_shape),
        "batch": batch,
        "mode": mode,
    }
    return json.dumps(parts, sort_keys=True)


def measure_training(model, input_shape: tuple[int, ...], batch: int, num_classes: int, device):
    """A `measure` for `choose`: a few real training steps of a copy of `model` per pair,
    on random data, leaving the model and every global random generator untouched."""
    import torch

    from convzoo.speed import Setting, interleaved, train_step

    def measure(pairs: list[tuple[str, bool]]) -> dict[tuple[str, bool], float]:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            gen = torch.Generator(device="cpu").manual_seed(0)
            images = torch.randn(batch, *input_shape, generator=gen).to(device)
            labels = torch.randint(num_classes, (batch,), generator=gen).to(device)
            steps = {p: train_step(model, images, labels, Setting(*p)) for p in pairs}
            times = interleaved(steps, batch=batch, warmup=1, repeats=3,
                                budget_s=PROBE_BUDGET_S, device=device)  # fmt: skip
        return {p: max(v) for p, v in times.items()}

    return measure


def measure_inference(model, input_shape: tuple[int, ...], batch: int, device):
    """A `measure` for `choose`: timed forward passes of a copy of `model` (eval mode,
    no autograd) per pair, on random data drawn from a private generator."""
    import torch

    from convzoo.speed import Setting, infer_step, interleaved

    def measure(pairs: list[tuple[str, bool]]) -> dict[tuple[str, bool], float]:
        gen = torch.Generator(device="cpu").manual_seed(0)
        images = torch.randn(batch, *input_shape, generator=gen).to(device)
        steps = {p: infer_step(model, images, Setting(*p)) for p in pairs}
        times = interleaved(steps, batch=batch, warmup=1, repeats=3,
                            budget_s=PROBE_BUDGET_S, device=device)  # fmt: skip
        return {p: max(v) for p, v in times.items()}

    return measure


def inference_speed(
    model,
    *,
    name: str,
    input_shape: tuple[int, ...],
    batch: int,
    images: int,
    precision: str = "auto",
    channels_last: str = "auto",
    device=None,
    measure: Callable[[list[tuple[str, bool]]], dict[tuple[str, bool], float]] | None = None,
    cache: Path | None = None,
) -> SpeedChoice:
    """The precision and layout for evaluating or predicting `images` inputs with `model`.

    As for training, "auto" is decided by timing the candidates (forward passes at the
    real batch and input size) and cached; explicit settings narrow the candidates.
    Below `INFERENCE_PROBE_MIN_IMAGES` inputs the probe would cost more than it saves,
    so an open choice falls back to fp32 in the default layout (unless cached).
    """
    import torch

    from convzoo.speed import native_bf16

    device = torch.device(device or "cpu")
    pairs = candidates(precision, channels_last, native_bf16=native_bf16(device))
    key = cache_key(model=name, model_kwargs={}, input_shape=input_shape, batch=batch,
                    device=str(device), threads=torch.get_num_threads(), mode="infer")  # fmt: skip
    cache = cache if cache is not None else probe_cache_path()
    if len(pairs) > 1 and images < INFERENCE_PROBE_MIN_IMAGES:
        stored = read_cache(cache).get(key)
        if not stored or (stored["precision"], stored["channels_last"]) not in pairs:
            fallback = ("fp32", False) if ("fp32", False) in pairs else pairs[0]
            return SpeedChoice(
                *fallback, source=f"{images} image{'s' * (images != 1)}: too few to probe"
            )
    measure = measure or measure_inference(model, input_shape, batch, device)
    return choose(pairs, measure, key=key, cache=cache)


def resolve_speed(resolution, parts, *, device, dist, out) -> tuple[Any, SpeedChoice | None]:
    """Fill in ``precision``/``channels_last`` left at "auto" (see the module docstring).

    Returns the updated `Resolution` and the choice (None when nothing was open).
    Deterministic runs take fp32 in the default layout without timing anything: a
    choice that depends on the machine's load would make them irreproducible.
    In a distributed run rank 0 decides for every rank.
    """
    cfg = resolution.config
    if "auto" not in (cfg.precision, cfg.channels_last):
        return resolution, None
    if cfg.deterministic:
        choice = SpeedChoice(
            "fp32" if cfg.precision == "auto" else cfg.precision,
            cfg.channels_last == "on",
            source="deterministic run: no timing-dependent choice",
        )
    else:
        choice = dist.gather(_probe(cfg, parts, device) if dist.is_main else None)[0]
    if dist.is_main:
        out.print(choice.line())
    chosen = {
        "precision": choice.precision,
        "channels_last": "on" if choice.channels_last else "off",
    }
    still_open = {k: v for k, v in chosen.items() if getattr(cfg, k) == "auto"}
    return resolution.settle(still_open, choice.label + ", " + choice.source), choice


def _probe(cfg, parts, device) -> SpeedChoice:
    import torch

    from convzoo.speed import native_bf16

    shape = (parts.model_kwargs["in_channels"], *parts.input_size)
    batch = parts.train_batches.batch_size // parts.train_batches.world_size
    pairs = candidates(cfg.precision, cfg.channels_last, native_bf16=native_bf16(device))
    key = cache_key(model=cfg.model, model_kwargs=parts.model_kwargs, input_shape=shape,
                    batch=batch, device=str(device), threads=torch.get_num_threads())  # fmt: skip
    model = parts.model.to(device)
    measure = measure_training(model, shape, batch, parts.model_kwargs["num_classes"], device)
    return choose(pairs, measure, key=key, cache=probe_cache_path())
