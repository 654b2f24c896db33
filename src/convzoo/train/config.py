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

OPTIMIZER_NAMES = ("sgd", "rmsprop", "adam", "adamw")
SCHEDULE_NAMES = ("cosine", "step", "exponential", "plateau", "linear", "onecycle", "constant")
# settings a recipe decides (and the flags that override it)
RECIPE_FIELDS = (
    "optimizer", "lr", "momentum", "nesterov", "rmsprop_decay", "eps", "weight_decay",
    "schedule", "milestones", "gamma", "warmup_epochs", "label_smoothing", "dropout", "init",
    "bn_momentum",
)  # fmt: skip
# settings a resumed run may change (see convzoo.train.resume_changes): more epochs, a new
# peak lr from the resume point, and those that do not alter what the result means
RESUMABLE = (
    "epochs", "lr", "progress", "num_workers", "threads", "tensorboard", "device", "memory_saving",
)  # fmt: skip


def option(default: Any = MISSING, help: str = "", **cli: Any) -> Any:
    """A config field with its command-line help.

    `cli` may hold ``flag`` (the option's name when it is not ``--field-name``),
    ``metavar``, ``choices`` (also checked when the config is built) and
    ``cli=False`` for fields the command line sets in its own way.
    """
    return field(default=default, metadata={"help": help, **cli})


def parse_lr(text: str) -> float | str:
    """A learning rate on the command line: a number, or "auto" (see `convzoo lr-find`)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--lr takes a number or 'auto', got {text!r}") from None


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
    recipe: str = option(
        "default",
        "the card's training recipe the unset settings come from: the paper's, or the "
        "zoo's default (the paper's unless the card says why it differs); "
        "see `convzoo info MODEL`",
        choices=("paper", "default"),
    )
    optimizer: str | None = option(
        None, "the optimizer (default: the recipe's)", choices=OPTIMIZER_NAMES
    )
    lr: float | str | None = option(
        None,
        "peak learning rate (default: the recipe's, times batch / the recipe's batch; "
        "auto: the lr-find suggestion)",
        parse=parse_lr,
    )
    momentum: float | None = option(None, "SGD/RMSProp momentum (default: the recipe's)")
    nesterov: bool | None = option(None, "Nesterov momentum (default: the recipe's)")
    rmsprop_decay: float | None = option(
        None, "RMSProp's moving-average decay, torch's alpha (default: the recipe's, else 0.99)"
    )
    eps: float | None = option(None, "RMSProp/Adam epsilon (default: the recipe's, else 1e-8)")
    weight_decay: float | None = option(
        None, "default: the recipe's (else 5e-4 sgd, 0.05 adamw); never on norms or biases"
    )
    schedule: str | None = option(
        None,
        "learning-rate schedule after the warm-up (default: the recipe's, fitted to --epochs)",
        choices=SCHEDULE_NAMES,
    )
    warmup_epochs: float | None = option(
        None, "linear warm-up (default: the recipe's share of the run)"
    )
    milestones: tuple[float, ...] | None = option(
        None, "step schedule: fractions of the run where lr is multiplied by --gamma"
    )
    gamma: float | None = option(
        None, "step schedule's factor; exponential: per epoch; plateau: per drop"
    )
    label_smoothing: float | None = option(
        None, "cross-entropy label smoothing (default: the recipe's)"
    )
    dropout: float | None = option(
        None, "dropout rate, for models that have one (default: the recipe's, else the model's)"
    )
    init: str | None = option(
        None,
        "initialisation: the model's own, He et al. 2015, or the model's own with every "
        "residual branch starting at zero (default: the recipe's)",
        choices=("model", "he", "zero-residual"),
    )
    bn_momentum: float | None = option(
        None,
        "momentum of every batch norm's running statistics, torch's convention "
        "(default: the recipe's, else the model's)",
    )
    grad_clip: float | None = option(None, "clip the global gradient norm to this value")
    ema_decay: float | None = option(
        None,
        "keep an EMA of the weights (e.g. 0.999) and evaluate it",
        flag="--ema",
        metavar="DECAY",
    )
    seed: int = option(0, "seed of the weights, data order and augmentation")
    deterministic: bool = option(False, "deterministic algorithms (exact resume)")
    precision: str = option(
        "auto",
        "fp32, bf16 (autocast) or auto: the fastest on this machine, measured by a short "
        "cached probe",
        choices=("auto", "fp32", "bf16"),
    )
    channels_last: str = option(
        "auto",
        "channels-last memory format: on, off or auto (measured with --precision)",
        choices=("auto", "on", "off"),
        const="on",
    )
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
    train_images: int | None = option(
        None,
        "train on this many images of the training split (a subset fixed by --split-seed)",
        metavar="N",
    )
    test_images: int | None = option(
        None,
        "test on this many images of the test split (a subset fixed by --split-seed)",
        metavar="N",
    )
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
    force: bool = option(False, "replace the run already in --out (its files are removed first)")
    threads: int | None = option(None, "torch threads per process")
    progress: bool = option(True, "progress bar (otherwise epoch lines only)")
    tensorboard: bool = option(True, "TensorBoard events (when tensorboard is installed)")
    memory_saving: str = option(
        "auto",
        "auto: when the estimated training memory exceeds what is available, switch on the "
        "network's memory-saving mode (recomputation) or refuse with the batch that fits; "
        "on: always; off: no check",
        choices=("auto", "on", "off"),
    )
    device: str = option(
        "auto", "where to train (auto: CUDA when available)", choices=("auto", "cpu", "cuda")
    )

    def __post_init__(self) -> None:
        if isinstance(self.channels_last, bool):  # True/False as in earlier configs
            self.channels_last = "on" if self.channels_last else "off"
        if not self.model:
            raise ValueError("TrainConfig needs a model name")
        for f in fields(self):
            allowed = f.metadata.get("choices")
            value = getattr(self, f.name)
            if allowed and value is not None and value not in allowed:
                raise ValueError(
                    f"{f.name} must be one of {allowed}, got {getattr(self, f.name)!r}"
                )
        if self.milestones is not None:
            self.milestones = tuple(self.milestones)
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        if isinstance(self.lr, str) and self.lr != "auto":
            raise ValueError(f"lr must be a positive number or 'auto', got {self.lr!r}")
        for name in ("train_images", "test_images"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def memory_format_channels_last(self) -> bool:
        """True when channels_last is on (resolved configs only say on or off)."""
        return self.channels_last == "on"

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
    """The settings that run (no defaults left open) and where each one came from.

    `sources` maps a setting to ``{"from": "flag" | "paper" | "default", "rule": ...}``.
    """

    config: TrainConfig
    sources: dict[str, dict[str, str]]

    def headline(self) -> str:
        """One line for the log: the recipe and the learning rate that runs."""
        cfg, lr = self.config, self.sources["lr"]
        recipe = {"paper": "paper's recipe"}.get(lr["from"], lr["from"])
        warm = f", warm-up {cfg.warmup_epochs:.3g} ep" if cfg.warmup_epochs else ""
        sched = cfg.schedule + warm
        return (
            f"{cfg.model}: {cfg.optimizer} lr {cfg.lr:.4g} ({recipe}: {lr['rule']}), "
            f"batch {cfg.batch_size}, {sched}, weight decay {cfg.weight_decay:g}"
        )

    def settle(self, values: dict[str, Any], why: str) -> Resolution:
        """This resolution with `values` filled in for settings that were left open."""
        return Resolution(
            replace(self.config, **values),
            {**self.sources, **{name: {"from": "default", "rule": why} for name in values}},
        )


def resolve_config(requested: TrainConfig, *, dataset_batch_size: int) -> Resolution:
    """Explicit values for every setting, from the flags, else the card's recipe.

    The request is not modified. The batch comes first (the learning rate is
    scaled to it); `convzoo.train.recipe` decides the rest.
    """
    from convzoo.registry import model_card
    from convzoo.train.recipe import resolve_recipe

    cfg = requested
    if cfg.batch_size is None:
        batch = {"from": "default", "rule": f"the dataset's default, {dataset_batch_size}"}
        cfg = replace(cfg, batch_size=dataset_batch_size)
    else:
        batch = {"from": "flag", "rule": "set by flag"}
    resolved = resolve_recipe(model_card(cfg.model), cfg, cfg.batch_size)
    values = {name: r.value for name, r in resolved.items()}
    sources = {"batch_size": batch, **{name: r.as_dict() for name, r in resolved.items()}}
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
