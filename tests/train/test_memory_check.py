"""Memory saving changes no value, and the engine fits training into the memory it is given."""

from __future__ import annotations

import json

import pytest
import torch

from convzoo import create_model
from convzoo.analysis.memory import measure_saved_bytes
from convzoo.cli import main
from convzoo.train import memory_check
from convzoo.train.memory_check import (
    DoesNotFitError,
    apply_mode,
    estimate_training_bytes,
    plan_memory,
    supported_modes,
)

DATA = "synthetic:size=16,classes=4,train=64,test=16"


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread is faster, and fair to a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train_step(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.train()
    out = model(x)
    out.square().mean().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize(("name", "mode"), [("densenet_bc100", "memory-efficient"),
                                            ("resnet20", "checkpoint-stages")])  # fmt: skip
def test_memory_modes_change_no_value_and_save_memory(name, mode):
    plain = create_model(name, num_classes=4)
    saving = create_model(name, num_classes=4)
    saving.load_state_dict(plain.state_dict())
    assert mode in supported_modes(saving)
    apply_mode(saving, mode)
    assert list(saving.state_dict()) == list(plain.state_dict())
    x = torch.randn(2, 3, 8, 8)
    (out_a, grads_a), (out_b, grads_b) = train_step(plain, x), train_step(saving, x)
    assert torch.equal(out_a, out_b)
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))
    after_a, after_b = plain.state_dict(), saving.state_dict()
    assert all(torch.equal(after_a[k], after_b[k]) for k in after_a), "batch-norm statistics"
    saved = [measure_saved_bytes(m, 8, batch_size=2) for m in (saving, plain)]
    assert saved[0] < saved[1]
    saving.eval()
    assert torch.equal(saving(x), plain.eval()(x))


def test_densenet_memory_efficient_is_a_constructor_option():
    plain, efficient = create_model("densenet40"), create_model("densenet40", memory_efficient=True)
    assert efficient.memory_efficient and not plain.memory_efficient
    assert sum(p.numel() for p in efficient.parameters()) == sum(
        p.numel() for p in plain.parameters()
    )
    assert list(efficient.state_dict()) == list(plain.state_dict())


def test_plan_switches_on_the_cheapest_mode_that_fits_or_refuses(monkeypatch):
    shape, kwargs = (3, 16, 16), {"num_classes": 4}
    estimate = memory_check.estimate_with
    cache: dict[str, object] = {}  # one meta pass per mode, however many plans

    def cached(name, kwargs, input_shape, mode):
        if mode not in cache:
            cache[mode] = estimate(name, kwargs, input_shape, mode)
        return cache[mode]

    monkeypatch.setattr(memory_check, "estimate_with", cached)
    sizes = {
        mode: estimate_training_bytes("densenet40", kwargs, shape, batch_size=32, mode=mode)
        for mode in ("none", "memory-efficient", "checkpoint-stages")
    }
    assert sizes["none"] > sizes["memory-efficient"] > sizes["checkpoint-stages"]

    def plan(available: float, setting: str = "auto") -> memory_check.MemoryPlan:
        model = create_model("densenet40", **kwargs)
        return plan_memory(model, "densenet40", kwargs, shape, batch_size=32,
                           optimizer="momentum", available=int(available / 0.8),
                           setting=setting)  # fmt: skip

    assert plan(sizes["none"] * 1.01).mode == "none"
    assert plan(sizes["memory-efficient"] * 1.01).mode == "memory-efficient"
    chosen = plan(sizes["checkpoint-stages"] * 1.01)
    assert chosen.mode == "checkpoint-stages" and chosen.mode_bytes == sizes["checkpoint-stages"]
    assert plan(sizes["none"] * 10, setting="on").mode == "checkpoint-stages"
    with pytest.raises(DoesNotFitError, match=r"at batch 32 needs about .* --batch-size \d+ fits"):
        plan(sizes["checkpoint-stages"] * 0.7)
    assert plan(1, setting="off").mode == "none"


def test_training_switches_memory_saving_on_or_refuses_in_one_line(tmp_path, monkeypatch, capsys):
    shape = (3, 16, 16)
    kwargs = {"num_classes": 4, "in_channels": 3}
    plain = estimate_training_bytes("densenet40", kwargs, shape, batch_size=32)
    fits_efficient = int(plain * 0.9 / 0.8)  # memory-efficient needs about 2/3 of plain
    monkeypatch.setattr(memory_check, "available_memory", lambda device=None: fits_efficient)
    args = ["--dataset", DATA, "--epochs", "1", "--batch-size", "32", "--no-progress",
            "--no-tensorboard", "--threads", "1", "--no-augment"]  # fmt: skip
    assert main(["train", "densenet40", *args, "--out", str(tmp_path / "run")]) == 0
    assert "memory saving on (memory-efficient)" in capsys.readouterr().out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["memory"]["mode"] == "memory-efficient"
    assert config["memory"]["estimate_bytes"] == plain

    monkeypatch.setattr(memory_check, "available_memory", lambda device=None: 10**6)
    assert main(["train", "densenet40", *args, "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "more than 80% of the 0.0 GB available" in err
