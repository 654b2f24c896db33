"""The export command on a checkpoint: stored preprocessing, default paths, output."""

import json

import pytest
import torch

from convzoo.cli import main
from tests.export.conftest import make_checkpoint


def test_export_onnx_json_uses_the_stored_preprocessing(tiny_registered, tmp_path, capsys):
    run = tmp_path / "run"
    make_checkpoint(run / "best.pt", in_channels=1, input_size=(12, 20))
    assert main(["export", str(run), "--format", "onnx", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(run / "best.onnx") and (run / "best.onnx").is_file()
    assert data["input_shape"] == [1, 12, 20] and data["model"] == "tiny_deploy_net"
    assert data["max_abs_diff"] <= data["limit"]
    assert data["exporter"].startswith("torch.onnx (dynamo)")


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")  # deprecated for torch.export
def test_export_torchscript_table_and_output_file(tiny_registered, tmp_path, capsys):
    make_checkpoint(tmp_path / "last.pt", in_channels=3, aux=True)
    out = tmp_path / "deploy" / "tiny.pt"
    assert (
        main(["export", str(tmp_path / "last.pt"), "--format", "torchscript", "-o", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "max abs diff" in text and "torch.jit.trace" in text
    extra = {"convzoo.json": ""}
    loaded = torch.jit.load(str(out), _extra_files=extra)
    meta = json.loads(extra["convzoo.json"])
    assert meta["model"] == "tiny_deploy_net" and meta["preprocess"]["input_size"] == [16, 16]
    assert loaded(torch.randn(2, 3, 16, 16)).shape == (2, 4)  # plain logits, no aux


def test_export_errors(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.pt"), "--format", "onnx"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "tflite"])


@pytest.mark.parametrize("verb", ["export", "predict"])
def test_help_has_an_example(verb, capsys):
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and f"convzoo {verb} " in out
