"""SpeedNet (`convzoo speedrun`'s network): counts by hand, shapes, and the speedrun settings."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.train.speedrun import BUDGETS, process_age_s, speedrun, speedrun_config

# stem 1*24*9 + BN 48; per block: c_in*c*9 + 2c (BN) + c*c*9 + 2c; fc 192*10 (no bias)
HAND_COUNT = (
    216 + 48
    + (24 * 48 * 9 + 96 + 48 * 48 * 9 + 96)
    + (48 * 96 * 9 + 192 + 96 * 96 * 9 + 192)
    + (96 * 192 * 9 + 384 + 192 * 192 * 9 + 384)
    + 192 * 10
)  # fmt: skip


def test_params_by_hand_and_output():
    result = summary("speednet")
    assert result.total_params == HAND_COUNT == 656_712
    assert result.output_shape == (1, 10)


def test_each_block_halves_the_size():
    model = convzoo.create_model("speednet").eval()
    with torch.no_grad():
        maps = model.forward_stages(torch.randn(2, 1, 28, 28))
    assert [tuple(x.shape[1:]) for x in maps] == [
        (24, 28, 28),
        (48, 14, 14),
        (96, 7, 7),
        (192, 3, 3),
    ]


def test_logits_are_the_scaled_linear_of_the_max_pool():
    model = convzoo.create_model("speednet").eval()
    features = torch.randn(2, 192, 3, 3)
    expected = model.head.fc(features.amax(dim=(2, 3))) / 9
    torch.testing.assert_close(model.head(features), expected)


def test_bad_widths_are_refused():
    with pytest.raises(ValueError, match="positive widths"):
        convzoo.create_model("speednet", stem_width=0)


def test_speedrun_settings_are_a_valid_config():
    cfg = speedrun_config(BUDGETS["short"], seed=2, threads=1)
    assert (cfg.model, cfg.dataset, cfg.seed, cfg.threads) == ("speednet", "fashion-mnist", 2, 1)
    assert cfg.precision == "auto" and cfg.channels_last == "auto"  # measured, not guessed
    assert cfg.nesterov and cfg.label_smoothing == 0.2 and cfg.ema_decay == 0.99


def test_speedrun_needs_a_seed_and_knows_its_age():
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        speedrun(BUDGETS["short"], 0)
    assert process_age_s() > 0
