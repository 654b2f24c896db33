"""`convzoo reproduce NAME --estimate`: a budget's cost on this machine, nothing trained."""

import json

import pytest

from convzoo.cli import main
from convzoo.experiments import Arm, Budget
from convzoo.experiments.estimate import ArmCost, estimate
from convzoo.experiments.runner import run_dir_of
from convzoo.experiments.verdict import Better
from tests.experiments.tiny import tiny_experiment

PRICED = Budget(
    "synthetic:channels=1,size=16,classes=3,train=100,test=40",
    epochs=2,
    train_images=60,
    seeds=(0, 1, 2),
    settings={"batch_size": 16, "input_size": 20},
)
EXPERIMENT = tiny_experiment(
    name="tiny_cost",
    arms=(Arm("narrow", "ablation_cnn", {"width": 4}), Arm("wide", "ablation_cnn", {"width": 8})),
    rule=Better("test_acc", "wide", "narrow"),
    full=PRICED,
    quick=PRICED,
    metrics=(),
)


def test_estimate_prices_each_arm_at_its_real_sizes_and_skips_finished_runs(tmp_path):
    out = tmp_path / "tiny_cost"
    finished = run_dir_of(out, EXPERIMENT.arms[0], 1)
    finished.mkdir(parents=True)
    (finished / "summary.json").write_text("{}")
    costs = estimate(EXPERIMENT, quick=False, out=out, threads=1)
    assert [c.arm for c in costs] == ["narrow", "wide"]
    for cost in costs:
        # 10% of 100 held out for validation, the other 90 cut to the budget's 60
        assert (cost.train_images, cost.val_images, cost.test_images) == (60, 10, 40)
        assert (cost.input_size, cost.batch_size, cost.epochs) == (20, 16, 2)
        assert cost.train_img_per_s > 0 and cost.eval_img_per_s > 0
    assert [c.trainings_left for c in costs] == [2, 3]
    assert costs[0].seconds_left == pytest.approx(2 * costs[0].seconds_per_training)


def test_seconds_per_training_counts_training_and_every_evaluation():
    cost = ArmCost("a", 32, 128, epochs=10, train_images=1000, val_images=100, test_images=500,
                   train_img_per_s=100.0, eval_img_per_s=300.0, trainings_left=3)  # fmt: skip
    assert cost.seconds_per_training == pytest.approx(10 * 1000 / 100 + (10 * 100 + 500) / 300)
    assert cost.as_dict()["seconds_left"] == pytest.approx(3 * cost.seconds_per_training)


def test_cli_estimate_trains_nothing(tmp_path, capsys):
    args = ["reproduce", "bottleneck_1x1", "--quick", "--estimate", "--threads", "1",
            "--out", str(tmp_path), "--json"]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    (exp,) = report["experiments"]
    assert exp["experiment"] == "bottleneck_1x1" and report["threads"] == 1
    assert {a["arm"] for a in exp["arms"]} == {"reduced", "naive"}
    assert all(a["trainings_left"] == 3 for a in exp["arms"])
    assert report["hours_left"] == pytest.approx(exp["hours_left"])
    assert report["hours_left"] > 0
    assert not any(tmp_path.rglob("*.pt"))  # nothing trained
