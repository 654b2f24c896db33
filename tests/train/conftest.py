import pytest

from tests.train.tiny import register_tiny, unregister_tiny


@pytest.fixture(autouse=True)
def _tiny_models():
    """`tiny_net` is registered only while a training test runs."""
    register_tiny()
    yield
    unregister_tiny()


@pytest.fixture(autouse=True)
def _own_speed_cache(tmp_path, monkeypatch):
    """Each test starts without cached precision/layout choices (and leaves none behind)."""
    monkeypatch.setattr(
        "convzoo.train.autotune.probe_cache_path", lambda: tmp_path / "speed-choices.json"
    )
