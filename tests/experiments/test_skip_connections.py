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
