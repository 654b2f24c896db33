"""--precision auto / --channels-last auto: the decision logic, with a fake probe."""

from __future__ import annotations

import json

import pytest

from convzoo.train import autotune
from convzoo.train.autotune import candidates, choose
from convzoo.train.engine import TrainConfig, train

FP32, FP32_CL, BF16_CL = ("fp32", False), ("fp32", True), ("bf16", True)


def fake(speeds):
    calls = []

    def measure(pairs):
        calls.append(list(pairs))
        return {p: speeds[p] for p in pairs}

    return measure, calls


def test_candidates_follow_the_hardware_and_the_explicit_flags():
    assert candidates("auto", "auto", native_bf16=True) == [FP32, FP32_CL, BF16_CL]
    assert candidates("auto", "auto", native_bf16=False) == [FP32, FP32_CL]  # emulated bf16
    assert candidates("fp32", "auto", native_bf16=True) == [FP32, FP32_CL]
    assert candidates("bf16", "auto", native_bf16=False) == [BF16_CL, ("bf16", False)]
    assert candidates("auto", "off", native_bf16=True) == [FP32]
    assert candidates("auto", "on", native_bf16=True) == [FP32_CL, BF16_CL]


def test_the_fastest_wins_and_is_cached_per_key(tmp_path):
    cache = tmp_path / "choices.json"
    measure, calls = fake({FP32: 300.0, FP32_CL: 440.0, BF16_CL: 620.0})
    first = choose([FP32, FP32_CL, BF16_CL], measure, key="resnet20/28/128", cache=cache)
    assert (first.precision, first.channels_last, first.source) == ("bf16", True, "probe")
    assert first.img_per_s == {"fp32": 300.0, "fp32+channels_last": 440.0,
                               "bf16+channels_last": 620.0}  # fmt: skip
    assert "bf16+channels_last" in first.line() and "620" in first.line()
    again = choose([FP32, FP32_CL, BF16_CL], measure, key="resnet20/28/128", cache=cache)
    assert again.source == "cache" and again.label == "bf16+channels_last" and len(calls) == 1
    # another key (model, input size, batch, CPU, torch ...) is measured on its own
    slow_bf16, _ = fake({FP32: 300.0, FP32_CL: 440.0, BF16_CL: 31.0})
    other = choose([FP32, FP32_CL, BF16_CL], slow_bf16, key="resnet20/32/64", cache=cache)
    assert other.label == "fp32+channels_last" and other.source == "probe"
    assert set(json.loads(cache.read_text())) == {"resnet20/28/128", "resnet20/32/64"}


def test_a_cached_choice_outside_the_candidates_is_measured_again(tmp_path):
    cache = tmp_path / "choices.json"
    measure, calls = fake({FP32: 1.0, FP32_CL: 2.0, BF16_CL: 3.0})
    choose([FP32, FP32_CL, BF16_CL], measure, key="k", cache=cache)
    narrowed = choose([FP32, FP32_CL], measure, key="k", cache=cache)  # e.g. --precision fp32
    assert narrowed.label == "fp32+channels_last" and len(calls) == 2


def test_a_damaged_cache_is_ignored_and_one_candidate_needs_no_probe(tmp_path):
    cache = tmp_path / "choices.json"
    cache.write_text("{not json")
    measure, calls = fake({FP32: 5.0, FP32_CL: 1.0})
    assert choose([FP32, FP32_CL], measure, key="k", cache=cache).label == "fp32"
    only = choose([FP32_CL], measure, key="k2", cache=cache)
    assert only.source == "only candidate" and len(calls) == 1


FAST = {"model": "lenet5", "dataset": "synthetic", "epochs": 1, "batch_size": 32,
        "progress": False, "tensorboard": False}  # fmt: skip


def test_auto_is_the_default_and_the_choice_is_recorded(tmp_path, monkeypatch, capsys):
    speeds = {FP32: 100.0, FP32_CL: 150.0, BF16_CL: 90.0, ("bf16", False): 10.0}
    monkeypatch.setattr(autotune, "measure_training", lambda *a, **k: fake(speeds)[0])
    train(TrainConfig(**FAST, out=str(tmp_path / "a")))
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (config["train"]["precision"], config["train"]["channels_last"]) == ("fp32", "on")
    assert config["speed_probe"]["choice"] == "fp32+channels_last"
    assert config["speed_probe"]["img_per_s"]["fp32"] == 100.0
    assert config["resolved_from"]["precision"]["rule"].endswith("probe")
    assert "precision/layout: fp32+channels_last (probe:" in capsys.readouterr().out
    train(TrainConfig(**FAST, out=str(tmp_path / "b")))  # the same key: no second probe
    assert json.loads((tmp_path / "b" / "config.json").read_text())["speed_probe"]["source"] == (
        "cache"
    )


@pytest.mark.parametrize("settings", [{"precision": "fp32", "channels_last": "off"},
                                      {"deterministic": True}])  # fmt: skip
def test_explicit_flags_and_deterministic_runs_time_nothing(tmp_path, monkeypatch, settings):
    def no_probe(*args, **kwargs):
        raise AssertionError("the probe ran")

    monkeypatch.setattr(autotune, "measure_training", no_probe)
    train(TrainConfig(**FAST, **settings, out=str(tmp_path / "run")))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["train"]["precision"], config["train"]["channels_last"]) == ("fp32", "off")


def test_inference_probes_only_when_enough_images_and_caches_apart_from_training(tmp_path):
    import torch

    from convzoo.train.autotune import inference_speed

    model = torch.nn.Conv2d(1, 2, 3)
    cache = tmp_path / "choices.json"
    measure, calls = fake({FP32: 100.0, FP32_CL: 150.0, BF16_CL: 300.0})
    common = {"name": "m", "input_shape": (1, 8, 8), "batch": 32, "measure": measure,
              "cache": cache}  # fmt: skip
    few = inference_speed(model, images=3, **common)
    assert few.label == "fp32" and "too few" in few.source and not calls
    many = inference_speed(model, images=10_000, **common)
    expected = "bf16+channels_last" if len(calls[0]) == 3 else "fp32+channels_last"
    assert many.label == expected and many.source == "probe" and len(calls) == 1
    assert '"mode": "infer"' in next(iter(json.loads(cache.read_text())))
    # once measured, even a few images take the cached choice
    assert inference_speed(model, images=3, **common).source == "cache"
    explicit = inference_speed(model, images=10_000, precision="fp32", channels_last="off",
                               **common)  # fmt: skip
    assert explicit.source == "only candidate" and len(calls) == 1
