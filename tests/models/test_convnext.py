"""ConvNeXt (arXiv:2201.03545): section 3 variants, Table 1 counts."""

import pytest
import torch

import convzoo
from convzoo.models.convnext import ConvNeXtBlock

TABLE_1 = [
    ("convnext_tiny", 28_589_128, 4_455_531_264),  # == torchvision convnext_tiny
    ("convnext_small", 50_223_688, 8_683_712_256),  # == torchvision convnext_small
    ("convnext_base", 88_591_464, 15_354_729_472),  # == torchvision convnext_base
]


@pytest.mark.parametrize(("name", "params", "macs"), TABLE_1)
def test_params_and_macs_table_1(name, params, macs):
    result = convzoo.summary(name)
    card = convzoo.model_card(name)
    assert (result.total_params, result.total_macs) == (params, macs)
    assert card.paper_macs.agrees(macs)  # 4.5G, 8.7G, 15.4G: FLOPs meaning multiply-adds
    if name == "convnext_tiny":
        # Table 1 prints 28M; 28.59M would round to 29M (the card says so)
        assert not card.paper_params.agrees(params)
        assert abs(params - card.paper_params.value) < 0.6e6
        assert any("28,589,128" in d for d in card.deviations)
    else:
        assert card.paper_params.agrees(params)  # 50M, 89M


def test_stages_and_strides():
    with torch.device("meta"):
        model = convzoo.create_model("convnext_tiny")
        maps = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (96, 56, 56),  # patchify stem: 4x4, stride 4
        (96, 56, 56),
        (192, 28, 28),
        (384, 14, 14),
        (768, 7, 7),
    ]
    assert [len(s.blocks) for s in model.stages] == [3, 3, 9, 3]
    assert not hasattr(model.stages.stage1, "downsample")
    assert model.stages.stage2.downsample.conv.kernel_size == (2, 2)
    with torch.device("meta"):
        base = convzoo.create_model("convnext_base")
    assert [f.channels for f in base.feature_info] == [128, 128, 256, 512, 1024]
    assert [len(s.blocks) for s in base.stages] == [3, 3, 27, 3]


def test_layer_scale_and_stochastic_depth_schedule():
    with torch.device("meta"):
        model = convzoo.create_model("convnext_small")
    blocks = [b for stage in model.stages for b in stage.blocks]
    assert blocks[0].drop_path.p == 0.0
    assert blocks[-1].drop_path.p == pytest.approx(0.4)  # Appendix A.1: 0.4 for ConvNeXt-S
    block = ConvNeXtBlock(8)
    assert torch.all(block.layer_scale == 1e-6)
    x = torch.randn(2, 8, 9, 9)
    block.eval()
    with torch.no_grad():
        # a freshly built block is nearly the identity: layer scale starts at 1e-6
        assert (block(x) - x).abs().max() < 1e-4
