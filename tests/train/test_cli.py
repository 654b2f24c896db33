"""`convzoo train` and `convzoo eval` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from convzoo.cli import main


def test_train_then_eval(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--epochs", "1", "--batch-size", "32", "--no-progress", "--no-tensorboard"]
    code = main(["train", "tiny_net", "--dataset", "synthetic", *args, "--out", str(run)])
    assert code == 0
    assert "test top-1" in capsys.readouterr().out

    assert main(["eval", str(run), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "synthetic" and result["images"] == 64
    assert len(result["per_class_accuracy"]) == 4
    assert sum(map(sum, result["confusion"])) == 64
    diagonal = sum(result["confusion"][i][i] for i in range(4))
    assert abs(result["top1"] - 100 * diagonal / 64) < 1e-9
    assert Path(result["png"]).is_file() and Path(result["json"]).is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert abs(summary["test_top1"] - result["top1"]) < 1e-9  # same weights, same numbers

    assert result["speed"]["choice"] == "fp32" and "too few" in result["speed"]["source"]

    assert main(["eval", str(run / "best.pt"), "--precision", "fp32", "--channels-last"]) == 0
    out = capsys.readouterr().out
    assert "class0" in out and "precision/layout: fp32+channels_last (only candidate)" in out
    layout = json.loads(Path(result["json"]).read_text())
    assert layout["speed"]["channels_last"] is True
    assert layout["confusion"] == result["confusion"]  # the layout changes no prediction

    assert main(["eval", str(run), "--dataset", "synthetic:classes=3"]) == 2
    assert "4 classes" in capsys.readouterr().err


def test_train_needs_a_model_or_resume(capsys):
    assert main(["train"]) == 2
    assert "--resume" in capsys.readouterr().err
