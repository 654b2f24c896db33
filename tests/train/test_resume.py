"""Exact resume after SIGKILL, Ctrl-C, and 2-process DDP against one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from convzoo.train.checkpoint import load_checkpoint
from convzoo.train.engine import TrainConfig, resume, train
from convzoo.train.metrics import TIMING_KEYS
from tests.train.tiny import register_tiny

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(Path(__file__).with_name("tiny.py"))
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1"}

# dropout (global RNG), EMA, augmentation and a mid-epoch checkpoint: all must resume exactly
RUN = {"model": "tiny_net", "dataset": "synthetic:train=1536", "epochs": 3, "batch_size": 16,
       "checkpoint_every": 7, "deterministic": True, "ema_decay": 0.9, "threads": 1,
       "model_kwargs": {"dropout": 0.3}, "progress": False, "tensorboard": False}  # fmt: skip
CLI = [
    *("train", "tiny_net", "--dataset", "synthetic:train=1536", "--epochs", "3"),
    *("--batch-size", "16", "--checkpoint-every", "7", "--deterministic", "--ema", "0.9"),
    *("--threads", "1", "--model-arg", "dropout=0.3", "--no-progress", "--no-tensorboard"),
]


def metrics(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in TIMING_KEYS} for x in lines]


def wait_for_mid_epoch_checkpoint(proc, last: Path, min_epoch: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"training ended before it could be interrupted: {proc.stdout}"
        if last.is_file():
            progress = load_checkpoint(last)["progress"]
            if progress["epoch"] >= min_epoch and progress["step"] > 0:
                return progress
        time.sleep(0.02)
    raise AssertionError("no mid-epoch checkpoint appeared")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run (shared by the tests that compare against it)."""
    register_tiny()
    torch.set_num_threads(1)
    result = train(TrainConfig(**RUN, out=str(tmp_path_factory.mktemp("reference"))))
    return result.run_dir


def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path, reference):
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, SCRIPT, *CLI, "--out", str(run)], env=ENV, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        seen = wait_for_mid_epoch_checkpoint(proc, run / "last.pt", min_epoch=1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    at = load_checkpoint(run / "last.pt")["progress"]
    assert at["epoch"] >= seen["epoch"] and at["epoch"] < 3

    resume(run, progress=False)
    want, got = load_checkpoint(reference / "last.pt"), load_checkpoint(run / "last.pt")
    for key in ("model", "train_model"):
        for name, tensor in want[key].items():
            assert torch.equal(tensor, got[key][name]), f"{key}.{name} differs after resume"
    assert metrics(run) == metrics(reference)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test_top1"] == json.loads((reference / "summary.json").read_text())["test_top1"]


def test_ctrl_c_saves_then_resume_is_exact(tmp_path, reference, capsys):
    run = tmp_path / "interrupted"
    settings = {**RUN, "model_kwargs": {**RUN["model_kwargs"], "interrupt_after": 100}}
    result = train(TrainConfig(**settings, out=str(run)))
    assert result.status == "interrupted"
    assert "interrupted at epoch 2, step 15" in capsys.readouterr().out
    progress = load_checkpoint(run / "last.pt")["progress"]
    assert (progress["epoch"], progress["step"]) == (1, 15)
    config = json.loads((run / "config.json").read_text())
    config["model_kwargs"].pop("interrupt_after")  # resume the same network without the trap
    config["train"]["model_kwargs"].pop("interrupt_after")
    (run / "config.json").write_text(json.dumps(config))
    resume(run, progress=False)
    want, got = load_checkpoint(reference / "last.pt"), load_checkpoint(run / "last.pt")
    assert all(torch.equal(t, got["train_model"][k]) for k, t in want["train_model"].items())
    assert metrics(run) == metrics(reference)


def test_two_process_ddp_resumes_and_matches_one_process(tmp_path):
    """2 gloo processes, stopped by Ctrl-C mid-epoch and restarted with --resume, end with
    identical weights on both ranks that match one process with the same global batch."""
    settings = [
        *("--dataset", "synthetic", "--epochs", "2", "--batch-size", "32", "--deterministic"),
        *("--threads", "1", "--no-progress", "--no-tensorboard"),
    ]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", SCRIPT]  # fmt: skip
    run = tmp_path / "ddp"
    first = subprocess.run(
        [*torchrun, "train", "tiny_net", *settings, "--model-arg", "interrupt_after=9",
         "--out", str(run)],
        env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert first.returncode != 0 and "interrupted at epoch 2, step 3" in first.stdout, first.stderr
    config = json.loads((run / "config.json").read_text())
    config["model_kwargs"].pop("interrupt_after")  # restart the same network without the trap
    config["train"]["model_kwargs"].pop("interrupt_after")
    (run / "config.json").write_text(json.dumps(config))
    resume_cmd = [*torchrun, "train", "--resume", str(run), "--threads", "1"]
    again = subprocess.run(
        resume_cmd, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming at epoch 2, step 3" in again.stdout
    torch.set_num_threads(1)
    single = train(TrainConfig(model="tiny_net", dataset="synthetic", epochs=2, batch_size=32,
                               deterministic=True, progress=False, tensorboard=False,
                               out=str(tmp_path / "single")))  # fmt: skip
    ddp_summary = json.loads((run / "summary.json").read_text())
    assert ddp_summary["world_size"] == 2
    assert ddp_summary["rank_weight_max_abs_diff"] == 0.0  # both ranks hold identical weights
    want = load_checkpoint(single.run_dir / "last.pt")["model"]
    got = load_checkpoint(run / "last.pt")["model"]
    for name, tensor in want.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    ddp_m, one_m = metrics(run), metrics(single.run_dir)
    for a, b in zip(ddp_m, one_m, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-4), key
