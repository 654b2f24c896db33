import pytest
import torch

import convzoo
from convzoo.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint

CONFIG = {"model": "vgg11", "model_kwargs": {"num_classes": 3, "in_channels": 1}}


def test_roundtrip_rebuilds_the_model(tmp_path):
    model = convzoo.create_model("vgg11", num_classes=3, in_channels=1)
    save_checkpoint(tmp_path / "last.pt", {"config": CONFIG, "model": model.state_dict()})
    again, config = model_from_checkpoint(tmp_path)  # a run directory works too
    assert config == CONFIG
    assert torch.equal(again.head.fc.weight, model.head.fc.weight)
    assert not list(tmp_path.glob("*.tmp")), "temporary file left behind"


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"config": CONFIG, "model": {"w": torch.ones(2)}})
    with pytest.raises((TypeError, AttributeError)):  # pickling the lambda fails mid-write
        save_checkpoint(path, {"config": CONFIG, "model": {"w": lambda: 0}})  # not picklable
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"config": CONFIG, "model": {"w": torch.ones(2)}})
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match="not a readable convzoo checkpoint"):
        load_checkpoint(path)
    torch.save({"w": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="not a convzoo checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nope.pt")
