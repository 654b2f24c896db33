"""Nothing lost, nothing silent: run directories, resume with changes, divergence, chance."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from convzoo.cli import main
from convzoo.train.checkpoint import load_checkpoint
from convzoo.train.config import TrainConfig
from convzoo.train.engine import resume, train
from convzoo.train.guard import (
    DivergenceError,
    LossGuard,
    NonFiniteLossError,
    at_chance,
    recovery_advice,
)
from convzoo.train.rundir import RunDirectoryError, prepare_run_dir

DATA = "synthetic:channels=1,size=32,classes=4,train=256,test=64"
FAST = {"dataset": DATA, "batch_size": 32, "progress": False, "tensorboard": False, "threads": 1}
CLI = ["--dataset", DATA, "--batch-size", "32", "--no-progress", "--no-tensorboard",
       "--threads", "1"]  # fmt: skip


def lenet(tmp_path: Path, name: str = "run", **settings) -> TrainConfig:
    return TrainConfig(model="lenet5", out=str(tmp_path / name), **{**FAST, **settings})


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# -- run directories ----------------------------------------------------------
def test_a_finished_run_is_never_overwritten_nor_mixed(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "lenet5", *CLI, "--epochs", "1", "--out", str(run)]) == 0
    (run / "eval-digits.json").write_text("{}")  # what `convzoo eval` leaves in a run
    first = (run / "config.json").read_text()
    capsys.readouterr()

    assert main(["train", "lenet5", *CLI, "--epochs", "1", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a run" in err
    assert f"--resume {run}" in err and "--force" in err
    assert (run / "config.json").read_text() == first

    assert main(["train", "lenet5", *CLI, "--epochs", "1", "--out", str(run), "--force"]) == 0
    assert not (run / "eval-digits.json").exists(), "the old run's files were removed first"
    assert len(records(run)) == 1 and (run / "summary.json").is_file()


def test_a_folder_with_other_files_is_refused_even_with_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "best.pt").write_bytes(b"")
    for force in (False, True):
        with pytest.raises(RunDirectoryError, match=r"holds files no run writes \(notes.txt\)"):
            prepare_run_dir(tmp_path, resuming=False, force=force)
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "best.pt").exists()


def test_out_that_is_a_file_or_not_writable_is_one_line(tmp_path, monkeypatch, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main(["train", "lenet5", *CLI, "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is an existing file, not a folder" in err

    def read_only(self, *args, **kwargs):  # root ignores permissions: simulate the refusal
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(RunDirectoryError, match=r"cannot write the run directory .*: Permission"):
        prepare_run_dir(tmp_path / "new", resuming=False, force=False)


def test_device_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["train", "lenet5", *CLI, "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err and "--device cpu" in err


# -- resume with changes ------------------------------------------------------
def test_resume_applies_more_epochs_and_a_lower_lr_and_records_them(tmp_path):
    settings = {"epochs": 3, "schedule": "constant", "lr": 0.05, "warmup_epochs": 0.0}
    reference = train(lenet(tmp_path, "reference", **settings)).run_dir
    run = train(lenet(tmp_path, **{**settings, "epochs": 2})).run_dir

    resume(run, epochs=3, lr=0.005, progress=False)
    lrs = [r["lr"] for r in records(run)]
    want = [r["lr"] for r in records(reference)]
    assert lrs == [0.05, 0.05, 0.005] and want == [0.05] * 3
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["epochs"] == 3 and config["train"]["lr"] == 0.005
    assert config["changes"] == [
        {"setting": "epochs", "from": 2, "to": 3, "epoch": 3, "step": 0},
        {"setting": "lr", "from": 0.05, "to": 0.005, "epoch": 3, "step": 0},
    ]
    assert load_checkpoint(run / "last.pt")["config"]["changes"] == config["changes"]


def test_resume_of_a_finished_run_says_how_to_extend_it(tmp_path, capsys):
    run = train(lenet(tmp_path, epochs=1)).run_dir
    with pytest.raises(ValueError, match=r"is finished \(1/1 epochs.*--resume .* --epochs 6"):
        resume(run, progress=False)
    with pytest.raises(ValueError, match=r"must be a positive number"):
        resume(run, lr=-1.0)
    assert main(["train", "lenet5", "--resume", str(run)]) == 2
    assert "drop the model name" in capsys.readouterr().err


def test_resume_cannot_cut_epochs_already_trained(tmp_path):
    run = train(lenet(tmp_path, epochs=2)).run_dir
    with pytest.raises(ValueError, match=r"already trained 2 epochs; --epochs must be at least 2"):
        resume(run, epochs=1)


# -- divergence and chance ----------------------------------------------------
def test_a_finite_explosion_stops_like_a_nan(tmp_path, capsys):
    code = main(["train", "lenet5", *CLI, "--epochs", "2", "--lr", "30", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "training diverged" in err and "above 139 (100 x ln 4 classes)" in err
    assert f"convzoo train --resume {tmp_path} --lr 3" in err and "--precision" not in err
    last = load_checkpoint(tmp_path / "last.pt")
    assert all(torch.isfinite(v).all() for v in last["model"].values())
    assert not (tmp_path / "summary.json").exists()


def test_a_non_finite_explosion_stops_and_can_be_resumed_with_a_lower_lr(tmp_path):
    cfg = lenet(tmp_path, epochs=1, lr=1e38, precision="bf16", grad_clip=5.0)
    with pytest.raises(NonFiniteLossError, match=r"loss is (nan|inf) at step \d") as info:
        train(cfg)
    message = str(info.value)
    assert "--precision fp32" in message and "--grad-clip" not in message
    assert f"--resume {tmp_path / 'run'} --lr 1e+37" in message
    result = resume(tmp_path / "run", lr=0.01, progress=False)
    assert result.status == "finished" and math.isfinite(result.summary["test_loss"])


def test_loss_guard_rule():
    guard = LossGuard(num_classes=10)
    assert guard.limit == pytest.approx(100 * math.log(10))
    verdicts = [guard.update(finite=True, high=h) for h in (True,) * 4 + (False,) + (True,) * 5]
    assert verdicts == [None] * 9 + ["diverged"]  # one sound step resets the count
    assert not guard.healthy and guard.update(finite=False, high=False) == "non-finite"
    error = guard.error("diverged", 3.2e23, "step 9", "advice")
    assert isinstance(error, DivergenceError) and "3.2e+23 at step 9" in str(error)


def test_advice_names_only_settings_that_differ_from_the_run():
    fp32 = TrainConfig(model="alexnet", lr=0.1, warmup_epochs=0.0, precision="fp32")
    text = recovery_advice(fp32, "runs/a", checkpoint=True)
    assert "convzoo train --resume runs/a --lr 0.01" in text and "--precision" not in text
    assert "--grad-clip 1 --warmup-epochs 1" in text and "convzoo info alexnet" in text
    tuned = TrainConfig(model="alexnet", lr=0.1, warmup_epochs=1.0, grad_clip=1.0, precision="fp32")
    assert "start over" not in recovery_advice(tuned, "runs/a", checkpoint=True)


def test_at_chance_rule():
    # 10 classes: 3 sigma of guessing is 0.4 points over 54000 images, 1.3 over 5000
    assert at_chance(10, 10.2, 54_000, 9.5, 5_000)
    assert not at_chance(10, 10.2, 54_000, 12.0, 5_000)
    assert not at_chance(10, 11.0, 54_000, 10.0, 5_000)
    assert at_chance(4, 30.0, 230, None, 0)


def test_a_run_at_chance_says_so_in_the_log_and_summary(tmp_path, capsys):
    summary = train(lenet(tmp_path, epochs=1, lr=1e-7)).summary
    assert summary["at_chance"] is True and summary["at_chance_epochs"] == [1]
    assert "at chance: accuracy within noise of 25.0%" in capsys.readouterr().out
    assert records(tmp_path / "run")[0]["at_chance"] is True
