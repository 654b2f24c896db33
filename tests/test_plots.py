"""Training-curve plots: what a reader sees on the axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from convzoo.train.metrics import plot_curves


def test_two_epoch_curves_have_whole_epoch_ticks(tmp_path, monkeypatch):
    closed = []
    monkeypatch.setattr(plt, "close", closed.append)
    records = [
        {"epoch": e, "train_loss": 1.0 / e, "train_acc": 50.0 + e, "val_loss": 1.2 / e,
         "val_acc": 48.0 + e}
        for e in (1, 2)
    ]  # fmt: skip
    plot_curves(records, tmp_path / "curves.png", title="lenet5")
    (fig,) = closed
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    assert (tmp_path / "curves.png").stat().st_size > 0
