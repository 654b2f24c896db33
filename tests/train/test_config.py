"""Training settings: resolution of defaults, and the command line generated from them."""

from __future__ import annotations

from dataclasses import fields

import pytest

from convzoo.cli import build_parser, main
from convzoo.cli.train import given_settings
from convzoo.train.config import TrainConfig, resolve_config


def test_resolution_fills_defaults_with_their_source_and_leaves_the_request_alone():
    requested = TrainConfig(model="resnet20", optimizer="adamw", epochs=3, lr=0.01)
    resolved = resolve_config(requested, dataset_batch_size=128)
    assert requested.batch_size is None and requested.weight_decay is None
    cfg = resolved.config
    assert (cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.warmup_epochs) == (128, 0.01, 0.05, 0.0)
    sources = resolved.sources
    assert sources["lr"]["from"] == sources["optimizer"]["from"] == "flag"
    assert sources["batch_size"]["from"] == sources["weight_decay"]["from"] == "default"
    assert "adamw" in sources["weight_decay"]["rule"]  # the paper's decay was for its SGD
    again = resolve_config(cfg, dataset_batch_size=32)  # resolved values stay as they are
    assert again.config == cfg


def test_every_setting_has_a_flag_and_unset_flags_keep_the_config_default():
    args = build_parser().parse_args(["train", "resnet20"])
    assert given_settings(args) == {}
    line = ["train", "resnet20", "--ema", "0.99", "--milestones", "0.3", "0.6", "--no-augment",
            "--workers", "0", "--precision", "bf16", "--batch-size", "64"]  # fmt: skip
    settings = given_settings(build_parser().parse_args(line))
    assert settings == {"ema_decay": 0.99, "milestones": [0.3, 0.6], "augment": False,
                        "num_workers": 0, "precision": "bf16", "batch_size": 64}  # fmt: skip
    cfg = TrainConfig(model="resnet20", **settings)
    assert cfg.milestones == (0.3, 0.6) and cfg.epochs == TrainConfig(model="x").epochs
    verbs = build_parser()._subparsers._group_actions[0].choices
    help_text = " ".join(verbs["train"].format_help().split())
    for f in fields(TrainConfig):
        if f.metadata.get("cli", True):
            assert f.metadata["help"], f"{f.name} has no help text"
    assert "--label-smoothing" in help_text and "(default: default)" in help_text


def test_bad_choice_names_the_allowed_values():
    with pytest.raises(ValueError, match=r"schedule must be one of .*'cosine'.* got 'poly'"):
        TrainConfig(model="resnet20", schedule="poly")


def test_resume_refuses_settings_that_change_the_run(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--batch-size", "64"]) == 2
    err = capsys.readouterr().err
    assert "cannot change --batch-size" in err and "--epochs, --lr" in err
