"""A small trained run shared by the explorer tests (lenet5, a few seconds on CPU)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the explorer needs the `serve` extra (FastAPI)")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    from convzoo.train.config import TrainConfig
    from convzoo.train.engine import train

    runs = tmp_path_factory.mktemp("web") / "runs"  # served as "runs"
    train(
        TrainConfig(
            model="lenet5",
            dataset="synthetic:channels=1,size=8,train=64,test=32",
            epochs=1,
            batch_size=32,
            augment=False,
            out=str(runs / "lenet5-synthetic"),
            progress=False,
            tensorboard=False,
        )
    )
    (runs / "lenet5-synthetic" / "report.md").write_text(
        "# Report\n\nA *claim* checked.\n\n![curves](curves.png)\n\n<script>alert(1)</script>\n"
    )
    return runs
