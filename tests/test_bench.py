"""`convzoo bench`: candidates, ratios and the recorded machine (no timing assertions)."""

from __future__ import annotations

import json

import pytest

from convzoo.bench import bench
from convzoo.cli import main


def test_bench_rows_ratios_and_machine_facts():
    result = bench(["lenet5"], mode="infer", batch_size=2, modes=("fp32", "channels_last"),
                   warmup=1, repeats=2, repeat_s=0.01)  # fmt: skip
    rows = {r.mode: r for r in result.rows}
    assert set(rows) == {"fp32", "channels_last"}
    assert all(len(r.img_per_s) == 2 and r.median > 0 for r in rows.values())
    assert rows["fp32"].ratio == 1.0  # convzoo fp32 is the reference without --against
    assert rows["channels_last"].ratio == pytest.approx(
        rows["channels_last"].median / rows["fp32"].median
    )
    facts = result.as_dict()["machine"]
    assert {"cpu", "capability", "avx512_bf16", "threads", "torch"} <= set(facts)


def test_against_a_twin_runs_the_twin_in_the_same_modes(capsys, tmp_path):
    save = tmp_path / "b.json"
    args = ["bench", "resnet18", "--mode", "infer", "--batch-size", "1", "--input-size", "32",
            "--modes", "fp32", "--repeats", "1", "--against", "torchvision", "--json",
            "--save", str(save)]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(save.read_text())
    impls = {r["implementation"]: r for r in data["rows"]}
    assert set(impls) == {"convzoo", "torchvision:resnet18"}
    assert impls["torchvision:resnet18"]["ratio"] == 1.0


def test_bench_prints_a_table_for_a_person(capsys):
    args = ["bench", "lenet5", "--mode", "infer", "--batch-size", "2", "--modes", "fp32",
            "--repeats", "1"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "lenet5" in out and "img/s" in out


def test_bench_errors_say_what_was_expected(capsys):
    assert main(["bench", "lenet5", "--mode", "train", "--modes", "onnxruntime"]) == 2
    assert "inference only" in capsys.readouterr().err
    assert main(["bench", "lenet5", "--against", "timm"]) == 2
    assert "no timm twin" in capsys.readouterr().err
    assert main(["bench"]) == 2
    assert "--all-twins" in capsys.readouterr().err


def test_all_twins_with_against_takes_only_that_librarys_twins():
    from convzoo.bench import models_with_twins
    from convzoo.registry import model_card

    every, torchvision, timm = (models_with_twins(s) for s in (None, "torchvision", "timm"))
    assert set(torchvision) | set(timm) == set(every) and torchvision and timm
    assert "resnet18" in torchvision and "xception" in timm and "xception" not in torchvision
    assert all(any(t.source == "timm" for t in model_card(n).twins) for n in timm)
