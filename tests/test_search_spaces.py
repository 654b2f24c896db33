"""Search spaces: JSON round trip, validation, and every sampled spec builds a working ConvNet."""

from __future__ import annotations

import json
import random

import pytest
import torch

from convzoo.analysis.summary import summary
from convzoo.factory import create_model
from convzoo.models.base import ConvNet
from convzoo.registry import model_card
from convzoo.search.spaces import SPACES
from convzoo.search.specs import NasBlock, NasCell, NasNetSpec, ZophLayer, ZophSpec, spec_from_json
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("space", sorted(SPACES))
def test_sampled_specs_round_trip_and_build(space: str) -> None:
    small = {"nasnet": {"cells_per_stage": 1, "filters": 8}}  # keeps the test fast
    sp = SPACES[space](**small.get(space, {}))
    for seed in range(2):
        spec = sp.sample(random.Random(seed))
        assert spec_from_json(spec.to_json()) == spec
        assert sp.decode(sp.encode(spec)) == spec
        model = spec.build(num_classes=10, in_channels=1)
        assert isinstance(model, ConvNet)
        x = torch.randn(2, 1, 28, 28)
        assert model(x).shape == (2, 10)
        maps = model.forward_stages(torch.randn(1, 1, 32, 32))  # strides divide 32 exactly
        assert [m.shape[1] for m in maps] == [f.channels for f in model.feature_info]
        assert [32 // m.shape[-1] for m in maps] == [f.stride for f in model.feature_info]


def test_zoph_joins_mismatched_inputs_by_padding_and_concat() -> None:
    spec = ZophSpec(
        (
            ZophLayer(3, 3, 24, 2),  # 14x14
            ZophLayer(1, 7, 36, 1),  # no input: reads the image, 28x28
            ZophLayer(5, 1, 48, 1, inputs=(0, 1)),  # 24 + 36 channels at 28x28
        )
    )
    model = spec.build()
    body = model.stages.body
    assert body.layers[2][0].in_channels == 60
    assert body.outputs == [2]  # layers 0 and 1 are consumed
    assert model.forward_stages(torch.randn(1, 1, 28, 28))[-1].shape == (1, 48, 28, 28)


def test_nasnet_cell_concatenates_unused_blocks_and_doubles_filters() -> None:
    block = NasBlock((0, 1), ("sep_conv_3x3", "identity"))
    normal = NasCell((block, NasBlock((2, 1), ("max_pool_3x3", "conv_1x7_7x1")), block))
    spec = NasNetSpec(normal=normal, reduction=normal, cells_per_stage=1, filters=8)
    model = spec.build()
    assert normal.unused() == [3, 4]  # block 0 feeds block 1
    assert [f.channels for f in model.feature_info] == [32, 16, 32, 64]
    assert [f.stride for f in model.feature_info] == [1, 1, 2, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"space": "resnet"}', "space"),
        ('{"space": "zoph", "layers": []}', "at least one layer"),
        (
            '{"space": "zoph", "layers": [{"kernel_height": 2, "kernel_width": 3, "filters": 24}]}',
            "filter height/width",
        ),
        (
            '{"space": "zoph", "layers": [{"kernel_height": 3, "kernel_width": 3, '
            '"filters": 24, "inputs": [0]}]}',
            "earlier layers",
        ),
        ('{"space": "zoph"}', "malformed"),
        ("not json", "must be JSON"),
        ('{"space": "anynet", "stages": [[1, 24, 1, 16]]}', "groups of 16"),
    ],
)
def test_bad_specs_raise_clear_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec_from_json(text)


def test_nasnet_validation_names_bad_ops_and_inputs() -> None:
    good = NasCell((NasBlock((0, 1), ("identity", "conv_3x3")),))
    with pytest.raises(ValueError, match="unknown ops"):
        NasNetSpec(normal=NasCell((NasBlock((0, 1), ("conv_9x9", "identity")),)), reduction=good)
    with pytest.raises(ValueError, match=r"hidden states 0\.\.1"):
        NasNetSpec(normal=NasCell((NasBlock((0, 2), ("identity", "identity")),)), reduction=good)


def test_saved_spec_is_a_model_name(tmp_path) -> None:
    spec = SPACES["nasnet"](cells_per_stage=1, filters=8).sample(random.Random(3))
    path = spec.save(tmp_path / "best.json")
    assert json.loads(path.read_text())["space"] == "nasnet"
    name = f"nas:{path}"
    model = create_model(name, num_classes=5)
    assert model(torch.randn(1, 1, 28, 28)).shape == (1, 5)
    assert model_card(name).family == "nas-nasnet"
    info = summary(name, (1, 28, 28), num_classes=5)
    assert info.total_params == sum(p.numel() for p in model.parameters())
    with pytest.raises(FileNotFoundError, match="no architecture spec"):
        create_model(f"nas:{tmp_path / 'missing.json'}")
