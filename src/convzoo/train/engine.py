"""One training engine for every registered classifier.

``train(TrainConfig(model="resnet20", dataset="fashion-mnist"))`` builds the
model for the data (``in_channels`` and ``num_classes`` from the dataset, the
input size from ``input_size`` or the model's needs), trains with a seeded
validation split for model selection, and evaluates the test set once at the
end with the best checkpoint. A run directory holds::

    config.json     everything needed to rebuild the model and its preprocessing
    metrics.jsonl   one line per epoch
    last.pt         the latest state (model, optimizer, scheduler, EMA, RNG, position)
    best.pt         the weights with the best validation accuracy
    curves.png      loss and accuracy against epoch
    tensorboard/    events, when the tensorboard package is installed
    summary.json    test top-1/top-5, params, MACs, wall time, images/s

Exact resume: the data order and augmentation are pure functions of
``(seed, epoch, step)`` (see `convzoo.data.loader`), and a checkpoint holds
every other piece of state (weights, optimizer, scheduler, EMA, every rank's
RNG, the running sums of the epoch). With ``deterministic=True`` a run killed
at any point and resumed from its ``last.pt`` ends with the same weights and
the same metrics as a run that was never interrupted.

Auxiliary heads: a model that returns `AuxOutput` in training mode declares
``aux_loss_weight`` (a float, or one per head) on its class, e.g. GoogLeNet's
0.3; the engine adds ``weight * CE(aux_logits)`` for every head and reads no
model names.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from convzoo.data import Augment, Batches, ImageSet, load_dataset, split_validation
from convzoo.models.base import AuxOutput
from convzoo.registry import create_model
from convzoo.train.checkpoint import load_checkpoint, save_checkpoint
from convzoo.train.distributed import Dist, init_distributed
from convzoo.train.metrics import MetricsLog, evaluate, plot_curves
from convzoo.train.optim import ModelEMA, build_optimizer, lr_multiplier

__all__ = ["NonFiniteLossError", "RunResult", "TrainConfig", "resume", "train"]


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stopped before taking that step."""


@dataclass
class TrainConfig:
    """Every setting of a run; stored in config.json under "train"."""

    model: str
    dataset: str = "digits"
    epochs: int = 10
    batch_size: int | None = None  # global (all processes); default: the dataset's (128, digits 32)
    optimizer: str = "sgd"  # sgd | adamw
    lr: float | None = None  # default: 0.1 (sgd) / 1e-3 (adamw), for batch 128
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float | None = None  # default: 5e-4 (sgd) / 0.05 (adamw)
    schedule: str = "cosine"  # cosine | step | onecycle | constant
    warmup_epochs: float | None = None  # default: 1 if epochs >= 5 else 0
    milestones: tuple[float, ...] = (0.5, 0.75)  # step schedule, fractions of the run
    gamma: float = 0.1
    label_smoothing: float = 0.0
    grad_clip: float | None = None  # max global gradient norm
    ema_decay: float | None = None  # e.g. 0.999; validation/test then use the EMA weights
    seed: int = 0
    deterministic: bool = False
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    channels_last: bool = False
    compile: bool = False
    input_size: int | None = None  # square side; default: native, or what the model needs
    augment: bool = True
    val_fraction: float = 0.1
    split_seed: int = 0  # the validation split does not move when `seed` changes
    data_dir: str | None = None
    download: bool = True
    num_workers: int = 2  # decoding workers for folder: datasets
    eval_batch_size: int = 256
    checkpoint_every: int = 0  # also write last.pt every N steps within an epoch
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    out: str | None = None  # run directory; default runs/<model>-<dataset>-<timestamp>
    threads: int | None = None  # torch.set_num_threads
    progress: bool = True
    tensorboard: bool = True
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self) -> None:
        choices = {
            "optimizer": ("sgd", "adamw"),
            "schedule": ("cosine", "step", "onecycle", "constant"),
            "precision": ("fp32", "bf16"),
            "device": ("auto", "cpu", "cuda"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.epochs < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        self.milestones = tuple(self.milestones)

    @property
    def resolved_lr(self) -> float:
        return self.lr if self.lr is not None else (0.1 if self.optimizer == "sgd" else 1e-3)

    @property
    def resolved_weight_decay(self) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 5e-4 if self.optimizer == "sgd" else 0.05

    @property
    def resolved_warmup(self) -> float:
        if self.warmup_epochs is not None:
            return self.warmup_epochs
        return 1.0 if self.epochs >= 5 else 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunResult:
    run_dir: Path
    status: str  # "finished" | "interrupted"
    summary: dict[str, Any] | None
    model: nn.Module


# -- helpers ----------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic(on: bool, *, compiling: bool = False) -> None:
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if compiling:
        torch.use_deterministic_algorithms(on)
    elif torch.are_deterministic_algorithms_enabled() != on:
        # The public setter also configures Inductor, and importing Inductor costs many
        # seconds; without --compile the ATen flag it sets is all that matters.
        torch._C._set_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on


def rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64)),
        "numpy_pos": int(np.random.get_state()[2]),
        "python": repr(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import ast

    torch.set_rng_state(state["torch"])
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"]))
    random.setstate(ast.literal_eval(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def aux_weights(model: nn.Module, n_heads: int) -> list[float]:
    """The loss weight of each auxiliary head, as the model's class declares it."""
    weight = getattr(model, "aux_loss_weight", None)
    if weight is None:
        raise TypeError(
            f"{type(model).__name__} returns auxiliary logits in training mode but does not "
            "declare `aux_loss_weight` (the paper's weight of the auxiliary losses)"
        )
    weights = [float(weight)] * n_heads if isinstance(weight, int | float) else list(weight)
    if len(weights) != n_heads:
        raise ValueError(f"{len(weights)} aux_loss_weight values for {n_heads} auxiliary heads")
    return weights


def compute_loss(
    output: Tensor | AuxOutput, labels: Tensor, criterion: nn.Module, model: nn.Module
) -> tuple[Tensor, Tensor]:
    """(total loss, main logits): main loss plus weighted auxiliary losses."""
    if isinstance(output, AuxOutput):
        loss = criterion(output.logits.float(), labels)
        for weight, aux in zip(aux_weights(model, len(output.aux)), output.aux, strict=True):
            loss = loss + weight * criterion(aux.float(), labels)
        return loss, output.logits
    return criterion(output.float(), labels), output


def resolve_input_size(
    model: nn.Module, data: ImageSet, requested: int | None
) -> tuple[tuple[int, int], str | None]:
    """The input size to train at, and a note when it differs from the images' own."""
    name = getattr(getattr(model, "card", None), "name", type(model).__name__)
    fixed = getattr(model, "fixed_input_size", False)
    default = tuple(getattr(model, "default_input_size", (224, 224)))
    minimum = getattr(model, "min_input_size", 1)
    native = data.image_size
    if requested is not None:
        size = (requested, requested)
        if fixed and size != default:
            raise ValueError(
                f"{name} only accepts {default[0]}x{default[1]} inputs, "
                f"got --input-size {requested}"
            )
        if requested < minimum:
            raise ValueError(f"{name} needs inputs of at least {minimum} px, got {requested}")
    elif native is None or fixed:
        size = default
    elif min(native) < minimum:
        size = (minimum, minimum)
    else:
        size = tuple(native)
    if native is not None and size != tuple(native):
        why = "--input-size" if requested else f"{name} needs it"
        return size, f"images resized {native[0]}x{native[1]} -> {size[0]}x{size[1]} ({why})"
    if native is None:
        return size, f"images resized to {size[0]}x{size[1]}"
    return size, None


def default_run_dir(cfg: TrainConfig) -> Path:
    dataset = cfg.dataset.split(":")[0]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{cfg.model}-{dataset}-{stamp}"


def unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "module", model)  # DistributedDataParallel
    return getattr(model, "_orig_mod", model)  # torch.compile


# -- the engine -------------------------------------------------------------
class Trainer:
    def __init__(self, cfg: TrainConfig, *, resume_from: Path | None = None) -> None:
        self.cfg = cfg
        self.dist: Dist = init_distributed(cfg.device)
        self.device = self.dist.device
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        set_deterministic(cfg.deterministic, compiling=cfg.compile)
        self.console = _console()
        self.run_dir = Path(resume_from or cfg.out or default_run_dir(cfg))
        if self.dist.enabled:  # every rank writes to the directory rank 0 chose
            self.run_dir = Path(self.dist.gather(str(self.run_dir))[0])

        # data
        data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
        self.data = data
        train_split, val_split = split_validation(data.train, cfg.val_fraction, cfg.split_seed)
        # defaults become explicit values, so config.json says exactly what ran
        cfg.batch_size = cfg.batch_size or data.batch_size
        cfg.lr, cfg.weight_decay = cfg.resolved_lr, cfg.resolved_weight_decay
        cfg.warmup_epochs = cfg.resolved_warmup

        # model: identical initial weights on every rank
        seed_everything(cfg.seed)
        kwargs = {
            **cfg.model_kwargs,
            "num_classes": data.num_classes,
            "in_channels": data.in_channels,
        }
        model = create_model(cfg.model, **kwargs)
        self.input_size, note = resolve_input_size(model, data, cfg.input_size)
        self.notes = [*data.notes, *([note] if note else [])]
        self.model_kwargs = kwargs
        native = data.image_size
        if data.crop_padding < 0 or native is None:
            padding = self.input_size[0] // 8
        else:
            padding = round(data.crop_padding * self.input_size[0] / native[0])
        self.augment = Augment(padding, data.flip) if cfg.augment else None
        train_split = train_split.resized(self.input_size)
        val_split = val_split.resized(self.input_size) if val_split is not None else None
        test_split = data.test.resized(self.input_size)

        common = {
            "mean": data.mean,
            "std": data.std,
            "rank": self.dist.rank,
            "world_size": self.dist.world_size,
            "num_workers": cfg.num_workers,
        }
        self.train_batches = Batches(
            train_split,
            batch_size=cfg.batch_size,
            shuffle=True,
            augment=self.augment,
            seed=cfg.seed,
            **common,
        )
        eval_batch = cfg.eval_batch_size
        self.val_batches = (
            Batches(val_split, batch_size=eval_batch, shuffle=False, **common)
            if val_split
            else None
        )
        self.test_batches = Batches(test_split, batch_size=eval_batch, shuffle=False, **common)
        self.sizes = {
            "train": len(train_split),
            "val": len(val_split or []),
            "test": len(test_split),
        }

        model.to(self.device)
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.steps_per_epoch = len(self.train_batches)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.optimizer = build_optimizer(
            model,
            cfg.optimizer,
            lr=cfg.resolved_lr,
            weight_decay=cfg.resolved_weight_decay,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lr_multiplier(
                cfg.schedule,
                total_steps=self.total_steps,
                warmup_steps=round(cfg.resolved_warmup * self.steps_per_epoch),
                milestones=cfg.milestones,
                gamma=cfg.gamma,
            ),
        )
        self.ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay else None
        self.criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
        self.autocast_dtype = torch.bfloat16 if cfg.precision == "bf16" else None

        self.forward_model: nn.Module = model
        if self.dist.enabled:
            import warnings

            from torch.nn.parallel import DistributedDataParallel

            # size-1 dimensions (1-channel inputs) make stride layouts differ harmlessly
            warnings.filterwarnings("ignore", message="Grad strides do not match bucket view")
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward_model = DistributedDataParallel(model, device_ids=ids)
        if cfg.compile:
            self.forward_model = torch.compile(self.forward_model)

        # position in the run
        self.epoch = 0  # epochs completed
        self.step = 0  # steps completed within the current epoch
        self.sums = [0.0, 0.0, 0.0]  # loss * n, correct, n of the current epoch (this rank)
        self.best_acc = -1.0
        self.best_epoch = 0
        self.elapsed = 0.0  # training seconds of earlier sessions
        self.stop_requested = False
        seed_everything(cfg.seed + self.dist.rank)  # dropout etc. differ per rank
        if resume_from is not None:
            self._restore(load_checkpoint(self.run_dir / "last.pt"))

    # -- state --------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "model": self.cfg.model,
            "model_kwargs": self.model_kwargs,
            "preprocess": {
                "in_channels": self.data.in_channels,
                "input_size": list(self.input_size),
                "mean": list(self.data.mean),
                "std": list(self.data.std),
                "resize": "bilinear-antialias",
            },
            "classes": list(self.data.classes),
            "dataset": self.data.name,
            "data_source": self.data.source,
            "splits": self.sizes,
            "augment": asdict(self.augment) if self.augment else None,
            "notes": self.notes,
            "world_size": self.dist.world_size,
            "train": asdict(self.cfg),
        }

    def _checkpoint(self, kind: str) -> dict[str, Any]:
        model = unwrap(self.model)
        ckpt: dict[str, Any] = {
            "config": self.config(),
            "model": (self.ema.state_dict() if self.ema else model.state_dict()),
            "kind": kind,
            "epoch": self.epoch,
        }
        if kind == "last":
            ckpt.update(
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict(),
                progress={
                    "epoch": self.epoch,
                    "step": self.step,
                    "best_acc": self.best_acc,
                    "best_epoch": self.best_epoch,
                    "elapsed": self.elapsed + (time.perf_counter() - self.session_start),
                },
                # every rank's RNG and running sums (gathered: a collective call)
                ranks=self.dist.gather({"rng": rng_state(), "sums": list(self.sums)}),
            )
            if self.ema:
                ckpt["train_model"] = model.state_dict()
        return ckpt

    def _restore(self, ckpt: dict[str, Any]) -> None:
        model = unwrap(self.model)
        if self.ema:
            model.load_state_dict(ckpt["train_model"])
            self.ema.load_state_dict(ckpt["model"])
        else:
            model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        p = ckpt["progress"]
        self.epoch, self.step = p["epoch"], p["step"]
        self.best_acc, self.best_epoch, self.elapsed = p["best_acc"], p["best_epoch"], p["elapsed"]
        ranks = ckpt["ranks"]
        if len(ranks) != self.dist.world_size and self.step:
            raise ValueError(
                f"{self.run_dir}/last.pt was written mid-epoch by {len(ranks)} processes; "
                f"resume it with {len(ranks)} processes, not {self.dist.world_size}"
            )
        if self.dist.rank < len(ranks):
            set_rng_state(ranks[self.dist.rank]["rng"])
            self.sums = list(ranks[self.dist.rank]["sums"])

    def save(self, kind: str) -> None:
        ckpt = self._checkpoint(kind)  # all ranks: gathers RNG states
        if self.dist.is_main:
            save_checkpoint(self.run_dir / f"{kind}.pt", ckpt)

    # -- loop ---------------------------------------------------------------
    def _request_stop(self, signum: int, _frame: Any) -> None:
        if self.stop_requested:  # a second Ctrl-C: stop right now
            raise KeyboardInterrupt
        self.stop_requested = True

    def fit(self) -> RunResult:
        """Train to the end; Ctrl-C (or SIGTERM) finishes the current step, saves, returns."""
        import signal
        import threading

        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._request_stop)
        try:
            return self._fit()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    def _fit(self) -> RunResult:
        cfg, main = self.cfg, self.dist.is_main
        self.session_start = time.perf_counter()
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(self.config(), indent=2) + "\n")
            self.log = MetricsLog(
                self.run_dir, resume_epochs=self.epoch, tensorboard=cfg.tensorboard
            )
            self._announce()
        try:
            while self.epoch < cfg.epochs:
                self._train_epoch()
        except KeyboardInterrupt:
            return self._interrupted()
        finally:
            if main:
                self.log.close()
        return RunResult(self.run_dir, "finished", self._finish(), unwrap(self.model))

    def _announce(self) -> None:
        cfg = self.cfg
        resuming = self.epoch or self.step
        action = (
            f"resuming at epoch {self.epoch + 1}, step {self.step}:" if resuming else "training"
        )
        procs = f" on {self.dist.world_size} processes" if self.dist.enabled else ""
        self.console.print(
            f"{action} {cfg.model} on {self.data.name} "
            f"({self.sizes['train']} train / {self.sizes['val']} val / {self.sizes['test']} test, "
            f"{self.input_size[0]}x{self.input_size[1]}){procs} -> {self.run_dir}"
        )
        for note in self.notes:
            self.console.print(f"  note: {note}")

    def _train_epoch(self) -> None:
        cfg, epoch = self.cfg, self.epoch
        model, fmodel = unwrap(self.model), self.forward_model
        fmodel.train()
        start_time, start_step = time.perf_counter(), self.step
        bar = _progress(self.console, enabled=cfg.progress and self.dist.is_main)
        with bar:
            task = bar.add_task(
                f"epoch {epoch + 1}/{cfg.epochs}",
                total=self.steps_per_epoch,
                completed=self.step,
                loss=0.0,
                acc=0.0,
                ips=0.0,
            )
            for images, labels in self.train_batches.epoch(epoch, start_step=self.step):
                images, labels = images.to(self.device), labels.to(self.device)
                if cfg.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                with torch.autocast(
                    self.device.type,
                    dtype=self.autocast_dtype or torch.float32,
                    enabled=self.autocast_dtype is not None,
                ):
                    output = fmodel(images)
                loss, logits = compute_loss(output, labels, self.criterion, model)
                stop = self._check_finite_and_stop(loss)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                if self.ema:
                    self.ema.update(model)
                n = len(labels)
                self.sums[0] += loss.item() * n
                self.sums[1] += (logits.argmax(1) == labels).sum().item()
                self.sums[2] += n
                self.step += 1
                seen = (self.step - start_step) * cfg.batch_size
                bar.update(
                    task,
                    completed=self.step,
                    loss=self.sums[0] / self.sums[2],
                    acc=100 * self.sums[1] / self.sums[2],
                    ips=seen / (time.perf_counter() - start_time),
                )
                if stop:  # at a step boundary, so the saved state is consistent
                    raise KeyboardInterrupt
                if (
                    cfg.checkpoint_every
                    and self.step % cfg.checkpoint_every == 0
                    and self.step < self.steps_per_epoch
                ):
                    self.save("last")
        epoch_time = time.perf_counter() - start_time
        self._end_epoch(epoch_time, (self.step - start_step) * cfg.batch_size)

    def _check_finite_and_stop(self, loss: Tensor) -> bool:
        """Raise on a NaN/inf loss; True when a stop was requested (on any rank)."""
        flags = [0.0 if torch.isfinite(loss).item() else 1.0, float(self.stop_requested)]
        if self.dist.enabled:  # every rank stops at the same step
            flags = self.dist.sum(flags)
        if flags[0]:
            step = self.epoch * self.steps_per_epoch + self.step + 1
            last = self.run_dir / "last.pt"
            kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint yet"
            raise NonFiniteLossError(
                f"loss is {loss.item()} at step {step} (epoch {self.epoch + 1}, batch "
                f"{self.step + 1}); stopped before applying it, {kept}. "
                "Try a lower --lr, --grad-clip, or --precision fp32."
            )
        return bool(flags[1])

    def _end_epoch(self, epoch_time: float, images_seen: int) -> None:
        loss_sum, correct, n = self.dist.sum(self.sums)
        eval_model = self.ema.module if self.ema else unwrap(self.model)
        record: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": loss_sum / n,
            "train_acc": 100 * correct / n,
        }
        if self.val_batches is not None:
            val = self._evaluate(eval_model, self.val_batches)
            record.update(val_loss=val["loss"], val_acc=val["top1"], val_top5=val["top5"])
        acc = record.get("val_acc", record["train_acc"])
        improved = acc > self.best_acc
        if improved:
            self.best_acc, self.best_epoch = acc, self.epoch + 1
        record["best_val_acc" if self.val_batches else "best_train_acc"] = self.best_acc
        record["epoch_time_s"] = epoch_time
        record["img_per_s"] = images_seen / max(epoch_time, 1e-9)
        self.epoch, self.step, self.sums = self.epoch + 1, 0, [0.0, 0.0, 0.0]
        if self.dist.is_main:
            self.log.append(record)
            plot_curves(self.log.records, self.run_dir / "curves.png", title=self._title())
            self.console.print(_epoch_line(record, self.cfg.epochs, improved))
        if improved:
            self.save("best")
        self.save("last")

    def _evaluate(self, model: nn.Module, batches: Batches) -> dict[str, Any]:
        return evaluate(
            model,
            batches,
            num_classes=self.data.num_classes,
            device=self.device,
            dist=self.dist,
            autocast_dtype=self.autocast_dtype,
            channels_last=self.cfg.channels_last,
        )

    def _title(self) -> str:
        return f"{self.cfg.model} on {self.data.name}"

    def _interrupted(self) -> RunResult:
        self.save("last")
        if self.dist.is_main:
            self.console.print(
                f"\ninterrupted at epoch {self.epoch + 1}, step {self.step}; saved "
                f"{self.run_dir / 'last.pt'}. Resume with: convzoo train --resume {self.run_dir}"
            )
        return RunResult(self.run_dir, "interrupted", None, unwrap(self.model))

    def _finish(self) -> dict[str, Any]:
        """Test the best checkpoint once; write summary.json."""
        from convzoo.analysis.summary import summary as model_summary

        best = load_checkpoint(self.run_dir / "best.pt") if self.dist.is_main else None
        model = unwrap(self.model)
        eval_model = self.ema.module if self.ema else model
        state = self.dist.gather(best["model"] if best else None)[0]
        final_weights = {k: v.detach().clone() for k, v in eval_model.state_dict().items()}
        eval_model.load_state_dict(state)
        test = self._evaluate(eval_model, self.test_batches)
        eval_model.load_state_dict(final_weights)
        sync = self._rank_weight_difference(model)
        if not self.dist.is_main:
            return {}
        records = self.log.records
        wall = self.elapsed + (time.perf_counter() - self.session_start)
        info = model_summary(
            self.cfg.model, (self.data.in_channels, *self.input_size), **self.model_kwargs
        )
        result = {
            "model": self.cfg.model,
            "dataset": self.data.name,
            "test_top1": test["top1"],
            "test_top5": test["top5"],
            "test_loss": test["loss"],
            "test_images": test["n"],
            "best_epoch": self.best_epoch,
            "best_val_acc": self.best_acc,
            "epochs": self.epoch,
            "params": info.total_params,
            "macs": info.total_macs,
            "input_size": list(self.input_size),
            "wall_time_s": wall,
            "img_per_s": sum(r["img_per_s"] for r in records) / max(len(records), 1),
            "world_size": self.dist.world_size,
        }
        if sync is not None:
            result["rank_weight_max_abs_diff"] = sync
        (self.run_dir / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
        self.console.print(
            f"test top-1 {test['top1']:.2f}%  top-5 {test['top5']:.2f}%  "
            f"({test['n']} images, best epoch {self.best_epoch})  "
            f"{info.total_params:,} params  {wall:.0f}s  -> {self.run_dir / 'summary.json'}"
        )
        return result

    def _rank_weight_difference(self, model: nn.Module) -> float | None:
        """Largest difference between any rank's weights and rank 0's (distributed runs)."""
        if not self.dist.enabled:
            return None
        flat = torch.cat([p.detach().float().flatten().cpu() for p in model.state_dict().values()])
        everyone = self.dist.gather(flat)
        return max(float((w - everyone[0]).abs().max()) for w in everyone)


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _progress(console, *, enabled: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2f}%"),
        TextColumn("{task.fields[ips]:.0f} img/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


def _epoch_line(r: dict[str, Any], epochs: int, improved: bool) -> str:
    val = f"  val loss {r['val_loss']:.4f} acc {r['val_acc']:.2f}%" if "val_acc" in r else ""
    star = " *" if improved else ""
    return (
        f"epoch {r['epoch']:>3}/{epochs}  train loss {r['train_loss']:.4f} acc "
        f"{r['train_acc']:.2f}%{val}  lr {r['lr']:.4g}  {r['img_per_s']:.0f} img/s  "
        f"{r['epoch_time_s']:.1f}s{star}"
    )


# -- entry points -----------------------------------------------------------
def train(cfg: TrainConfig) -> RunResult:
    """Train from scratch (see the module docstring)."""
    return Trainer(cfg).fit()


def resume(run_dir: str | Path, **changes: Any) -> RunResult:
    """Continue the run in `run_dir` from its last.pt with the settings it started with.

    `changes` may override settings that do not alter the result's meaning
    (``epochs``, ``progress``, ``num_workers``, ``threads``, ``tensorboard``).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "last.pt").is_file():
        raise FileNotFoundError(f"nothing to resume: {run_dir / 'last.pt'} does not exist")
    config = json.loads((run_dir / "config.json").read_text())
    allowed = {"epochs", "progress", "num_workers", "threads", "tensorboard", "device"}
    bad = sorted(set(changes) - allowed)
    if bad:
        raise ValueError(
            f"cannot change {', '.join(bad)} when resuming; allowed: {sorted(allowed)}"
        )
    settings = {**config["train"], **changes, "out": str(run_dir)}
    return Trainer(TrainConfig.from_dict(settings), resume_from=run_dir).fit()


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
