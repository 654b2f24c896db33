"""Segmentation runs resume exactly and train under 2-process DDP like one process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import torch

from convzoo.train.checkpoint import load_checkpoint
from convzoo.train.engine import TrainConfig, Trainer, resume, train
from tests.train.test_resume import ENV, ROOT, SCRIPT, metrics

# batch norm, dropout (global RNG) and the joint elastic augmentation must all resume exactly
DATA = "shapes:size=32,train=80,test=8"  # 72 training images: 9 full batches of 8
RUN = {"model": "unet_padded", "dataset": DATA, "epochs": 2, "batch_size": 8,
       "optimizer": "adamw", "lr": 3e-3, "elastic": True, "border_weights": True,
       "deterministic": True, "threads": 1, "precision": "fp32", "channels_last": "off",
       "model_kwargs": {"base_width": 2, "batch_norm": True, "dropout": 0.3},
       "progress": False, "tensorboard": False}  # fmt: skip
STEPS_PER_EPOCH = 9


def interrupt_at_step(monkeypatch, step: int) -> None:
    """Ctrl-C once, during the `step`-th optimizer step (counted from 1) of a training."""
    train_step, steps = Trainer._train_step, []

    def trapped(self, images, targets):
        steps.append(1)
        if len(steps) == step:
            signal.raise_signal(signal.SIGINT)
        return train_step(self, images, targets)

    monkeypatch.setattr(Trainer, "_train_step", trapped)


def test_interrupted_after_epoch_one_then_resumed_is_exact(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    reference = train(TrainConfig(**RUN, out=str(tmp_path / "reference"))).run_dir
    run = tmp_path / "interrupted"
    interrupt_at_step(monkeypatch, STEPS_PER_EPOCH + 2)  # epoch 2, second step
    assert train(TrainConfig(**RUN, out=str(run))).status == "interrupted"
    progress = load_checkpoint(run / "last.pt")["progress"]
    assert (progress["epoch"], progress["step"]) == (1, 2)
    assert len(metrics(run)) == 1  # epoch 1 was validated and logged before the stop
    monkeypatch.undo()

    resume(run, progress=False)
    want, got = load_checkpoint(reference / "last.pt"), load_checkpoint(run / "last.pt")
    for name, tensor in want["model"].items():  # weights and batch-norm statistics
        assert torch.equal(tensor, got["model"][name]), f"{name} differs after resume"
    assert metrics(run) == metrics(reference)
    summaries = [json.loads((r / "summary.json").read_text()) for r in (reference, run)]
    for key in ("test_miou", "test_dice", "test_boundary_iou", "test_per_class_iou"):
        assert summaries[0][key] == summaries[1][key], key


def test_two_process_ddp_unet_matches_one_process(tmp_path):
    """2 gloo processes with batches of 4 each train unet_padded (no batch norm, no
    dropout: both would differ per rank) as one process with batches of 8."""
    settings = {**RUN, "model_kwargs": {"base_width": 2, "dropout": 0.0}, "elastic": False}
    argv = [*("train", "unet_padded", "--dataset", DATA, "--epochs", "2", "--batch-size", "8"),
            *("--optimizer", "adamw", "--lr", "3e-3", "--border-weights", "--deterministic"),
            *("--precision", "fp32", "--channels-last", "off", "--threads", "1"),
            *("--model-arg", "base_width=2", "--model-arg", "dropout=0"),
            *("--no-progress", "--no-tensorboard", "--out", str(tmp_path / "ddp"))]  # fmt: skip
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", SCRIPT]  # fmt: skip
    done = subprocess.run(
        [*torchrun, *argv], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on 2 processes" in done.stdout
    torch.set_num_threads(1)
    single = train(TrainConfig(**settings, out=str(tmp_path / "single"))).run_dir
    run = tmp_path / "ddp"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["rank_weight_max_abs_diff"] == 0.0
    want, got = load_checkpoint(single / "last.pt")["model"], load_checkpoint(run / "last.pt")
    for name, tensor in want.items():
        torch.testing.assert_close(got["model"][name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    for a, b in zip(metrics(run), metrics(single), strict=True):
        assert a.keys() == b.keys()
        for key in a:  # argmax scores: a pixel or two may flip on float summation order
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=0.05), key
