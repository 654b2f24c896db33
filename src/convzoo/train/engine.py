"""One training engine for every registered network (classifiers and segmenters).

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

A new run never reuses a folder that holds another run (`convzoo.train.rundir`);
a NaN or exploding loss stops the run with the last good checkpoint kept, and an
epoch at chance is reported (`convzoo.train.guard`); a resumed run may extend
its epochs or lower its learning rate (`convzoo.train.resume_changes`).

The pieces live next door: settings and their resolution in `convzoo.train.config`,
seeds and RNG state in `convzoo.train.state`, the loss (with auxiliary heads) in
`convzoo.train.losses`, model and batches in `convzoo.train.setup`, config.json and the
checkpoints' contents in `convzoo.train.run_state`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from convzoo.data import Batches, load_dataset
from convzoo.registry import model_card
from convzoo.train.autotune import resolve_speed
from convzoo.train.checkpoint import load_checkpoint
from convzoo.train.config import Resolution, TrainConfig, parse_model_args, resolve_config
from convzoo.train.distributed import Dist, init_distributed
from convzoo.train.guard import (
    LossGuard,
    NonFiniteLossError,
    TrainingStopped,
    at_chance,
    recovery_advice,
)
from convzoo.train.losses import EpochTally, compute_loss, tally_record
from convzoo.train.lr_find import resolve_auto_lr
from convzoo.train.memory_check import check_training_memory
from convzoo.train.metrics import MetricsLog, plot_curves, training_speed
from convzoo.train.optim import ModelEMA, build_optimizer, build_scheduler
from convzoo.train.report import LiveProgress, console, epoch_line
from convzoo.train.resume_changes import (
    check_resume_changes,
)
from convzoo.train.run_state import RunState
from convzoo.train.rundir import claim_run_dir
from convzoo.train.setup import build_parts, default_run_dir, unwrap
from convzoo.train.state import seed_everything, set_deterministic
from convzoo.train.tasks import check_dataset, task_for

__all__ = [
    "NonFiniteLossError",
    "RunResult",
    "TrainConfig",
    "Trainer",
    "TrainingStopped",
    "compute_loss",
    "parse_model_args",
    "resume",
    "train",
]


# curves.png is redrawn after an epoch at most this often (and always at the end):
# drawing costs ~0.3 s, which matters for runs of many short epochs
PLOT_EVERY_S = 30.0


@dataclass
class RunResult:
    run_dir: Path
    status: str  # "finished" | "interrupted"
    summary: dict[str, Any] | None
    model: nn.Module


class Trainer(RunState):
    """One run: `fit()` trains to the end (or to Ctrl-C), then tests the best weights."""

    def __init__(self, cfg: TrainConfig, *, resume_from: Path | None = None) -> None:
        self.requested = cfg
        self.dist: Dist = init_distributed(cfg.device)
        self.device = self.dist.device
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        set_deterministic(cfg.deterministic, compiling=cfg.compile)
        self.console = console()
        self.run_dir = claim_run_dir(
            Path(resume_from or cfg.out or default_run_dir(cfg)),
            self.dist,
            resuming=resume_from is not None,
            force=cfg.force,
        )

        model_task = model_card(cfg.model).task
        check_dataset(cfg.model, model_task, cfg.dataset)  # before any download
        self.data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
        # defaults become explicit values, so config.json says exactly what ran and why
        resolution = resolve_config(cfg, dataset_batch_size=self.data.batch_size)
        parts = build_parts(resolution.config, self.data, self.dist)
        resolution, self.speed_choice = resolve_speed(
            resolution, parts, device=self.device, dist=self.dist, out=self.console
        )
        self.cfg, self.resolved_from = resolution.config, resolution.sources
        self.task = task_for(
            model_task,
            label_smoothing=self.cfg.label_smoothing,
            border_weights=self.cfg.border_weights,
        )
        self.lr_find = None
        if self.cfg.lr == "auto":  # the range test's suggestion (convzoo.train.lr_find)
            self.cfg, self.lr_find = resolve_auto_lr(self.cfg, self.data, self.dist, self.run_dir)
            self.resolved_from["lr"] = {"from": "lr-find", "rule": self.lr_find.note()}
        self.headline = Resolution(self.cfg, self.resolved_from).headline()
        if resume_from is not None:  # a resumed run keeps where its values came from
            saved = json.loads((Path(resume_from) / "config.json").read_text())
            self.resolved_from = saved.get("resolved_from", self.resolved_from)
        cfg = self.cfg
        model = parts.model
        self.model_kwargs, self.input_size, self.notes = (
            parts.model_kwargs,
            parts.input_size,
            parts.notes,
        )
        self.augment, self.sizes = parts.augment, parts.sizes
        if self.lr_find:
            self.notes.append(self.lr_find.note())
        self.train_batches = parts.train_batches
        self.val_batches, self.test_batches = parts.val_batches, parts.test_batches

        model.to(self.device)
        if cfg.memory_format_channels_last:
            model.to(memory_format=torch.channels_last)
        shape = (self.data.in_channels, *self.input_size)
        self.memory = check_training_memory(model, cfg, self.model_kwargs, shape, self.dist)
        self.notes += [self.memory.note()] if self.memory.note() else []
        self.model = model
        self.steps_per_epoch = len(self.train_batches)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.optimizer = build_optimizer(
            model,
            cfg.optimizer,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            rmsprop_decay=cfg.rmsprop_decay,
            eps=cfg.eps,
        )
        self.scheduler = build_scheduler(self.optimizer, cfg, self.steps_per_epoch)
        self.ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay else None
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
        self.tally = EpochTally()  # running sums of the current epoch (this rank)
        self.plotted_at = -math.inf
        self.best_acc = -1.0
        self.best_epoch = 0
        self.elapsed = 0.0  # training seconds of earlier sessions
        self.stop_requested = False
        self.guard = LossGuard(self.data.num_classes)
        self.changes: list[dict[str, Any]] = []  # settings changed on resume (config.json)
        seed_everything(cfg.seed + self.dist.rank)  # dropout etc. differ per rank
        if resume_from is not None:
            self._restore(load_checkpoint(self.run_dir / "last.pt"))

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
        if not (self.epoch or self.step):  # a NaN in the first epoch can be resumed too
            self.save("last")
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
        self.console.print(self.headline, highlight=False)
        self.console.print(
            f"{action} {cfg.model} on {self.data.name} "
            f"({self.sizes['train']} train / {self.sizes['val']} val / {self.sizes['test']} test, "
            f"{self.input_size[0]}x{self.input_size[1]}){procs} -> {self.run_dir}"
        )
        for note in self.notes:
            self.console.print(f"  note: {note}")

    def _train_epoch(self) -> None:
        cfg, epoch = self.cfg, self.epoch
        self.forward_model.train()
        start_time, start_step = time.perf_counter(), self.step
        bar = LiveProgress(
            self.console,
            enabled=cfg.progress and self.dist.is_main,
            description=f"epoch {epoch + 1}/{cfg.epochs}",
            total=self.steps_per_epoch,
            completed=self.step,
        )
        with bar:
            for images, labels in self.train_batches.epoch(epoch, start_step=self.step):
                stop = self._train_step(images, labels)
                self.step += 1
                if bar.due():  # a few times a second, not every step
                    seen = (self.step - start_step) * cfg.batch_size
                    ips = seen / (time.perf_counter() - start_time)
                    bar.show(self.step, *self.tally.running(), ips)
                if stop:  # at a step boundary, so the saved state is consistent
                    raise KeyboardInterrupt
                if (
                    cfg.checkpoint_every
                    and self.step % cfg.checkpoint_every == 0
                    and self.step < self.steps_per_epoch
                ):
                    self.save("last")
        train_time = time.perf_counter() - start_time
        self._end_epoch(train_time, (self.step - start_step) * cfg.batch_size)

    def _train_step(self, images: Tensor, labels: Tensor) -> bool:
        """One optimizer step; True when a stop was requested (on any rank)."""
        model = unwrap(self.model)
        images, labels = images.to(self.device), labels.to(self.device)
        if self.cfg.memory_format_channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(
            self.device.type,
            dtype=self.autocast_dtype or torch.float32,
            enabled=self.autocast_dtype is not None,
        ):
            output = self.forward_model(images)
        terms, labels = self.task.loss(output, labels, model)
        total = terms.total.item()  # the one read per step: a NaN must stop before the update
        stop = self._check_finite_and_stop(total)
        self.optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        if self.ema:
            self.ema.update(model)
        self.tally.add(terms, labels, total)
        return stop

    def _check_finite_and_stop(self, value: float) -> bool:
        """Raise on a NaN/inf or diverging loss (`LossGuard`); True when a stop was requested."""
        high = math.isfinite(value) and value > self.guard.limit
        flags = [float(not math.isfinite(value)), float(high), float(self.stop_requested)]
        if self.dist.enabled:  # every rank stops (and skips checkpoints) at the same step
            flags = self.dist.sum(flags)
        verdict = self.guard.update(finite=not flags[0], high=bool(flags[1]))
        if verdict:
            step = self.epoch * self.steps_per_epoch + self.step + 1
            where = f"step {step} (epoch {self.epoch + 1}, batch {self.step + 1})"
            has_last = (self.run_dir / "last.pt").exists()
            advice = recovery_advice(self.cfg, self.run_dir, checkpoint=has_last)
            raise self.guard.error(verdict, value, where, advice)
        return bool(flags[2])

    def _end_epoch(self, train_time: float, images_seen: int) -> None:
        eval_model = self.ema.module if self.ema else unwrap(self.model)
        sums = self.dist.sum(self.tally.sums)
        record: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],
            **tally_record(sums),
        }
        if self.val_batches is not None:
            val = self._evaluate(eval_model, self.val_batches)
            record.update(self.task.val_record(val))
        self.scheduler.epoch_end(record.get("val_loss", record["train_loss"]))
        score_key = self._score_key()
        improved = record[score_key] > self.best_acc
        if improved:
            self.best_acc, self.best_epoch = record[score_key], self.epoch + 1
        record[f"best_{score_key}"] = self.best_acc
        n_val = self.sizes["val"] if self.val_batches is not None else 0
        record["at_chance"] = at_chance(
            self.data.num_classes, record["train_acc"], int(sums[2]), record.get("val_acc"), n_val
        )
        record["epoch_time_s"] = train_time
        record["img_per_s"] = images_seen / max(train_time, 1e-9)
        self.epoch, self.step, self.tally = self.epoch + 1, 0, EpochTally()
        if self.dist.is_main:
            self.log.append(record)
            self.console.print(epoch_line(record, self.cfg.epochs, improved))
            if record["at_chance"]:
                self.console.print(
                    f"  at chance: accuracy within noise of {100 / self.data.num_classes:.1f}% "
                    f"(1/{self.data.num_classes} classes) for the whole epoch"
                )
            last = self.epoch == self.cfg.epochs  # _finish draws the final curves
            if not last and time.perf_counter() - self.plotted_at > PLOT_EVERY_S:
                self._plot()
        if improved:
            self.save("best")
        self.save("last")

    def _plot(self) -> None:
        plot_curves(self.log.records, self.run_dir / "curves.png", title=self._title())
        self.plotted_at = time.perf_counter()

    def _score_key(self) -> str:
        """The record entry that picks the best checkpoint (val accuracy or mean IoU)."""
        return self.task.score_key if self.val_batches is not None else "train_acc"

    def _evaluate(self, model: nn.Module, batches: Batches) -> dict[str, Any]:
        return self.task.evaluate(
            model,
            batches,
            num_classes=self.data.num_classes,
            device=self.device,
            dist=self.dist,
            autocast_dtype=self.autocast_dtype,
            channels_last=self.cfg.memory_format_channels_last,
        )

    def _title(self) -> str:
        return f"{self.cfg.model} on {self.data.name}"

    def _interrupted(self) -> RunResult:
        self.save("last")
        if self.dist.is_main and self.log.records:
            self._plot()
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
        sync = self.dist.max_weight_difference(model)
        if not self.dist.is_main:
            return {}
        self._plot()
        records = self.log.records
        wall = self.elapsed + (time.perf_counter() - self.session_start)
        info = model_summary(
            self.cfg.model, (self.data.in_channels, *self.input_size), **self.model_kwargs
        )
        result = {
            "model": self.cfg.model,
            "dataset": self.data.name,
            **self.task.test_summary(test),
            "best_epoch": self.best_epoch,
            f"best_{self._score_key()}": self.best_acc,
            "epochs": self.epoch,
            "params": info.total_params,
            "macs": info.total_macs,
            "input_size": list(self.input_size),
            **{k: v for k, v in records[-1].items() if k.startswith("train_")},
            **training_speed(records),
            "wall_time_s": wall,
            "world_size": self.dist.world_size,
            "at_chance": any(r.get("at_chance") for r in records),
            "at_chance_epochs": [r["epoch"] for r in records if r.get("at_chance")],
        }
        if sync is not None:
            result["rank_weight_max_abs_diff"] = sync
        (self.run_dir / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
        self.console.print(
            f"{self.task.test_line(test)}, best epoch {self.best_epoch})  "
            f"{info.total_params:,} params  {wall:.0f}s  -> {self.run_dir / 'summary.json'}"
        )
        return result


# -- entry points -----------------------------------------------------------
def train(cfg: TrainConfig) -> RunResult:
    """Train from scratch (see the module docstring)."""
    return Trainer(cfg).fit()


def resume(run_dir: str | Path, **changes: Any) -> RunResult:
    """Continue the run in `run_dir` from its last.pt with the settings it started with.

    `changes` may override the settings in `RESUMABLE`: more ``epochs``, a new
    ``lr`` from the resume point, ``progress``, ``num_workers``, ``threads``,
    ``tensorboard``, ``device`` (see `convzoo.train.resume_changes`).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "last.pt").is_file():
        raise FileNotFoundError(f"nothing to resume: {run_dir / 'last.pt'} does not exist")
    config = json.loads((run_dir / "config.json").read_text())
    check_resume_changes(changes)
    settings = {**config["train"], **changes, "out": str(run_dir)}
    return Trainer(TrainConfig.from_dict(settings), resume_from=run_dir).fit()
