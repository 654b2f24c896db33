import pytest

from tests.train.tiny import register_tiny, unregister_tiny


@pytest.fixture(autouse=True)
def _tiny_models():
    """`tiny_net` is registered only while a training test runs."""
    register_tiny()
    yield
    unregister_tiny()
