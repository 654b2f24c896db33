import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _own_speed_cache(tmp_path, monkeypatch):
    """Each test starts without cached precision/layout choices (and leaves none behind)."""
    monkeypatch.setattr(
        "convzoo.train.autotune.probe_cache_path", lambda: tmp_path / "speed-choices.json"
    )
