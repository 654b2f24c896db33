"""The training engine on synthetic data with a tiny network."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from convzoo.train.checkpoint import load_checkpoint, model_from_checkpoint
from convzoo.train.engine import NonFiniteLossError, TrainConfig, compute_loss, train
from convzoo.train.optim import lr_multiplier, param_groups
from tests.train.tiny import TinyNet

FAST = {"dataset": "synthetic", "batch_size": 32, "progress": False, "tensorboard": False}


def test_run_directory_and_config_layout(tmp_path):
    result = train(TrainConfig(model="tiny_net", epochs=3, out=str(tmp_path / "run"), **FAST))
    run = result.run_dir
    for name in ("config.json", "metrics.jsonl", "last.pt", "best.pt", "curves.png",
                 "summary.json"):  # fmt: skip
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "tiny_net"
    assert config["model_kwargs"] == {"num_classes": 4, "in_channels": 3}
    assert config["preprocess"]["input_size"] == [16, 16] and len(config["preprocess"]["mean"]) == 3
    assert config["classes"] == ["class0", "class1", "class2", "class3"]
    assert config["splits"] == {"train": 230, "val": 26, "test": 64}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["params"] == sum(p.numel() for p in result.model.parameters())
    assert (
        summary["macs"] > 0
        and summary["train_img_per_s"] > 0
        and summary["wall_time_s"] > summary["train_time_s"]
        and summary["test_images"] == 64
    )
    assert summary["test_top1"] > 50, "synthetic classes are easy; chance is 25%"
    model, cfg = model_from_checkpoint(run)  # best.pt rebuilds from its config alone
    assert cfg["preprocess"] == config["preprocess"] and not model.training


def test_every_option_together(tmp_path):
    cfg = TrainConfig(
        model="tiny_net", epochs=2, optimizer="adamw", schedule="onecycle", label_smoothing=0.1,
        grad_clip=1.0, ema_decay=0.9, precision="bf16", channels_last=True, nesterov=True,
        input_size=12, model_kwargs={"dropout": 0.1}, out=str(tmp_path / "run"), **FAST,
    )  # fmt: skip
    run = train(cfg).run_dir
    last = load_checkpoint(run / "last.pt")
    assert set(last) >= {"model", "train_model", "optimizer", "scheduler", "ranks", "progress"}
    assert not torch.equal(last["model"]["head.fc.weight"], last["train_model"]["head.fc.weight"])
    assert json.loads((run / "config.json").read_text())["preprocess"]["input_size"] == [12, 12]


def test_weight_decay_skips_norms_and_biases():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    decay, no_decay = param_groups(model, 5e-4)
    assert [p.shape for p in decay["params"]] == [(4, 3, 3, 3), (2, 4)]
    assert len(no_decay["params"]) == 4 and no_decay["weight_decay"] == 0


def test_schedules():
    cos = lr_multiplier("cosine", total_steps=100, warmup_steps=10)
    assert cos(0) < 0.1 and cos(9) < 1 and cos(10) == 1 and cos(100) == pytest.approx(0)
    step = lr_multiplier("step", total_steps=100, warmup_steps=0, milestones=(0.5, 0.75))
    assert [step(0), step(50), step(80)] == pytest.approx([1, 0.1, 0.01])
    one = lr_multiplier("onecycle", total_steps=100, warmup_steps=0)
    assert one(0) < 0.1 and one(30) == pytest.approx(1) and one(100) < 1e-3


def test_auxiliary_losses_use_the_declared_weight():
    model = TinyNet(aux=True).train()
    x, y = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    out = model(x)
    ce = nn.CrossEntropyLoss()
    loss, logits = compute_loss(out, y, ce, model)
    expected = ce(out.logits, y) + 0.3 * ce(out.aux[0], y)
    assert torch.allclose(loss, expected) and logits is out.logits
    model.eval()
    assert isinstance(model(x), torch.Tensor)  # eval: main head only

    class NoWeight(TinyNet):
        aux_loss_weight = None

    with pytest.raises(TypeError, match="aux_loss_weight"):
        compute_loss(NoWeight(aux=True).train()(x), y, ce, NoWeight(aux=True))


def test_aux_model_reports_each_head_separately(tmp_path, capsys):
    cfg = TrainConfig(model="tiny_net", epochs=1, model_kwargs={"aux": True},
                      out=str(tmp_path / "run"), **FAST)  # fmt: skip
    summary = train(cfg).summary
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text())
    for data in (record, summary):
        assert {"train_loss", "train_aux1_loss", "train_total_loss", "train_acc"} <= set(data)
        # total = main + 0.3 * aux, so the main head's loss is not the total
        expected = data["train_loss"] + 0.3 * data["train_aux1_loss"]
        assert data["train_total_loss"] == pytest.approx(expected, rel=1e-6)  # fp32 sums
    assert f"aux1 {record['train_aux1_loss']:.4f}" in capsys.readouterr().out


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(model="tiny_net", epochs=2, checkpoint_every=2, deterministic=True,
                      model_kwargs={"nan_after": 3}, out=str(tmp_path / "run"), **FAST)  # fmt: skip
    with pytest.raises(NonFiniteLossError, match=r"nan at step 4 \(epoch 1, batch 4\)") as info:
        train(cfg)
    assert "last good checkpoint" in str(info.value)
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["progress"]["step"] == 2
    assert all(torch.isfinite(v).all() for v in last["model"].values())


def test_fixed_size_model_gets_a_clear_input_size_error(tmp_path):
    cfg = TrainConfig(model="tiny_net", input_size=12, model_kwargs={"fixed_input_size": True},
                      out=str(tmp_path / "r"), **FAST)  # fmt: skip
    with pytest.raises(ValueError, match=r"only accepts 16x16 inputs, got --input-size 12"):
        train(cfg)


def test_image_folder_trains_at_the_model_size(tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("test", 4)):
        for label, cls in enumerate(("dark", "light")):
            folder = tmp_path / "pics" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 100, (20, 24, 3)) + 150 * label
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    cfg = TrainConfig(model="tiny_net", dataset=f"folder:{tmp_path / 'pics'}", epochs=1,
                      batch_size=8, num_workers=0, progress=False, tensorboard=False,
                      out=str(tmp_path / "run"))  # fmt: skip
    summary = train(cfg).summary
    assert summary["input_size"] == [16, 16] and summary["test_images"] == 8
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["classes"] == ["dark", "light"] and config["augment"]["flip"] is True
