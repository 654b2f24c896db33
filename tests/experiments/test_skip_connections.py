"""The U-Net skip-connection experiment: its quick budget scores both arms on masks."""

import json

import pytest

from convzoo.cli import main


@pytest.mark.slow
def test_quick_skip_connections_scores_iou_and_boundaries(tmp_path):
    argv = ["reproduce", "skip_connections", "--quick", "--threads", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    results = json.loads((tmp_path / "skip_connections" / "results.json").read_text())
    stats = results["stats"]
    for arm in ("with_skips", "without_skips"):
        assert stats[arm]["test_miou"]["n"] == stats[arm]["test_boundary_iou"]["n"] == 3
        assert "test_acc" not in stats[arm]  # no top-1 for a segmentation run
    removed = stats["with_skips"]["params"]["mean"] - stats["without_skips"]["params"]["mean"]
    # each decoder level's first 3x3 conv reads w instead of 2w channels (w = 64, 32, 16, 8)
    assert removed == results["facts"]["params_removed"] == sum(9 * w * w for w in (64, 32, 16, 8))
    assert "test_boundary_iou: with_skips higher than without_skips" in results["rule"]


def test_a_dataset_of_class_labels_is_refused_before_training(tmp_path, capsys):
    argv = ["reproduce", "skip_connections", "--quick", "--dataset", "digits",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    assert "it needs a dataset of masks" in capsys.readouterr().err
    assert not list(tmp_path.rglob("summary.json"))


@pytest.mark.slow
def test_another_mask_dataset_and_input_size_replace_the_budget(tmp_path):
    """As a user runs the claim on their own set: `--dataset oxford-pet --input-size 128`."""
    argv = ["reproduce", "skip_connections", "--dataset", "shapes:size=48,train=16,test=8",
            "--input-size", "32", "--epochs", "1", "--seeds", "0,1", "--threads", "1",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((tmp_path / "skip_connections" / "results.json").read_text())
    assert results["budget_detail"].startswith("shapes:size=48,train=16,test=8, 1 epochs")
    assert results["input_size"] == 32
    assert "--dataset shapes:size=48,train=16,test=8 --input-size 32" in results["command"]
