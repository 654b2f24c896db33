"""The experiment framework end to end on tiny budgets: runs, resume, report, --list."""

import json
import math
from pathlib import Path

import pytest

import convzoo.train.engine as engine
from convzoo.cli import main
from convzoo.data.catalog import dataset_task
from convzoo.experiments import Arm, Budget, get_experiment, list_experiments
from convzoo.experiments.core import RunData, epochs_to_train_error, steps_to_val_acc
from convzoo.experiments.runner import run_experiment
from convzoo.experiments.verdict import CONFIRMED, CONTRADICTED, NOT_SHOWN, Better
from tests.experiments.tiny import TINY, tiny_experiment


def test_every_experiment_is_complete():
    experiments = list_experiments()
    names = [e.name for e in experiments]
    for wanted in ("degradation", "batchnorm", "separable", "compound_scaling", "lineage"):
        assert wanted in names
    for exp in experiments:
        assert exp.claim.endswith(".") and exp.source and exp.protocol
        assert exp.rule.describe() and exp.rule_for(True).describe()
        assert len(exp.full.seeds) >= 3 and len(exp.quick.seeds) >= 3
        if dataset_task(exp.full.dataset) == "segmentation":  # masks: the generated shapes
            assert exp.quick.dataset.startswith("shapes:") and exp.full.dataset.startswith("shapes")
        else:
            assert exp.quick.dataset == "digits" and exp.full.dataset == "fashion-mnist"


def test_unknown_experiment_suggests_a_name():
    with pytest.raises(ValueError, match="did you mean 'degradation'"):
        get_experiment("degradaton")


def test_duplicate_arm_labels_are_refused():
    with pytest.raises(ValueError, match="repeats an arm label"):
        tiny_experiment(arms=(Arm("x", "ablation_cnn"), Arm("x", "ablation_cnn")))


def test_run_writes_report_and_resume_skips_finished_trainings(tmp_path, monkeypatch):
    exp = tiny_experiment()
    outcome = run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None, command="cmd")
    out = tmp_path / "tiny"
    for name in ("report.md", "results.json", "curves.png", "bars.png"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"]["status"] == outcome.verdict.status
    assert {a["label"]: len(a["per_seed"]) for a in results["arms"]} == {"bn": 2, "plain": 2}
    assert "steps_to_val50" in results["stats"]["bn"]
    report = (out / "report.md").read_text()
    assert "A tiny check" in report and "```\ncmd\n```" in report and "![" in report

    def no_training(*args, **kwargs):
        raise AssertionError("a finished training was run again")

    monkeypatch.setattr("convzoo.train.engine.train", no_training)
    monkeypatch.setattr("convzoo.train.engine.resume", no_training)
    lines = []
    run_experiment(exp, quick=True, root=tmp_path, echo=lines.append)
    assert sum("skipped" in line for line in lines) == 4


def test_resume_continues_an_interrupted_training(tmp_path, monkeypatch):
    """A run with last.pt but no summary.json is resumed, not restarted."""
    exp = tiny_experiment(arms=(Arm("bn", "ablation_cnn", {"width": 4}),), rule=Better(
        "test_acc", "bn", "bn"))  # fmt: skip
    run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None)
    run_dir = tmp_path / "tiny" / "runs" / "bn" / "seed1"
    (run_dir / "summary.json").unlink()
    calls = []
    original = engine.resume
    monkeypatch.setattr(engine, "resume", lambda d, **kw: calls.append(d) or original(d, **kw))
    monkeypatch.setattr(engine, "train", lambda cfg: pytest.fail("restarted instead of resumed"))
    run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None)
    assert calls == [run_dir]
    assert (run_dir / "summary.json").is_file()


def test_a_directory_trained_with_other_settings_is_refused(tmp_path):
    exp = tiny_experiment(arms=(Arm("bn", "ablation_cnn", {"width": 4}),), rule=Better(
        "test_acc", "bn", "bn"))  # fmt: skip
    run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None)
    longer = tiny_experiment(
        arms=exp.arms, rule=exp.rule, quick=Budget(TINY.dataset, epochs=2, seeds=(0, 1))
    )
    with pytest.raises(ValueError, match="trained with other settings"):
        run_experiment(longer, quick=True, root=tmp_path, echo=lambda _: None)


def test_step_and_epoch_metrics_from_curves():
    records = [
        {"epoch": 1, "train_acc": 60.0, "val_acc": 40.0},
        {"epoch": 2, "train_acc": 80.0, "val_acc": 70.0},
    ]
    run = RunData("a", 0, records, {}, steps_per_epoch=10)
    assert steps_to_val_acc(70.0).fn(run) == 20
    assert steps_to_val_acc(90.0).fn(run) == 30  # never reached: one epoch past the budget
    assert epochs_to_train_error(25.0).fn(run) == 2.0
    # a run that diverged in epoch 2 reached 70% first, but 90% never: no count, not 30 steps
    diverged = RunData("a", 0, records, None, steps_per_epoch=10, diverged="loss inf at step 12")
    assert steps_to_val_acc(70.0).fn(diverged) == 20
    assert math.isnan(steps_to_val_acc(90.0).fn(diverged))
    assert math.isnan(epochs_to_train_error(10.0).fn(diverged))


def test_list_shows_every_experiment_with_its_last_verdict(tmp_path, capsys):
    (tmp_path / "degradation").mkdir()
    (tmp_path / "degradation" / "results.json").write_text(
        json.dumps({"verdict": {"status": NOT_SHOWN}})
    )
    assert main(["reproduce", "--list", "--json", "--out", str(tmp_path)]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {e.name for e in list_experiments()}
    assert rows["degradation"]["last_verdict"] == NOT_SHOWN
    assert rows["separable"]["last_verdict"] is None


def test_cli_refuses_unknown_arms_and_missing_names(capsys):
    assert main(["reproduce"]) == 2
    assert main(["reproduce", "lrn", "--arms", "nope"]) == 2
    assert "has no arm" in capsys.readouterr().err


@pytest.mark.slow
def test_a_registered_experiment_end_to_end_on_a_tiny_budget(tmp_path):
    """`lrn` through the CLI with the budget overridden to seconds."""
    argv = ["reproduce", "lrn", "--quick", "--out", str(tmp_path), "--epochs", "1",
            "--train-images", "64", "--test-images", "64", "--seeds", "0,1"]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((tmp_path / "lrn" / "results.json").read_text())
    assert results["verdict"]["status"] in (CONFIRMED, NOT_SHOWN, CONTRADICTED)
    assert results["budget_detail"].startswith("digits, 1 epochs, 64 training images")
    assert "--train-images 64" in results["command"]


def test_one_seed_trains_only_and_never_gives_a_verdict(tmp_path):
    one = Budget(TINY.dataset, epochs=1, seeds=(0,), settings=TINY.settings)
    exp = tiny_experiment(arms=(Arm("bn", "ablation_cnn", {"width": 4}),), quick=one,
                          rule=Better("test_acc", "bn", "bn"))  # fmt: skip
    with pytest.raises(ValueError, match="at least 2 seeds"):
        run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None)
    assert (
        run_experiment(exp, quick=True, root=tmp_path, echo=lambda _: None, train_only=True) is None
    )
    assert (tmp_path / "tiny" / "runs" / "bn" / "seed0" / "summary.json").is_file()
    assert not (tmp_path / "tiny" / "results.json").exists()


@pytest.mark.parametrize("error", ["NonFiniteLossError", "DivergenceError"])
def test_a_diverged_training_is_recorded_not_raised(tmp_path, monkeypatch, error):
    import convzoo.train.guard as guard
    from convzoo.experiments.runner import run_training

    def explode(cfg):
        raise getattr(guard, error)(f"loss exploded ({error})")

    monkeypatch.setattr(engine, "train", explode)
    run_dir = tmp_path / "arm" / "seed0"
    arm = Arm("plain", "ablation_cnn", {"width": 4, "norm": "none"})
    assert run_training(TINY, arm, 0, run_dir, progress=False, threads=1) == "diverged"
    assert error in json.loads((run_dir / "diverged.json").read_text())["error"]
    assert run_training(TINY, arm, 0, run_dir, progress=False, threads=1) == "skipped"


def test_report_states_each_arms_image_side_where_they_differ():
    from convzoo.experiments.core import Context
    from convzoo.experiments.report import _images_at

    exp = get_experiment("lineage")
    same = Context(exp, exp.full, exp.arms, [], {}, Path("."), 32, input_sizes={"a": 32, "b": 32})
    assert _images_at(same) == "images at 32x32"
    mixed = Context(exp, exp.full, exp.arms, [], {}, Path("."), 32, input_sizes={"a": 32, "b": 67})
    assert _images_at(mixed) == "images at each arm's own side, 32-67 px (a 32, b 67)"


@pytest.mark.parametrize("quick", [False, True])
def test_separable_arms_train_with_one_recipe(quick, tmp_path):
    """Only the convolutions differ: MobileNet's own default (0.08, warm-up) is overridden."""
    from convzoo.experiments.runner import train_config
    from convzoo.train.config import resolve_config

    experiment = get_experiment("separable")
    budget = experiment.budget(quick)
    recipes = []
    for arm in experiment.arms:
        cfg = train_config(budget, arm, 0, tmp_path / arm.label, progress=False)
        resolved = resolve_config(cfg, dataset_batch_size=128).config
        keys = ("optimizer", "lr", "momentum", "weight_decay", "schedule", "warmup_epochs",
                "init", "label_smoothing", "batch_size", "epochs")  # fmt: skip
        recipes.append({k: getattr(resolved, k) for k in keys})
    assert recipes[0] == recipes[1]
    assert recipes[0]["lr"] == pytest.approx(0.1 * recipes[0]["batch_size"] / 128)
