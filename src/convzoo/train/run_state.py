"""What a training run writes down and reads back: config.json and its checkpoints.

`RunState` is the part of `convzoo.train.engine.Trainer` that turns the run into
the config (everything needed to rebuild the model and its preprocessing) and
into ``last.pt`` / ``best.pt``, and restores a resumed run from ``last.pt``
(see the engine's docstring for what exact resume requires).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from convzoo.train.checkpoint import save_checkpoint
from convzoo.train.losses import EpochTally
from convzoo.train.resume_changes import check_position, record_changes, set_peak_lr
from convzoo.train.setup import unwrap
from convzoo.train.state import rng_state, set_rng_state

__all__ = ["RunState"]


class RunState:
    """Config, checkpoints and restore; the trainer supplies the run's attributes."""

    def config(self) -> dict[str, Any]:
        return {
            "model": self.cfg.model,
            "task": self.task.name,
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
            "resolved_from": self.resolved_from,
            "speed_probe": self.speed_choice.as_dict() if self.speed_choice else None,
            "changes": self.changes,
            "memory": self.memory.as_dict(),
            **({"lr_find": self.lr_find.brief()} if self.lr_find else {}),
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
                ranks=self.dist.gather({"rng": rng_state(), "sums": list(self.tally.sums)}),
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
            self.tally = EpochTally(list(ranks[self.dist.rank]["sums"]))
        # settings changed on resume take effect here (see convzoo.train.resume_changes)
        check_position(self.run_dir, self.cfg, self.epoch, self.step)
        set_peak_lr(self.optimizer, self.scheduler, self.cfg.lr)
        before, history = ckpt["config"]["train"], ckpt["config"].get("changes", [])
        self.changes = record_changes(
            before, self.cfg, epoch=self.epoch + 1, step=self.step, history=history
        )

    def save(self, kind: str) -> None:
        if kind == "last" and not self.guard.healthy:  # keep the last good state
            return
        ckpt = self._checkpoint(kind)  # all ranks: gathers RNG states
        if self.dist.is_main:
            save_checkpoint(self.run_dir / f"{kind}.pt", ckpt)
