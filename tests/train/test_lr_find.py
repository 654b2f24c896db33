"""The learning-rate range test: library, `convzoo lr-find`, and `convzoo train --lr auto`."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import pytest

from convzoo.cli import main
from convzoo.train.config import TrainConfig
from convzoo.train.engine import resume, train
from convzoo.train.lr_find import RULE, lr_find, suggest

DATA = "synthetic:channels=1,size=32,classes=4,train=256,test=64"


def test_suggestion_is_a_tenth_of_the_minimum_and_steepest_is_before_it():
    lrs = [10.0**e for e in range(-6, 2)]
    smoothed = [2.0, 2.0, 1.9, 1.2, 1.0, 0.9, 1.5, 4.0]  # falls fastest from 1e-4 to 1e-3
    suggestion, at_min, steepest = suggest(lrs, smoothed)
    assert at_min == pytest.approx(1e-1) and suggestion == pytest.approx(1e-2)
    assert steepest == pytest.approx(1e-4)


def test_lr_find_sweeps_exponentially_and_plots(tmp_path, capsys):
    cfg = TrainConfig(model="lenet5", dataset=DATA, batch_size=32, threads=1)
    result = lr_find(cfg, steps=30)
    lrs = result.lrs
    assert lrs[0] == pytest.approx(1e-6) and all(b > a for a, b in pairwise(lrs))
    ratios = {round(math.log(b / a), 9) for a, b in pairwise(lrs)}
    assert len(ratios) == 1, "one constant factor between steps"
    assert result.suggestion == pytest.approx(result.min_loss_lr / 10) and result.rule == RULE
    assert len(result.losses) == len(result.smoothed) == len(lrs)

    plot = tmp_path / "lr.png"
    args = ["lr-find", "lenet5", "--dataset", DATA, "--batch-size", "32", "--steps", "30",
            "--threads", "1"]  # fmt: skip
    assert main([*args, "--plot", str(plot), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["suggestion"] == pytest.approx(result.suggestion)  # same seed, same sweep
    assert plot.is_file() and plot.stat().st_size > 10_000


def test_bad_sweep_settings_are_refused(capsys):
    with pytest.raises(ValueError, match=r"0 < start < end"):
        lr_find(TrainConfig(model="lenet5", dataset=DATA, threads=1), start=1.0, end=0.1)
    with pytest.raises(SystemExit):
        main(["train", "lenet5", "--lr", "fast"])
    assert "--lr takes a number or 'auto', got 'fast'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"lr must be a positive number or 'auto'"):
        TrainConfig(model="lenet5", lr="fast")


def test_train_with_lr_auto_records_the_suggestion(tmp_path):
    cfg = TrainConfig(model="lenet5", dataset=DATA, batch_size=32, lr="auto", epochs=1, threads=1,
                      progress=False, tensorboard=False, out=str(tmp_path / "run"))  # fmt: skip
    run = train(cfg).run_dir
    config = json.loads((run / "config.json").read_text())
    assert config["resolved_from"]["lr"]["from"] == "lr-find"
    assert config["train"]["lr"] == config["lr_find"]["suggestion"] > 0
    assert config["lr_find"]["rule"] == RULE and (run / "lr-find.png").is_file()
    assert any("from lr-find" in note for note in config["notes"])
    with pytest.raises(ValueError, match=r"--lr on resume must be a positive number"):
        resume(run, lr="auto")
