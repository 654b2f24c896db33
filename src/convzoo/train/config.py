"""The settings of a training run, and how their defaults become explicit values.

`TrainConfig` is what a user asks for: ``None`` (or ``"auto"``) means "choose for
me". Every field carries its command-line help in its metadata, so `convzoo
train`'s flags are generated from this class and a new option is one line here.

`resolve_config` turns the request into the values that actually run, with the
reason for each choice (``sources``), without touching the request: config.json
stores both, and a resumed run rebuilds from the resolved values.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

__all__ = ["RESUMABLE", "Resolution", "TrainConfig", "option", "parse_model_args", "resolve_config"]

# settings a resumed run may change: they do not alter what the result means
RESUMABLE = ("epochs", "progress", "num_workers", "threads", "tensorboard", "device")


def option(default: Any = MISSING, help: str = "", **cli: Any) -> Any:
    """A config field with its command-line help.

    `cli` may hold ``flag`` (the option's name when it is not ``--field-name``),
    ``metavar``, ``choices`` (also checked when the config is built) and
    ``cli=False`` for fields the command line sets in its own way.
    """
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    """Every setting of a run; stored in config.json under "train"."""

    model: str = option(MISSING, "a registered name (see `convzoo list`)", cli=False)
    dataset: str = option(
        "digits",
        "digits, mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, folder:PATH, synthetic; "
        "masks: shapes, oxford-pet, seg-folder:PATH",
    )
    epochs: int = option(10, "passes over the training split")
    batch_size: int | None = option(
        None, "global batch, all processes (default: the dataset's, 128; digits 32)"
    )
    optimizer: str = option("sgd", "the optimizer", choices=("sgd", "adamw"))
    lr: float | None = option(None, "peak learning rate (default 0.1 sgd, 1e-3 adamw)")
    momentum: float = option(0.9, "SGD momentum")
    nesterov: bool = option(False, "Nesterov momentum")
    weight_decay: float | None = option(
        None, "default 5e-4 sgd, 0.05 adamw; never on norms or biases"
    )
    schedule: str = option(
        "cosine",
        "learning-rate schedule after the warm-up",
        choices=("cosine", "step", "onecycle", "constant"),
    )
    warmup_epochs: float | None = option(None, "linear warm-up (default 1 if epochs >= 5, else 0)")
    milestones: tuple[float, ...] = option(
        (0.5, 0.75), "step schedule: fractions of the run where lr is multiplied by --gamma"
    )
    gamma: float = option(0.1, "step schedule's factor")
    label_smoothing: float = option(0.0, "cross-entropy label smoothing")
    grad_clip: float | None = option(None, "clip the global gradient norm to this value")
    ema_decay: float | None = option(
        None,
        "keep an EMA of the weights (e.g. 0.999) and evaluate it",
        flag="--ema",
        metavar="DECAY",
    )
    seed: int = option(0, "seed of the weights, data order and augmentation")
    deterministic: bool = option(False, "deterministic algorithms (exact resume)")
    precision: str = option("fp32", "bf16 is autocast", choices=("fp32", "bf16"))
    channels_last: bool = option(False, "channels-last memory format")
    compile: bool = option(False, "torch.compile the model")
    input_size: int | None = option(
        None, "resize images to this square size (default: native, or what the model needs)"
    )
    augment: bool = option(True, "random crops and flips")
    elastic: bool = option(
        False, "segmentation: also the U-Net paper's elastic deformation (Section 3.1)"
    )
    border_weights: bool = option(
        False, "segmentation: weight the loss by the U-Net border map (w0=10, sigma=5 px, Sec. 3)"
    )
    val_fraction: float = option(
        0.1, "share of the training set held out for validation (seeded by --split-seed)"
    )
    split_seed: int = option(0, "the validation split does not move when --seed changes")
    data_dir: str | None = option(None, "look for dataset files here first (also $CONVZOO_DATA)")
    download: bool = option(True, "download missing dataset files")
    num_workers: int = option(2, "image-decoding workers (folder: datasets)", flag="--workers")
    eval_batch_size: int = option(256, "batch of validation and test")
    checkpoint_every: int = option(
        0, "also write last.pt every STEPS steps inside an epoch", metavar="STEPS"
    )
    model_kwargs: dict[str, Any] = field(
        default_factory=dict,
        metadata={"help": "extra keywords for the model builder", "cli": False},
    )
    out: str | None = option(None, "run directory (default runs/<model>-<dataset>-<timestamp>)")
    threads: int | None = option(None, "torch threads per process")
    progress: bool = option(True, "progress bar (otherwise epoch lines only)")
    tensorboard: bool = option(True, "TensorBoard events (when tensorboard is installed)")
    device: str = option(
        "auto", "where to train (auto: CUDA when available)", choices=("auto", "cpu", "cuda")
    )

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("TrainConfig needs a model name")
        for f in fields(self):
            allowed = f.metadata.get("choices")
            if allowed and getattr(self, f.name) not in allowed:
                raise ValueError(
                    f"{f.name} must be one of {allowed}, got {getattr(self, f.name)!r}"
                )
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        self.milestones = tuple(self.milestones)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Each field's type (the annotations are strings under postponed evaluation)."""
        return typing.get_type_hints(cls)


@dataclass(frozen=True)
class Resolution:
    """The settings that run (no defaults left open) and why each open one got its value."""

    config: TrainConfig
    sources: dict[str, str]


def resolve_config(requested: TrainConfig, *, dataset_batch_size: int) -> Resolution:
    """Explicit values for every setting the request left to a default.

    The request is not modified. `sources` names the rule behind each value the
    request did not give, e.g. ``{"lr": "0.1 for sgd"}``.
    """
    cfg, sources = requested, {}
    sgd = cfg.optimizer == "sgd"
    rules: dict[str, tuple[Any, str]] = {
        "batch_size": (dataset_batch_size, "the dataset's default"),
        "lr": (0.1 if sgd else 1e-3, f"default for {cfg.optimizer}"),
        "weight_decay": (5e-4 if sgd else 0.05, f"default for {cfg.optimizer}"),
        "warmup_epochs": (
            1.0 if cfg.epochs >= 5 else 0.0,
            "1 epoch when training >= 5 epochs, else none",
        ),
    }
    values = {}
    for name, (value, why) in rules.items():
        if getattr(cfg, name) is None:
            values[name] = value
            sources[name] = why
    return Resolution(replace(cfg, **values), sources)


def parse_model_args(items: Sequence[str]) -> dict[str, Any]:
    """``["dropout=0.2", "cifar_stem=true"]`` -> kwargs (JSON values, else strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--model-arg takes KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
