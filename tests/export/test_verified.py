"""export_onnx / export_torchscript on a tiny network: files, dynamic batch, verification."""

import json

import onnx
import onnxruntime
import pytest
import torch
from torch import nn

from convzoo.export import ExportError, export_onnx, export_torchscript, verified
from tests.export.conftest import TinyDeployNet

# torch.jit is deprecated in favour of torch.export; its warning is expected here
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")


@pytest.fixture
def model():
    return TinyDeployNet(in_channels=3, num_classes=4).eval()


def test_onnx_file_has_a_dynamic_batch_axis_and_matches(model, tmp_path):
    result = export_onnx(model, tmp_path / "tiny.onnx", input_size=16, metadata={"classes": ["a"]})
    assert result.files == (tmp_path / "tiny.onnx",) and result.path.is_file()
    assert result.max_abs_diff <= result.limit and result.batch_sizes == (1, 3)
    assert result.input_shape == (3, 16, 16)
    proto = onnx.load(str(result.path))
    assert proto.opset_import[0].version == 18
    assert {p.key: p.value for p in proto.metadata_props}["classes"] == '["a"]'

    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.name == "input" and isinstance(inp.shape[0], str)  # symbolic batch
    assert inp.shape[1:] == [3, 16, 16]
    x = torch.randn(5, 3, 16, 16)
    (out,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(out), model(x), atol=1e-5, rtol=1e-5)


def test_torchscript_file_reloads_with_metadata(model, tmp_path):
    result = export_torchscript(model, tmp_path / "tiny.pt", input_size=(16, 20), metadata={"k": 1})
    assert result.max_abs_diff <= result.limit and result.input_shape == (3, 16, 20)
    extra = {"convzoo.json": ""}
    loaded = torch.jit.load(str(result.path), _extra_files=extra)
    assert json.loads(extra["convzoo.json"]) == {"k": 1}
    x = torch.randn(4, 3, 16, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


@pytest.mark.parametrize("export", [export_onnx, export_torchscript])
def test_auxiliary_heads_export_plain_logits_and_mode_is_restored(export, tmp_path):
    model = TinyDeployNet(num_classes=4, aux=True).train()
    result = export(model, tmp_path / "aux.bin", input_size=8)
    assert result.max_abs_diff <= result.limit
    assert model.training, "the caller's train/eval mode must be restored"
    if export is export_torchscript:
        out = torch.jit.load(str(result.path))(torch.randn(2, 3, 8, 8))
        assert isinstance(out, torch.Tensor) and out.shape == (2, 4)


class BatchDependent(nn.Module):
    """Adds 1 only for a batch of 2, the export batch: a trace freezes that branch."""

    in_channels = 3

    def forward(self, x):
        y = x.mean(dim=(2, 3))
        return y + 1 if x.shape[0] == 2 else y


def test_torchscript_mismatch_is_an_error(tmp_path):
    with pytest.raises(ExportError, match=r"torch.jit.load disagrees with PyTorch .* max abs diff"):
        export_torchscript(BatchDependent(), tmp_path / "bad.pt", input_size=4)


def test_onnx_batch_specialisation_is_an_error(tmp_path):
    # torch.export specialises the batch to 2 (a warning, not an error); the file then
    # refuses other batch sizes, which the verification turns into an error
    with pytest.raises(ExportError, match="onnxruntime failed to run BatchDependent on a batch"):
        export_onnx(BatchDependent(), tmp_path / "bad.onnx", input_size=4)


class SumPool(nn.Module):
    """LeNet-5's sum-pooling: avg_pool2d with divisor_override=1."""

    in_channels = 1

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x, 2, divisor_override=1).flatten(1)


def test_sum_pooling_exports_correctly(tmp_path):
    result = export_onnx(SumPool(), tmp_path / "sum.onnx", input_size=6)
    assert result.max_abs_diff <= 1e-6 * result.max_abs_output


def test_onnx_mistranslation_is_caught(tmp_path, monkeypatch):
    # without our translation, torch_lib ignores divisor_override: the file averages
    monkeypatch.setattr(verified, "_onnx_translations", dict)
    with pytest.raises(ExportError, match="onnxruntime disagrees with PyTorch for SumPool"):
        export_onnx(SumPool(), tmp_path / "sum.onnx", input_size=4)


def test_input_the_model_rejects_is_its_own_error(model, tmp_path):
    with pytest.raises(ValueError, match=r"expects input \(N, 3, H, W\) with H, W >= 4"):
        export_torchscript(model, tmp_path / "x.pt", input_size=(3, 2, 2))
    with pytest.raises(ValueError, match="input_size must be"):
        export_torchscript(model, tmp_path / "x.pt", input_size=(1, 2, 3, 4))
