"""Card recipes as run settings: every card resolves, lr scaling, schedule compression,
flags win, resume keeps the resolved values; RMSProp and the plateau drop."""

from __future__ import annotations

import json
import math

import pytest
import torch

from convzoo.cards import ZERO_RESIDUAL_INIT
from convzoo.factory import create_model
from convzoo.registry import list_models, model_card
from convzoo.train.config import OPTIMIZER_NAMES, SCHEDULE_NAMES, TrainConfig, resolve_config
from convzoo.train.engine import resume, train
from convzoo.train.optim import build_optimizer, build_scheduler, lr_multiplier
from convzoo.train.recipe import (
    INIT_NAMES,
    MAX_SCALE_UP,
    compress_schedule,
    he_init,
    scale_lr,
    set_bn_momentum,
    zero_residual_init,
)

SOURCES = {"flag", "paper", "default"}


@pytest.mark.parametrize("recipe", ["paper", "default"])
def test_every_registered_card_resolves_to_runnable_settings(recipe):
    for name in list_models():
        if name.startswith("tiny"):
            continue
        resolved = resolve_config(
            TrainConfig(model=name, epochs=2, recipe=recipe), dataset_batch_size=128
        )
        cfg = resolved.config
        assert cfg.optimizer in OPTIMIZER_NAMES and cfg.schedule in SCHEDULE_NAMES, name
        assert 0 < cfg.lr < 2 and math.isfinite(cfg.lr), (name, cfg.lr)
        assert 0 < cfg.gamma <= 1 and 0 <= cfg.warmup_epochs < cfg.epochs, name
        assert all(0 < m < 1 for m in cfg.milestones), (name, cfg.milestones)
        assert {s["from"] for s in resolved.sources.values()} <= SOURCES, name
        assert all(s["rule"] for s in resolved.sources.values() if s["from"] != "flag"), name
        # a resumed run rebuilds from the resolved values: resolving them again changes nothing
        assert resolve_config(cfg, dataset_batch_size=32).config == cfg, name
    assert resolved.headline().startswith(f"{name}: {cfg.optimizer} lr ")


def test_default_recipe_comes_from_the_card_and_paper_recipe_from_the_paper():
    for name in list_models():
        card = model_card(name)
        if card.default_recipe is None:
            continue
        default = resolve_config(TrainConfig(model=name, epochs=2), dataset_batch_size=128)
        paper = resolve_config(
            TrainConfig(model=name, epochs=2, recipe="paper"), dataset_batch_size=128
        )
        assert default.sources["optimizer"]["from"] == "default", name
        if card.recipe.optimizer in OPTIMIZER_NAMES:
            assert paper.config.optimizer == card.recipe.optimizer, name
        expected = INIT_NAMES.get(card.default_recipe.init, "model")
        assert default.config.init == expected, name


def test_lr_is_scaled_linearly_to_the_batch_and_the_growth_is_capped():
    # ResNet-50: 0.1 at batch 256 (He et al. 2016, Section 3.4)
    requested = TrainConfig(model="resnet50", batch_size=64, recipe="paper")
    cfg = resolve_config(requested, dataset_batch_size=128)
    assert cfg.config.lr == pytest.approx(0.025)
    assert "x 64/256" in cfg.sources["lr"]["rule"] and cfg.sources["lr"]["from"] == "paper"
    # LeNet-5: 0.0005 per example (batch 1); 128x would be far outside the rule's range
    lenet = resolve_config(TrainConfig(model="lenet5", recipe="paper"), dataset_batch_size=128)
    assert lenet.config.lr == pytest.approx(0.0005 * MAX_SCALE_UP)
    assert "capped" in lenet.sources["lr"]["rule"]
    assert scale_lr(0.045, 128, None) == (0.045, "0.045 (batch not stated: not scaled)")


def test_schedules_are_compressed_to_the_run():
    # ResNet-20 on CIFAR: x0.1 at 32k and 48k of 64k iterations -> half and three quarters
    plan = compress_schedule(model_card("resnet20").recipe, epochs=2)
    assert (plan.schedule, plan.milestones, plan.gamma) == ("step", (0.5, 0.75), 0.1)
    # Inception-v3: x0.94 every 2 epochs for 100 epochs -> the same total decay in 2 epochs
    card = model_card("inception_v3").recipe
    plan = compress_schedule(card, epochs=2)
    assert plan.schedule == "exponential"
    assert plan.gamma**2 == pytest.approx(0.94 ** (card.epochs / 2))
    # ConvNeXt: 20 warm-up epochs of 300 keep their share
    plan = compress_schedule(model_card("convnext_tiny").recipe, epochs=30)
    assert plan.schedule == "cosine" and plan.warmup_epochs == pytest.approx(2.0)
    # AlexNet: dropped when the validation error stops improving
    assert compress_schedule(model_card("alexnet").recipe, epochs=2).schedule == "plateau"


def test_flags_win_over_the_recipe():
    requested = TrainConfig(
        model="efficientnet_b0", optimizer="sgd", lr=0.3, schedule="step", milestones=(0.2,),
        label_smoothing=0.2, dropout=0.1, init="he", epochs=4,
    )  # fmt: skip
    resolved = resolve_config(requested, dataset_batch_size=128)
    cfg, src = resolved.config, resolved.sources
    assert (cfg.optimizer, cfg.lr, cfg.schedule, cfg.milestones) == ("sgd", 0.3, "step", (0.2,))
    assert (cfg.label_smoothing, cfg.dropout, cfg.init) == (0.2, 0.1, "he")
    for name in ("optimizer", "lr", "schedule", "milestones", "label_smoothing", "dropout", "init"):
        assert src[name]["from"] == "flag", name
    # the paper's RMSProp weight decay does not carry over to the flag's SGD
    assert cfg.weight_decay == 5e-4 and src["weight_decay"]["from"] == "default"
    with pytest.raises(ValueError, match="lenet5 has no dropout"):
        resolve_config(TrainConfig(model="lenet5", dropout=0.5), dataset_batch_size=128)


def test_rmsprop_is_built_with_the_papers_decay_eps_and_momentum():
    resolved = resolve_config(TrainConfig(model="inception_v3"), dataset_batch_size=32).config
    model = create_model("lenet5")
    opt = build_optimizer(
        model, resolved.optimizer, lr=resolved.lr, weight_decay=resolved.weight_decay,
        momentum=resolved.momentum, rmsprop_decay=resolved.rmsprop_decay, eps=resolved.eps,
    )  # fmt: skip
    assert isinstance(opt, torch.optim.RMSprop)
    group = opt.param_groups[0]
    # Szegedy et al. 2016, Section 8: decay 0.9, eps 1.0 (inside the square root: sqrt(1) = 1)
    assert (group["alpha"], group["eps"], group["lr"]) == (0.9, 1.0, 0.045)
    with pytest.raises(ValueError, match="optimizer must be"):
        build_optimizer(model, "lbfgs", lr=0.1, weight_decay=0.0)


def test_plateau_drops_on_a_flat_validation_loss_and_survives_a_checkpoint():
    model = create_model("lenet5")
    opt = build_optimizer(model, "sgd", lr=0.01, weight_decay=0.0)
    cfg = TrainConfig(model="alexnet", epochs=4, recipe="paper")  # the paper: plateau drops
    cfg = resolve_config(cfg, dataset_batch_size=128).config
    sched = build_scheduler(opt, cfg, steps_per_epoch=3)
    for loss in (2.0, 2.5):  # patience 0 for a 4-epoch run: the second epoch drops it
        for _ in range(3):
            opt.step()
            sched.step()
        sched.epoch_end(loss)
    assert sched.drops == 1 and opt.param_groups[0]["lr"] == pytest.approx(cfg.lr * 0.1)
    again = build_scheduler(opt, cfg, steps_per_epoch=3)
    again.load_state_dict(sched.state_dict())
    again.step()
    assert again.drops == 1 and opt.param_groups[0]["lr"] == pytest.approx(cfg.lr * 0.1)


def test_exponential_and_linear_multipliers():
    exp = lr_multiplier(
        "exponential", total_steps=20, warmup_steps=0, gamma=0.5, steps_per_epoch=10
    )
    assert (exp(9), exp(10), exp(19)) == (1.0, 0.5, 0.5)
    lin = lr_multiplier("linear", total_steps=10, warmup_steps=0)
    assert (lin(0), lin(5)) == (1.0, 0.5)


def test_he_init_replaces_the_papers_small_gaussian():
    torch.manual_seed(0)
    model = create_model("alexnet", num_classes=10)
    conv = model.stages.conv1.conv
    assert float(conv.weight.detach().std()) == pytest.approx(
        0.01, rel=0.05
    )  # Section 5's N(0, 0.01)
    he_init(model)
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert float(conv.weight.detach().std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    assert float(model.stages.conv2.conv.bias.abs().max()) == 0.0


def test_resume_keeps_the_resolved_values_and_their_sources(tmp_path):
    run = {"model": "lenet5", "dataset": "synthetic:size=32,classes=10,train=96,test=32",
           "batch_size": 32, "epochs": 1, "progress": False, "tensorboard": False,
           "out": str(tmp_path / "run")}  # fmt: skip
    train(TrainConfig(**run))
    before = json.loads((tmp_path / "run" / "config.json").read_text())
    assert before["resolved_from"]["lr"]["from"] in ("paper", "default")
    resume(tmp_path / "run", epochs=2)
    after = json.loads((tmp_path / "run" / "config.json").read_text())
    assert after["resolved_from"] == before["resolved_from"]
    assert {k: v for k, v in after["train"].items() if k != "epochs"} == {
        k: v for k, v in before["train"].items() if k != "epochs"
    }


def test_zero_residual_init_starts_every_shortcut_block_as_the_identity():
    model = create_model("efficientnet_b0", num_classes=10)
    blocks = [m for m in model.modules() if hasattr(m, "zero_init_last")]
    with_shortcut = [b for b in blocks if b.use_residual]
    assert with_shortcut and len(with_shortcut) < len(blocks)
    zero_residual_init(model)
    model.eval()
    for block in blocks:
        scale = block.project.norm.weight
        assert bool((scale == 0).all()) == block.use_residual  # shortcut-less blocks untouched
        x = torch.randn(1, block.in_channels, 8, 8)
        if block.use_residual:
            assert torch.equal(block(x), x)
    assert model_card("efficientnet_b4").default_recipe.init == ZERO_RESIDUAL_INIT


def test_bn_momentum_comes_from_the_recipe_and_reaches_every_batch_norm():
    def resolved(**kw):
        res = resolve_config(
            TrainConfig(model="efficientnet_b5", epochs=2, **kw), dataset_batch_size=128
        )
        return res.config.bn_momentum, res.sources["bn_momentum"]["from"]

    # the paper's 0.99 (TensorFlow) is torch's 0.01; the short-run default follows at 0.1
    assert resolved(recipe="paper") == (0.01, "paper")
    assert resolved() == (0.1, "default")
    assert resolved(bn_momentum=0.3) == (0.3, "flag")
    no_statement = resolve_config(TrainConfig(model="resnet20", epochs=2), dataset_batch_size=128)
    assert no_statement.config.bn_momentum is None  # the model's own stays
    model = create_model("efficientnet_b5", num_classes=10)  # built with 0.01 (TF port)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert {m.momentum for m in norms} == {0.01}
    set_bn_momentum(model, 0.1)
    assert {m.momentum for m in norms} == {0.1}


def test_zero_residual_init_of_residual_blocks_and_the_families_that_default_to_it():
    torch.manual_seed(0)
    model = create_model("resnet50", num_classes=10)
    zero_residual_init(model)
    model.eval()
    blocks = [m for m in model.modules() if hasattr(m, "last_conv")]
    identity = [b for b in blocks if isinstance(b.shortcut, torch.nn.Identity)]
    assert len(blocks) == 16 and len(identity) == 12
    for block in identity:  # branch at zero: the block is the ReLU of its input
        x = torch.randn(1, block.in_channels, 4, 4)
        assert torch.equal(block(x), torch.relu(x))
    for name, untouched in (("plain20", "no shortcut"), ("preact_resnet18", "bare last conv")):
        other = create_model(name, num_classes=10)
        before = {k: v.clone() for k, v in other.state_dict().items()}
        zero_residual_init(other)
        assert all(torch.equal(before[k], v) for k, v in other.state_dict().items()), untouched
    # the ImageNet post-activation residual networks default to it; CIFAR and pre-act do not
    for name in ("resnet152", "resnext101_32x8d", "se_resnet50", "senet154", "wide_resnet50_2"):
        default = resolve_config(TrainConfig(model=name, epochs=2), dataset_batch_size=128)
        assert default.config.init == "zero-residual", name
        paper = resolve_config(
            TrainConfig(model=name, epochs=2, recipe="paper"), dataset_batch_size=128
        )
        assert paper.config.init == "model", name
    for name in ("resnet20", "preact_resnet50", "wrn28_10"):
        assert model_card(name).default_recipe is None or (
            model_card(name).default_recipe.init != ZERO_RESIDUAL_INIT
        ), name
