"""Prediction from checkpoints: preprocessing, per-file errors, the predict command."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from convzoo.cli import main
from convzoo.export.predict import Predictor, Preprocess
from tests.export.conftest import CLASSES, make_checkpoint


@pytest.fixture
def images(tmp_path):
    """Good and bad files: PNG, JPEG, RGBA, 16-bit, truncated, not an image, missing."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    paths = {
        "gray": folder / "gray.png",
        "rgb": folder / "rgb.jpg",
        "rgba": folder / "rgba.png",
        "gray16": folder / "gray16.png",
        "truncated": folder / "truncated.png",
        "text": folder / "notes.png",
        "missing": folder / "missing.png",
    }
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(paths["gray"])
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(paths["rgb"])
    Image.fromarray(rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)).save(paths["rgba"])
    Image.fromarray(rng.integers(0, 65536, (16, 16), dtype=np.uint16)).save(paths["gray16"])
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths["truncated"])
    data = paths["truncated"].read_bytes()
    paths["truncated"].write_bytes(data[: len(data) // 2])
    paths["text"].write_text("this is not a picture\n")
    return paths


def solid(path, color, size=(10, 14), mode="RGB"):
    Image.new(mode, size, color).save(path)
    return path


def test_preprocess_converts_channels_resizes_and_normalises(tmp_path):
    gray = Preprocess(in_channels=1, input_size=(12, 20), mean=(0.5,), std=(0.25,))
    x = gray.load(solid(tmp_path / "red.png", (255, 0, 0)))  # RGB photo -> luminance
    assert x.shape == (1, 12, 20)  # (C, H, W): H and W in the stored order
    luminance = round(0.299 * 255)  # ITU-R 601-2, what PIL's "L" conversion uses
    torch.testing.assert_close(
        x, torch.full_like(x, (luminance / 255 - 0.5) / 0.25), atol=0.01, rtol=0
    )

    rgb = Preprocess(in_channels=3, input_size=(8, 8), mean=(0.5, 0.4, 0.3), std=(0.2,) * 3)
    x = rgb.load(solid(tmp_path / "gray.png", 128, mode="L"))  # grayscale scan -> 3 channels
    assert x.shape == (3, 8, 8)
    expected = torch.tensor([(128 / 255 - m) / 0.2 for m in (0.5, 0.4, 0.3)])
    torch.testing.assert_close(x[:, 0, 0], expected, atol=1e-5, rtol=0)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    prep = Preprocess(in_channels=1, input_size=(4, 4), mean=(0.0,), std=(1.0,))
    Image.fromarray(np.full((4, 4), 40000, dtype=np.uint16)).save(tmp_path / "g16.png")
    x = prep.load(tmp_path / "g16.png")
    torch.testing.assert_close(x, torch.full_like(x, (40000 >> 8) / 255))


def test_transparent_pixels_count_as_white(tmp_path):
    prep = Preprocess(in_channels=1, input_size=(4, 4), mean=(0.0,), std=(1.0,))
    x = prep.load(solid(tmp_path / "clear.png", (0, 0, 0, 0), mode="RGBA"))
    torch.testing.assert_close(x, torch.ones_like(x))


def test_bad_preprocess_configs_are_clear_errors():
    with pytest.raises(ValueError, match="1 \\(grayscale\\) or 3 \\(RGB\\) channels"):
        Preprocess(in_channels=4, input_size=(8, 8), mean=(0,) * 4, std=(1,) * 4)
    with pytest.raises(ValueError, match="mean needs one value per channel"):
        Preprocess(in_channels=3, input_size=(8, 8), mean=(0.5,), std=(1,) * 3)
    with pytest.raises(ValueError, match="no 'preprocess' entry"):
        Preprocess.from_config({"model": "x"})


def test_predictions_match_the_model_and_failures_stay_per_file(tiny_registered, tmp_path, images):
    model, _ = make_checkpoint(tmp_path / "run" / "best.pt", in_channels=1, input_size=(16, 16))
    predictor = Predictor.from_checkpoint(tmp_path / "run")  # a run directory works
    order = ["gray", "text", "rgb", "missing", "rgba", "truncated", "gray16"]
    results = predictor.predict_files([images[k] for k in order], top_k=3)
    assert [r.path for r in results] == [str(images[k]) for k in order]
    by_kind = dict(zip(order, results, strict=True))
    for kind in ("gray", "rgb", "rgba", "gray16"):
        result = by_kind[kind]
        assert result.ok, result.error
        probs = [s.probability for s in result.top]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True)
        assert all(s.name == CLASSES[s.index] for s in result.top)
    assert "not an image" in by_kind["text"].error and "notes.png" in by_kind["text"].error
    assert "no such file" in by_kind["missing"].error
    assert "unreadable image" in by_kind["truncated"].error

    x = predictor.preprocess.load(images["rgb"])  # same numbers as the model itself
    with torch.no_grad():
        expected = model(x[None]).softmax(dim=1)[0]
    top = by_kind["rgb"].top[0]
    assert top.index == int(expected.argmax())
    assert top.probability == pytest.approx(float(expected.max()), abs=1e-6)


def test_top_k_is_capped_at_the_number_of_classes(tiny_registered, tmp_path, images):
    make_checkpoint(tmp_path / "best.pt", in_channels=3)
    (result,) = Predictor.from_checkpoint(tmp_path / "best.pt").predict_files(
        [images["gray"]], top_k=10
    )
    assert len(result.top) == len(CLASSES)
    assert sum(s.probability for s in result.top) == pytest.approx(1.0, abs=1e-5)


def test_predict_command_json(tiny_registered, tmp_path, images, capsys):
    make_checkpoint(tmp_path / "best.pt", in_channels=1, aux=True)  # aux head: eval logits
    argv = ["predict", str(tmp_path / "best.pt"), str(images["rgb"]), str(images["text"])]
    assert main([*argv, "--top-k", "2", "--json"]) == 1  # one file failed
    rows = json.loads(capsys.readouterr().out)
    assert [len(r["predictions"]) for r in rows] == [2, 0]
    assert rows[0]["error"] is None and rows[0]["predictions"][0]["class"] in CLASSES
    assert "not an image" in rows[1]["error"]


def test_predict_command_table(tiny_registered, tmp_path, images, capsys):
    make_checkpoint(tmp_path / "best.pt", in_channels=1)
    assert main(["predict", str(tmp_path / "best.pt"), str(images["gray"]), "--top-k", "4"]) == 0
    out = capsys.readouterr().out
    assert "grayscale 16x16" in out and all(name in out for name in CLASSES)
    assert "precision/layout: fp32 (1 image: too few to probe)" in out
    bf16 = ["--precision", "bf16", "--channels-last", "on"]
    assert main(["predict", str(tmp_path / "best.pt"), str(images["gray"]), *bf16]) == 0
    assert "bf16+channels_last (only candidate)" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "best.pt"), str(images["missing"])]) == 1
    assert "no such file" in capsys.readouterr().err


def test_predict_command_bad_checkpoint(tmp_path, images, capsys):
    (tmp_path / "broken.pt").write_bytes(b"garbage")
    assert main(["predict", str(tmp_path / "broken.pt"), str(images["gray"])]) == 2
    assert "is not a PyTorch file" in capsys.readouterr().err
